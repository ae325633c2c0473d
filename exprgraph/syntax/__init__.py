"""The parser: program text to graph nodes over the LALR tables in `parser_tables.json`
(generated from the top-level `grammar/expr.lark`), and its error messages.

parse.py: the reduce callbacks and `parse_program`; messages.py: errors and hints;
tables.py: generating, shipping and loading the tables; lalr.py: the fast driver.
"""
