"""Which paths are problem files: suffixes, and folders listed for them.

`discover` turns the paths a command is given into problem files (a folder
gives every `.toml` and `.expr` file below it, sorted) and a `FileError`, in
its place, for each path that gives none. Reading the files is `problems.py`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..core.errors import FileError
from .problems import (
    EMPTY_FOLDER,
    LINE_FILE_SUFFIX,
    NOT_FOUND,
    OTHER_KIND,
    PROBLEM_SET_SUFFIX,
    UNREADABLE_FOLDER,
)

SUFFIXES = (LINE_FILE_SUFFIX, PROBLEM_SET_SUFFIX)


def discover(paths: Iterable[str | Path]) -> Iterator[Path | FileError]:
    """The problem files named: a folder gives every .toml and .expr below it,
    sorted; a missing path, a folder without any, a folder below that cannot be
    listed (named, in its sorted place) or a file of another kind is a
    FileError."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = _folder_files(path)
            if not found:  # an unreadable folder is said instead
                yield FileError(f"no problem files found in {raw}", file=str(raw),
                                hint="problem files end in .toml or .expr",
                                reason=EMPTY_FOLDER)
            yield from found
        elif not path.exists():
            yield FileError(f"no such file or folder: {raw}", file=str(raw), reason=NOT_FOUND)
        elif path.suffix not in SUFFIXES:
            yield FileError(f"{raw} is not a problem file", file=str(raw),
                            hint="problem files end in .toml or .expr", reason=OTHER_KIND)
        else:
            yield path


def _folder_files(folder: Path) -> list[Path | FileError]:
    """The problem files below `folder` and a FileError for each folder that
    cannot be listed, sorted by path. A loop over a stack of folders, not
    recursion (folders nest as deep as the file system allows); symbolic links
    to folders are not followed, as `Path.rglob` does not."""
    found: list[tuple[Path, Path | FileError]] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                listed = list(entries)
        except OSError as exc:
            found.append((current, FileError(
                f"cannot read the folder {current}: {exc.strerror or exc}", file=str(current),
                hint="its problem files were not run", reason=UNREADABLE_FOLDER)))
            continue
        for entry in listed:
            child = current / entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(child)
                elif child.suffix in SUFFIXES and (entry.is_file() or entry.is_symlink()):
                    found.append((child, child))  # a dangling link is named when read
            except OSError:  # cannot be examined: named when it is read
                if child.suffix in SUFFIXES:
                    found.append((child, child))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]
