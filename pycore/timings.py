"""Where a command spends its time (``pycore --timings``, ``PYCORE_TIMINGS=1``): named phases
measured with ``time.perf_counter``, recorded only once :func:`enable` was called, so that an
ordinary run pays one ``None`` test per phase.  A phase inside another is taken out of the outer
one, so the phases never add up to more than the time they span."""
import contextlib
import os
import time
from typing import Dict, Iterator, List, Optional

_phases: Optional[Dict[str, float]] = None
# The phases open now, innermost last: [name, start, time spent in phases nested in it].
_open: List[list] = []


def enable() -> None:
    """Start recording (again, from nothing)."""
    global _phases
    _phases = {}
    _open.clear()


def enabled() -> bool:
    return _phases is not None


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Add the time spent in the ``with`` block to phase ``name`` (less the time of phases nested
    in it); nothing is measured unless :func:`enable` was called."""
    if _phases is None:
        yield
        return
    entry = [name, time.perf_counter(), 0.0]
    _open.append(entry)
    try:
        yield
    finally:
        elapsed = time.perf_counter() - entry[1]
        _open.remove(entry)
        _phases[name] = _phases.get(name, 0.0) + elapsed - entry[2]
        if _open:
            _open[-1][2] += elapsed


def add(name: str, seconds: float) -> None:
    """Add time measured elsewhere (the interpreter's start, before this module was imported)."""
    if _phases is not None:
        _phases[name] = _phases.get(name, 0.0) + seconds


def phases() -> Dict[str, float]:
    """Seconds per phase, in the order the phases were first entered."""
    return dict(_phases or {})


def process_age() -> Optional[float]:
    """Seconds since this process started, from the kernel's record of its start (Linux; a resolution
    of one clock tick, usually 10 ms), or None where there is no /proc."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return None
