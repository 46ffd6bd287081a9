"""``pycore timer DUMP [-r]``: crash 9's ``timer``, the pending timers of each CPU's timer wheel bases
(:func:`pycore.kernel.timer.timer_bases`) by expiry, with their time to expire in jiffies; ``-r``: the
high-resolution timers of each CPU's clock bases, with their time to expire in nanoseconds."""
import argparse
from dataclasses import asdict
from typing import Any, Dict, List

from ..errors import PycoreError
from ..kernel import module, system, timer
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-r", dest="hrtimers", action="store_true", help="the high-resolution timers")


def _hrtimers(prog: Program) -> Dict[str, Any]:
    """crash's "now" is the jiffies since boot in nanoseconds plus each clock's offset; pycore counts
    them at the kernel's own HZ (crash's guess is 1000 on Debian's 6.12 and 7.2, whose HZ is 250)."""
    hz = system.kernel_hz(prog) or system.crash_hz(prog)
    uptime = system.jiffies_since_boot(prog, hz) * (1_000_000_000 // hz)
    cpus = []
    for cpu_base in timer.hrtimer_bases(prog):
        data = asdict(cpu_base)
        for clock in data["clocks"]:
            clock["now"] = uptime + clock["offset"]
            # 7.x has no get_time: crash names the base by its enum hrtimer_base_type.
            clock["label"] = clock["name"] if clock["get_time"] is None else _symbol(prog, clock["get_time"])
            for entry in clock["timers"]:
                entry["symbol"] = _symbol(prog, entry["function"])
        cpus.append(data)
    return {"hz": hz, "cpus": cpus}


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    if args.hrtimers:
        return _hrtimers(prog)
    now = timer.jiffies(prog)
    bases = []
    for base in timer.timer_bases(prog, timer.crash_base_count(prog)):
        data = asdict(base)
        # crash sorts each base's timers by expiry (a stable sort: ties stay in wheel order).
        data["timers"] = sorted(({**t, "tte": t["expires"] - now, "symbol": _symbol(prog, t["function"])}
                                 for t in data["timers"]), key=lambda t: t["expires"])
        bases.append(data)
    return {"jiffies": now, "bases": bases}


def _centered(text: str, width: int) -> str:
    """crash's mkstring(CENTER|RJUST): the odd space on the left."""
    pad = max(width - len(text), 0)
    return " " * (pad - pad // 2) + text + " " * (pad // 2)


def _left_centered(text: str, width: int) -> str:
    """crash's mkstring(CENTER|LJUST): the odd space on the right."""
    pad = max(width - len(text), 0)
    return " " * (pad // 2) + text + " " * (pad - pad // 2)


def _render_clock(clock: Dict[str, Any]) -> List[str]:
    """crash's dump_active_timers(): columns sized by the clock's last timer."""
    lines = [f"  CLOCK: {clock['index']}  HRTIMER_CLOCK_BASE: {clock['address']:x}  [{clock['label']}]"]
    timers = clock["timers"]
    if not timers:
        return lines + ["  (empty)"]
    last, now = timers[-1], clock["now"]
    soft = max(len(str(last["softexpires"])), 11)
    hard = max(len(str(last["expires"])), 7)
    tte = len(str(last["expires"] - now))
    lines += [f"  {_centered('CURRENT', soft)}", f"  {_centered(str(now), soft)}",
              f"  {_centered('SOFTEXPIRES', soft)}  {_centered('EXPIRES', hard)}  {_centered('TTE', tte)}  "
              f"{_left_centered('HRTIMER', 16)}  {_left_centered('FUNCTION', 16)}"]
    for entry in timers:
        lines.append(f"  {_centered(str(entry['softexpires']), soft)}  {_centered(str(entry['expires']), hard)}  "
                     f"{entry['expires'] - now:>{tte}}  {entry['address']:x}  {entry['function']:x}  "
                     f"<{entry['symbol']}>")
    return lines


def _render_hrtimers(data: Dict[str, Any]) -> str:
    """crash's dump_hrtimer_data(): each CPU's base, its clock bases an empty line apart."""
    blocks = []
    for cpu in data["cpus"]:
        lines = [f"CPU: {cpu['cpu']}  HRTIMER_CPU_BASE: {cpu['address']:x}"]
        for index, clock in enumerate(cpu["clocks"]):
            lines += ([""] if index else []) + _render_clock(clock)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """crash's dump_timer_data_timer_bases(): JIFFIES, then each base with columns sized to its timers."""
    if args.hrtimers:
        return _render_hrtimers(data)
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


COMMAND = DumpCommand("timer", add_arguments=add_arguments, collect=collect, render=render,
                      description="the pending timers of each CPU, as crash 9's timer prints them")
