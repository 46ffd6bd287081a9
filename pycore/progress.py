"""The shape of a progress report, shared by every layer that does long work.

A layer that may take seconds (indexing a flattened stream, scanning a vmlinux's DWARF) takes an
optional callable of this shape and calls it as the work advances; it never draws anything itself.
The CLI passes :class:`pycore.cli.output.TerminalProgress`, a script any function it likes.
"""
from typing import Callable, Optional

Progress = Callable[[str, int, Optional[int]], None]
"""``progress(stage, done, total)``: ``total`` None while unknown; ``done == total`` ends the stage."""
