"""Explanations of why a machine died: ``trouble`` (every notable kernel log event) and
``oom`` (oom-killer autopsies). Both read ``logtext.LogRecord``s, which come from a
text log (``logtext.read_log``) or from a dump's printk buffer.
"""
