"""Builders of /var/crash-style trees for the triage tests (see crash_tree.py)."""
