"""Limits on what a program may ask for, kept where the CLI can state them in
its help without importing the layers that enforce them."""

MAX_ORDER = 100
"""The highest order of derivative `diff --order` and `Program.derivative` take."""
