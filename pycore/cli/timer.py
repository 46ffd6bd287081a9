"""``pycore timer DUMP``: crash 9's ``timer``, the pending timers of each CPU's timer wheel bases
(:func:`pycore.kernel.timer.timer_bases`) by expiry, with their time to expire in jiffies."""
import argparse
from dataclasses import asdict
from typing import Any, Dict, List

from ..errors import PycoreError
from ..kernel import module, timer
from ..program import Program
from .command import DumpCommand


def _symbol(prog: Program, address: int) -> str:
    """crash's value_to_symstr(): ``name`` or ``name+offset`` (decimal), empty when no symbol covers it."""
    try:
        found = module.symbol_lookup(prog, address)
    except PycoreError:
        return ""
    if found is None:
        return ""
    symbol, offset, _ = found
    return f"{symbol.name}+{offset}" if offset else symbol.name


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    now = timer.jiffies(prog)
    bases = []
    for base in timer.timer_bases(prog, timer.crash_base_count(prog)):
        data = asdict(base)
        # crash sorts each base's timers by expiry (a stable sort: ties stay in wheel order).
        data["timers"] = sorted(({**t, "tte": t["expires"] - now, "symbol": _symbol(prog, t["function"])}
                                 for t in data["timers"]), key=lambda t: t["expires"])
        bases.append(data)
    return {"jiffies": now, "bases": bases}


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """crash's dump_timer_data_timer_bases(): JIFFIES, then each base with columns sized to its timers."""
    width = max(len(str(data["jiffies"])), len("JIFFIES"))
    lines: List[str] = ["JIFFIES".ljust(width), str(data["jiffies"]).rjust(width), ""]
    for base in data["bases"]:
        if base["index"] == 0 and base["cpu"]:
            lines.append("")
        lines.append(f"TIMER_BASES[{base['cpu']}][{'BASE_STD' if base['index'] == 0 else 'BASE_DEF'}]: "
                     f"{base['address']:x}")
        tte_width = max(len(str(max((abs(t["tte"]) for t in base["timers"]), default=0))) + 1, len("TTE"))
        lines.append(f"  {'EXPIRES'.ljust(width)}     {'TTE'.ljust(tte_width)}     TIMER_LIST     FUNCTION")
        for t in base["timers"]:
            lines.append(f"  {t['expires']:>{width}}  {t['tte']:>{tte_width}}  {t['address']:>16x}  "
                         f"{t['function']:>16x}  <{t['symbol']}>")
        if not base["timers"]:
            lines.append("  (none)")
    return "\n".join(lines)


COMMAND = DumpCommand("timer", add_arguments=lambda parser: None, collect=collect, render=render,
                      description="the pending timers of each CPU, as crash 9's timer prints them")
