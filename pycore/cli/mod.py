"""``pycore mod DUMP``: the loaded modules as crash 9's ``mod`` lists them."""
import argparse
from typing import Any, Dict, List

from ..kernel import module
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import center


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    result = report(prog)
    return Collected(result, result["warnings"])


def report(prog) -> Dict[str, Any]:
    """``{"modules": [...], "lines": [...], "warnings": [...]}``: each module as data, crash's listing
    of them, and why the listing may be incomplete or wrong (see :func:`pycore.kernel.module.read_modules`)."""
    found = module.read_modules(prog)
    modules = [module.module_to_dict(m) for m in found.modules]
    return {"modules": modules, "lines": mod_lines(modules, module.has_mem_layout(prog)), "warnings": found.warnings}


def mod_lines(modules: List[Dict[str, Any]], mem_layout: bool) -> List[str]:
    """crash 9's ``mod`` listing of :func:`pycore.kernel.module.module_to_dict` rows, no module
    debuginfo loaded (every module "(not loaded)"); ``mem_layout`` (6.4+) titles the text column
    TEXT_BASE instead of BASE."""
    base_title = "TEXT_BASE" if mem_layout else "BASE"
    name_width = max([len("NAME")] + [len(m["name"]) for m in modules])
    size_width = max([len("SIZE")] + [len(str(m["size"])) for m in modules])
    header = "  ".join([center("MODULE", 16), "NAME".ljust(name_width), center(base_title, 16),
                        "SIZE".rjust(size_width), "OBJECT FILE"])
    lines = [header]
    for m in modules:
        lines.append("  ".join([f"{m['address']:016x}", m["name"].ljust(name_width), f"{m['text_base']:016x}",
                                str(m["size"]).rjust(size_width), "(not loaded)", "[CONFIG_KALLSYMS]"]))
    return lines


def render(result: Dict[str, Any], args: argparse.Namespace) -> str:
    return "\n".join(result["lines"])


COMMAND = DumpCommand("mod", add_arguments=lambda parser: None, collect=collect, render=render)
