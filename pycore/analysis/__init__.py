"""Explanations of why a machine died: ``trouble`` (every notable kernel log event), ``oom`` (oom-killer
autopsies) and ``triage`` (a fleet's crashes grouped by signature). All read ``logtext.LogRecord``s, which
come from a text log (``logtext.read_log``) or from a dump's printk buffer (``source``), and read the
kernel's report lines through one grammar (``grammar``). Helpers here return data; ``pycore/cli`` renders.
"""
