"""Nodes as text: the exprgraph printer (`text`, always parses back) and LaTeX (`latex`).

Below `passes` in the layers: an evaluation error quotes the failing expression's text.
"""
