"""What the commands do, as data: problem files (`problems`), batches, checking answers,
explaining the passes, training, and evaluations as JSON-ready data (`data`).

They use the public API (`exprgraph.api`) as a user's script would; printing them is `render`'s.
"""
