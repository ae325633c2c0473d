"""Renderers: text, LaTeX, Rich tables, JSON data and pictures; the core never prints."""
