"""The parser: program text to graph nodes over the LALR tables in `parser_tables.json`
(generated from the top-level `grammar/expr.lark`), and its error messages.
"""
