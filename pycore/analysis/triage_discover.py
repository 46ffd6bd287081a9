"""Finding the crashes to triage: every crash directory under a /var/crash-style tree, in the layouts
kdump-tools (``202611260114/dump.202611260114``, ``dmesg.202611260114``) and kexec-tools
(``127.0.0.1-2026-11-26-01:14:38/vmcore``, ``vmcore-dmesg.txt``) write, or vmcore files given directly.
"""
import datetime
import os
import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

__all__ = ["CrashSource", "directory_time", "find_crashes"]

# kexec-tools writes vmcore (vmcore-incomplete while copying, vmcore.flat over ssh); kdump-tools
# writes dump.<stamp> and dmesg.<stamp> (dump-incomplete while copying).
_VMCORE_NAME = re.compile(r"^(?:vmcore(?:\.flat)?|vmcore-incomplete|dump\.\d{12}|dump-incomplete)$")
_DMESG_NAME = re.compile(r"^(?:vmcore-dmesg\.txt|vmcore-dmesg-incomplete\.txt|dmesg\.\d{12})$")
# kdump-tools: 202611260114; kexec-tools: 127.0.0.1-2026-11-26-01:14:38 (host, then local time).
_DIRECTORY_TIME = re.compile(r"(?:^|[-_.])(?P<y>(?:19|20)\d\d)-?(?P<mo>[01]\d)-?(?P<d>[0-3]\d)-?"
                             r"(?P<h>[0-2]\d):?(?P<mi>[0-5]\d)(?::?(?P<s>[0-5]\d))?$")


@dataclass
class CrashSource:
    """One crash to triage: its vmcore and/or text log, and what its directory name says."""

    name: str
    directory: Optional[str] = None
    vmcore: Optional[str] = None
    dmesg: Optional[str] = None
    directory_time: Optional[datetime.datetime] = None
    host: Optional[str] = None


def directory_time(name: str) -> Tuple[Optional[datetime.datetime], Optional[str]]:
    """The wall-clock time (naive, the crashed machine's local time) and host a crash directory is named
    after: ``202611260114`` (kdump-tools) or ``127.0.0.1-2026-11-26-01:14:38`` (kexec-tools)."""
    match = _DIRECTORY_TIME.search(name)
    if not match:
        return None, None
    try:
        when = datetime.datetime(int(match["y"]), int(match["mo"]), int(match["d"]), int(match["h"]),
                                 int(match["mi"]), int(match["s"] or 0))
    except ValueError:
        return None, None
    host = name[:match.start()].rstrip("-_.") or None
    return when, host


def _source_for_directory(directory: str, label: str) -> Optional[CrashSource]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    vmcores = [n for n in names if _VMCORE_NAME.match(n)]
    dmesgs = [n for n in names if _DMESG_NAME.match(n)]
    if not vmcores and not dmesgs:
        return None
    # A finished copy wins over the -incomplete one left by an interrupted capture.
    vmcores.sort(key=lambda n: "incomplete" in n)
    dmesgs.sort(key=lambda n: "incomplete" in n)
    when, host = directory_time(os.path.basename(os.path.normpath(directory)))
    return CrashSource(name=label, directory=directory,
                       vmcore=os.path.join(directory, vmcores[0]) if vmcores else None,
                       dmesg=os.path.join(directory, dmesgs[0]) if dmesgs else None,
                       directory_time=when, host=host)


def find_crashes(paths: Iterable[str]) -> List[CrashSource]:
    """Every crash under ``paths``, in a stable order.

    A directory holding a vmcore or a vmcore-dmesg.txt (in either tool's naming) is one crash; any other
    directory is searched below for such directories. A file is taken as a vmcore, whatever its name,
    with the text log beside it when there is one. A path that does not exist becomes a source with
    that vmcore, so that triage reports it instead of dropping it silently.
    """
    sources: List[CrashSource] = []
    for path in paths:
        if os.path.isdir(path):
            top = _source_for_directory(path, os.path.basename(os.path.normpath(path)) or path)
            if top is not None:
                sources.append(top)
                continue
            found = []
            for directory, subdirectories, _ in os.walk(path, followlinks=True):
                subdirectories.sort()
                label = os.path.relpath(directory, path)
                source = _source_for_directory(directory, label) if directory != path else None
                if source is not None:
                    found.append(source)
                    subdirectories[:] = []
            sources.extend(found)
        else:
            directory = os.path.dirname(os.path.abspath(path))
            base = os.path.basename(path)
            dmesg = None
            if _VMCORE_NAME.match(base) or base.startswith("vmcore"):
                dmesg = next((os.path.join(directory, n) for n in sorted(os.listdir(directory))
                              if _DMESG_NAME.match(n)), None) if os.path.isdir(directory) else None
            when, host = directory_time(os.path.basename(directory))
            if when is None:
                when, host = directory_time(base)
            sources.append(CrashSource(name=path, directory=directory, vmcore=path, dmesg=dmesg,
                                       directory_time=when, host=host))
    return sources
