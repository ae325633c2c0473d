"""Text that messages quote or suggest: a line of the source, and the "did you
mean ...?" suggestion for a misspelt name (an option, a function, a file key)."""

from __future__ import annotations

from collections.abc import Sequence


def source_line(source: str, line: int) -> str | None:
    """Line `line` (1-based) of `source`, without its line break, or None."""
    if not source or line <= 0:
        return None
    # Only \n ends a line, as in the grammar: splitlines() would also split on
    # a form feed or a lone \r, which the grammar reads as white space.
    lines = source.split("\n")
    return lines[line - 1].rstrip("\r") if line <= len(lines) else None


def closest(word: str, candidates: Sequence[str], cutoff: float = 0.6,
            prefix: bool = False) -> str | None:
    """The candidate most like `word` (difflib's ratio at least `cutoff`; on a
    tie the earliest), or None. With `prefix`, a sole candidate that begins
    with `word` counts as closest (`--tol` for `--tolerance`)."""
    if prefix:
        starting = [c for c in candidates if c.startswith(word)]
        if len(starting) == 1:
            return starting[0]
    import difflib  # only a misspelling pays for it

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, candidates: Sequence[str], cutoff: float = 0.6,
                 prefix: bool = False, quote: bool = False) -> str | None:
    """`did you mean X?` for the `closest` candidate X (quoted as 'X' with
    `quote`), or None when none is close."""
    close = closest(word, candidates, cutoff, prefix)
    if close is None:
        return None
    return f"did you mean {close!r}?" if quote else f"did you mean {close}?"


def counted(count: int, noun: str) -> str:
    """`count` and `noun`, plural unless one: "1 more row", "2 more rows"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def bracket_end(text: str) -> int:
    """The position where the parentheses opened from the start of `text` are
    all closed again: the ")" matching a leading "(", or 0 where `text` does
    not start with one; -1 where they never close. The one bracket scanner
    of the hints, the explanations and the command line."""
    depth = 0
    for position, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0:
            return position
    return -1


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """`text` split at `separator` outside parentheses and brackets:
    "x=max(1,2),y=3" → ["x=max(1,2)", "y=3"]; "x=[1,2],y=3" → ["x=[1,2]", "y=3"]."""
    parts, depth, start = [], 0, 0
    for position, char in enumerate(text):
        depth += (char in "([") - (char in ")]")
        if char == separator and depth == 0:
            parts.append(text[start:position])
            start = position + 1
    parts.append(text[start:])
    return parts
