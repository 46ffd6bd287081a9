"""Fleet triage: every crash under a /var/crash-style tree or given as vmcore files (discovered by
:mod:`.triage_discover`), each analyzed by :mod:`.triage_analyze` in a child process with a time limit,
locally or on a Dask cluster, then grouped by the title of their crash report (a hang by its wait
chain, :func:`.hang.signature_key`) and laid on a timeline.
"""
import datetime
import faulthandler
import os
import pickle
import select
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from ..errors import PycoreError
from .crash_report import SIGNATURE_DEPTH, normalize_reason
from .triage_analyze import DumpTriage, analyze_crash
from .triage_discover import CrashSource, find_crashes

__all__ = ["TriageReport", "TriageTimeout", "triage", "triage_dump", "build_timeline", "group_by_signature",
           "DEFAULT_TIMEOUT", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
DEFAULT_TIMEOUT = 300.0


class TriageTimeout(PycoreError):
    """The analysis of one dump ran past its time limit and was stopped."""


def _run_isolated(function: Callable, args: tuple, timeout: Optional[float]):
    """``function(*args)`` in a forked child, killed after ``timeout`` seconds: a hostile dump can
    neither hang the run nor take the worker down with it (a crash in C becomes an error)."""
    if not hasattr(os, "fork"):
        return function(*args)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 0
        try:
            os.close(read_fd)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            # A fatal signal here is reported by the parent as this dump's error; the
            # inherited faulthandler would only add a traceback to the parent's output.
            faulthandler.disable()
            try:
                payload = pickle.dumps((True, function(*args)))
            except BaseException as error:  # noqa: BLE001
                payload = pickle.dumps((False, f"{type(error).__name__}: {error}"))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks = []
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                raise TriageTimeout(f"gave up after {timeout:g} s (--timeout)")
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if not chunks:
        if os.WIFSIGNALED(status):
            raise PycoreError(f"the analysis process died with signal {os.WTERMSIG(status)}")
        raise PycoreError(f"the analysis process exited with status {os.WEXITSTATUS(status)} and no result")
    ok, value = pickle.loads(b"".join(chunks))
    if not ok:
        raise PycoreError(f"internal error: {value}")
    return value


def triage_dump(source: CrashSource, timeout: Optional[float] = DEFAULT_TIMEOUT, depth: int = SIGNATURE_DEPTH,
                tz: Optional[datetime.tzinfo] = None) -> DumpTriage:
    """Triage one crash within ``timeout`` seconds, isolated in a child process; the unit of work the
    local pool and Dask workers run. A timeout or a dead child is recorded as the dump's error."""
    started = time.monotonic()
    try:
        return _run_isolated(analyze_crash, (source, depth, tz), timeout)
    except PycoreError as error:
        return DumpTriage(name=source.name, directory=source.directory, vmcore=source.vmcore, dmesg=source.dmesg,
                          host=source.host, errors=[str(error)], seconds=time.monotonic() - started)


def group_by_signature(dumps: Sequence[DumpTriage], tz: Optional[datetime.tzinfo] = None) -> List[Dict[str, Any]]:
    """Readable dumps grouped by the title of their crash report ("kernel BUG in ext4_do_update_inode"),
    numbers and addresses in it ignored; a dump whose log shows no titled report groups by its signature,
    and so does a hang signed by its hang report (``signature_source`` ``hang``: its title names only
    where the root waits, its signature what on, the frozen filesystem or the disk, and the holder's
    loop). Biggest group first (then earliest first crash)."""
    groups: Dict[str, Dict[str, Any]] = {}
    for dump in dumps:
        if dump.status == "error" or dump.signature is None:
            continue
        key = f"title {normalize_reason(dump.title)}" if dump.title and dump.signature_source != "hang" else \
            f"signature {dump.signature}"
        group = groups.setdefault(key, {
            "id": dump.signature_id, "title": dump.title, "signature": dump.signature,
            "reason": normalize_reason(dump.reason or ""), "frames": dump.signature_frames,
            "example_reason": dump.reason, "count": 0, "crashes": 0,
            "dumps": [], "kernels": [], "hosts": [], "first": None, "last": None})
        group["count"] += 1
        group["dumps"].append(dump.name)
        if dump.duplicate_of is None:
            group["crashes"] += 1
        if dump.kernel_release and dump.kernel_release not in group["kernels"]:
            group["kernels"].append(dump.kernel_release)
        if dump.host and dump.host not in group["hosts"]:
            group["hosts"].append(dump.host)
        if dump.crash_time is not None:
            when = datetime.datetime.fromtimestamp(dump.crash_time, tz or datetime.timezone.utc).isoformat()
            group["first"] = min(group["first"] or when, when)
            group["last"] = max(group["last"] or when, when)
    return sorted(groups.values(), key=lambda g: (-g["count"], g["first"] or "~", g["signature"]))


def build_timeline(dumps: Sequence[DumpTriage], tz: Optional[datetime.tzinfo] = None) -> Dict[str, Any]:
    """Crashes per day and per hour of day in ``tz`` (UTC by default); copies of one dump count once."""
    tz = tz or datetime.timezone.utc
    per_day: Dict[str, int] = {}
    per_hour = [0] * 24
    undated = 0
    sources: Dict[str, int] = {}
    for dump in dumps:
        if dump.status == "error" or dump.duplicate_of is not None:
            continue
        if dump.crash_time is None:
            undated += 1
            continue
        when = datetime.datetime.fromtimestamp(dump.crash_time, tz)
        day = when.date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
        per_hour[when.hour] += 1
        sources[dump.crash_time_source or "unknown"] = sources.get(dump.crash_time_source or "unknown", 0) + 1
    # Every hour with the most crashes: a tie is shown as a tie, not settled for the earliest hour.
    peak = max(per_hour)
    busiest = [hour for hour in range(24) if per_hour[hour] == peak] if peak else []
    return {"timezone": _tz_name(tz), "per_day": dict(sorted(per_day.items())), "per_hour": per_hour,
            "undated": undated, "time_sources": sources, "busiest_hours": busiest,
            "busiest_hour": busiest[0] if busiest else None}


def _tz_name(tz: datetime.tzinfo) -> str:
    return getattr(tz, "key", None) or tz.tzname(None) or str(tz)


@dataclass
class TriageReport:
    """Every dump triaged, its groups and its timeline."""

    dumps: List[DumpTriage]
    groups: List[Dict[str, Any]]
    timeline: Dict[str, Any]
    seconds: float
    scheduler: str
    tz: Optional[datetime.tzinfo] = None

    @property
    def unreadable(self) -> List[DumpTriage]:
        return [dump for dump in self.dumps if dump.status == "error"]

    def to_dict(self) -> Dict[str, Any]:
        """The JSON document ``--json`` prints and ``triage.json`` holds (``schema`` 1):

        ``summary``: counts (dumps, read_from_vmcore, read_from_dmesg, unreadable, duplicates, groups);
        ``groups``: per crash title (else signature; a hang signed by its hang report per signature),
        biggest first: id, title, signature, reason (normalized), example_reason, frames (a hang's: the
        waits of its key first), count (dumps), crashes (copies excluded), dumps (names),
        kernels, hosts, first, last;
        ``timeline``: timezone, per_day {date: crashes}, per_hour [24], undated, time_sources, busiest_hours
        (every hour with the most crashes, ascending), busiest_hour (the first of them, or null);
        ``dumps``: :class:`DumpTriage` fields plus crash_time_iso, in crash order, unreadable ones last.
        """
        statuses = {status: sum(1 for d in self.dumps if d.status == status) for status in ("ok", "dmesg", "error")}
        return {
            "schema": SCHEMA_VERSION,
            "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "scheduler": self.scheduler,
            "seconds": round(self.seconds, 3),
            "summary": {"dumps": len(self.dumps), "read_from_vmcore": statuses["ok"],
                        "read_from_dmesg": statuses["dmesg"], "unreadable": statuses["error"],
                        "duplicates": sum(1 for d in self.dumps if d.duplicate_of), "groups": len(self.groups)},
            "groups": self.groups,
            "timeline": self.timeline,
            "dumps": [dump.to_dict(self.tz) for dump in self.dumps],
        }


def _mark_duplicates(dumps: Sequence[DumpTriage]) -> None:
    first_of: Dict[str, str] = {}
    seen_paths: Dict[str, str] = {}
    for dump in dumps:
        if dump.status == "error":
            continue
        real = os.path.realpath(dump.vmcore) if dump.vmcore and dump.status == "ok" else None
        original = (seen_paths.get(real) if real else None) or \
            (first_of.get(dump.fingerprint) if dump.crash_time_source == "vmcoreinfo" else None)
        if original is not None:
            dump.duplicate_of = original
            continue
        if real:
            seen_paths[real] = dump.name
        if dump.fingerprint and dump.crash_time_source == "vmcoreinfo":
            first_of[dump.fingerprint] = dump.name


ResultCallback = Callable[[int, int, DumpTriage], None]


def _run_local(sources, jobs, options, on_result):
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: List[Optional[DumpTriage]] = [None] * len(sources)
    if jobs <= 1 or len(sources) <= 1:
        for index, source in enumerate(sources):
            results[index] = triage_dump(source, *options)
            if on_result:
                on_result(index + 1, len(sources), results[index])
        return results
    with ProcessPoolExecutor(max_workers=min(jobs, len(sources))) as pool:
        futures = {pool.submit(triage_dump, source, *options): index for index, source in enumerate(sources)}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if on_result:
                on_result(done, len(sources), results[futures[future]])
    return results


def _run_dask(sources, address, options, on_result):
    try:
        from distributed import Client, as_completed
    except ImportError as error:
        raise PycoreError("--scheduler needs Dask: pip install 'pycore[triage]'") from error
    results: List[Optional[DumpTriage]] = [None] * len(sources)
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise PycoreError(f"cannot reach the Dask scheduler at {address}: {error}") from error
    with client:
        futures = [client.submit(triage_dump, source, *options, pure=False) for source in sources]
        index_of = {future.key: index for index, future in enumerate(futures)}
        for done, future in enumerate(as_completed(futures), start=1):
            index = index_of[future.key]
            results[index] = future.result()
            if on_result:
                on_result(done, len(sources), results[index])
    return results


def triage(paths: Iterable[str], jobs: Optional[int] = None, scheduler: Optional[str] = None,
           timeout: Optional[float] = DEFAULT_TIMEOUT, depth: int = SIGNATURE_DEPTH,
           tz: Optional[datetime.tzinfo] = None, on_result: Optional[ResultCallback] = None) -> TriageReport:
    """Triage every crash under ``paths``: in ``jobs`` local processes (default: one per CPU), or on
    the Dask cluster at ``scheduler``; each dump gets at most ``timeout`` seconds. ``on_result(done,
    total, dump)`` is called as each dump finishes. The report lists dumps in discovery order."""
    started = time.monotonic()
    sources = find_crashes(paths)
    options = (timeout, depth, tz)
    if scheduler:
        dumps = _run_dask(sources, scheduler, options, on_result)
        where = f"dask:{scheduler}"
    else:
        jobs = jobs or os.cpu_count() or 1
        dumps = _run_local(sources, jobs, options, on_result)
        where = f"local:{jobs}"
    # Crash order reads best; unreadable dumps last, in the order found.
    dumps = sorted(dumps, key=lambda d: (d.status == "error", d.crash_time is None, d.crash_time or 0))
    _mark_duplicates(dumps)
    return TriageReport(dumps=dumps, groups=group_by_signature(dumps, tz), timeline=build_timeline(dumps, tz),
                        seconds=time.monotonic() - started, scheduler=where, tz=tz)
