"""What the commands do, as data: problem files (`problems`, the one reader of .toml and .expr
files; `files`, which paths are problem files), batches (`batch`), checking answers (`check`,
with `answers`, `grading` and `feedback`), explaining the passes (`explain`), training (`train`,
with `progress` and `columns`), and evaluations as JSON-ready data (`data`).

They use the public API (`exprgraph.api`) as a user's script would; printing them is `render`'s.
"""
