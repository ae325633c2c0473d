"""What the commands print: the two consoles, warnings and JSON.

Neither console reads markup: every `[...]` in what they print is text, so a
student's answer `[/]` or a file named `[red]x.toml` is shown as it is (Rich
would raise MarkupError, or swallow the brackets). Styles come from Text objects.

Both write what the stream's encoding can carry: under a Latin-1 or ASCII
locale (or cp1252, redirected on Windows) boxes are ASCII and symbols such as
∂ and → have ASCII stand-ins (FallbackConsole), and whatever reaches a stream
by another way gets the same stand-ins from its error handler
(`fall_back_where_symbols_are_missing`, set up by `run`).
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

from ..core.errors import SourceWarning
from ..render.console import FallbackConsole

# The name of the error handler that writes ASCII stand-ins.
FALLBACK_ERRORS = "exprgraph-fallback"


class _TrimmedLines:
    """Standard output for a pipe or file: Rich pads titles and captions to
    the table's width; a file gets the lines without trailing spaces."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(re.sub(r"[ \t]+(?=\n)", "", text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        """The stream's encoding: Rich draws ASCII boxes for one that is not UTF."""
        return getattr(self.stream, "encoding", None) or "utf-8"


def stdout() -> Console:
    """A console on standard output (lines trimmed when it is no terminal)."""
    if sys.stdout.isatty():
        return FallbackConsole(highlight=False, markup=False)
    return FallbackConsole(highlight=False, markup=False, file=_TrimmedLines(sys.stdout))


def stderr() -> Console:
    """A console on standard error, for messages, warnings and summaries."""
    # Piped or logged, a message stays one line: hard wrapping at 80 columns
    # split numbers and names (`(here t1 = ⏎1e+308)`).
    return FallbackConsole(stderr=True, highlight=False, markup=False,
                           soft_wrap=not sys.stderr.isatty())


def writes_utf(stream: Any) -> bool:
    """Whether `stream` writes UTF (any character at all)."""
    encoding = (getattr(stream, "encoding", None) or "utf-8").replace("_", "-").lower()
    return encoding.startswith("utf")


def fall_back_where_symbols_are_missing() -> None:
    """Give standard output and error an error handler that writes ASCII
    stand-ins for what their encoding lacks, instead of raising
    UnicodeEncodeError (`graph --format dot`, CSV, help, anything)."""
    import codecs

    from ..render.console import encoding_fallback

    codecs.register_error(FALLBACK_ERRORS, encoding_fallback)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and not writes_utf(stream) and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors=FALLBACK_ERRORS)


def warn(warning: str | SourceWarning | Text) -> None:
    """The one warning printer, on stderr: `warning: MESSAGE` as plain text, a
    warning about the program's text with its line, caret and hint, or a
    warning `render` has already laid out (`render.train.warning_text`)."""
    if isinstance(warning, Text):
        stderr().print(warning)
        return
    if isinstance(warning, SourceWarning):
        from ..render.errors import warning_text

        stderr().print(warning_text(warning))
        return
    # The whole line in yellow: `Text(..., style=)` styles what is appended too.
    text = Text("warning:", style="yellow")
    text.append(f" {warning}")
    stderr().print(text)


def print_json(data: dict[str, Any]) -> None:
    """`data` as one line of JSON on standard output."""
    # Where the output cannot carry every character, JSON escapes them (\u2202):
    # still the same data, not a stand-in.
    stdout().out(json.dumps(data, ensure_ascii=not writes_utf(sys.stdout)), highlight=False)


class JsonResults:
    """Results on standard output as they come: JSON Lines (one object per line),
    or one JSON document `{"results": [...], ...}`.

    The document is written item by item too, so a million problems cost no
    more memory than in JSON Lines; `close` adds the fields that are known
    only at the end (a summary). Everything goes through `sys.stdout`, the
    stream the JSON lines of `batch` always took (Rich costs per line).
    """

    def __init__(self, document: bool, key: str = "results") -> None:
        self.document = document
        self.key = key
        self.count = 0
        self.closed = False
        self.ascii_only = not writes_utf(sys.stdout)  # escape what the output cannot carry

    def add(self, data: dict[str, Any]) -> None:
        """Write one result."""
        text = json.dumps(data, ensure_ascii=self.ascii_only)
        if not self.document:
            sys.stdout.write(text + "\n")
        elif self.count:
            sys.stdout.write(",\n  " + text)
        else:
            sys.stdout.write(f'{{"{self.key}": [\n  ' + text)
        self.count += 1

    def close(self, fields: dict[str, Any] | None = None) -> None:
        """End the document with `fields` after the results (JSON Lines: nothing)."""
        if not self.document or self.closed:
            return
        self.closed = True
        head = f'{{"{self.key}": [' if not self.count else "\n]"
        rest = "".join(f", {json.dumps(name)}: {json.dumps(value, ensure_ascii=self.ascii_only)}"
                       for name, value in (fields or {}).items())
        sys.stdout.write(head + ("]" if not self.count else "") + rest + "}\n")
