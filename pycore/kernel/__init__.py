"""Kernel helpers: one module per subsystem, each reading the structures it is named after."""
