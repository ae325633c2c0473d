"""Presentation only: Rich tables, error messages, drawings, files and consoles.

Nothing below imports it; the expression printers are in `exprgraph.printing`.
"""
