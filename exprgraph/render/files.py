"""Files the commands write (graphs, plots): checked before the work, written whole.

Every output path is checked before any work starts, so a typo in a folder name
never costs a finished run; and a file is written beside its final place, then
renamed, so a failure never leaves half a file (or clobbers the old one).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..core.errors import ValueInputError


def check_writable(path: str, example: str) -> None:
    """Raise `ValueInputError` ("cannot write PATH: why") unless a file can be
    written at `path`; `example` is a file name to suggest (loss.svg)."""
    if not path.strip():
        raise ValueInputError("cannot write the file: no file name given", path=path,
                              hint=f"name a file, such as {example}")
    if path.endswith(("/", os.sep)):
        raise ValueInputError(f"cannot write {path}: it ends in '/', so it names a folder",
                              path=path, hint=f"name a file, such as {example}")
    target = Path(path)
    if target.is_dir():
        raise ValueInputError(f"cannot write {path}: it is a folder", path=path,
                              hint=f"name a file in it, such as {example}")
    folder = target.parent
    if not folder.exists():
        raise ValueInputError(f"cannot write {path}: the folder {folder} does not exist",
                              path=path)
    if not folder.is_dir():
        raise ValueInputError(f"cannot write {path}: {folder} is not a folder", path=path)
    # The file is written beside its final place and then renamed (see
    # write_whole), so the folder must be writable even when the file exists.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueInputError(f"cannot write {path}: no permission to write in {folder}",
                              path=path)
    if target.exists() and not os.access(target, os.W_OK):
        raise ValueInputError(f"cannot write {path}: the file is read-only", path=path)
    _try_a_file_beside(target)


def _try_a_file_beside(target: Path) -> None:
    """Create and remove a file in `target`'s folder, as write_whole will: a
    folder that permissions call writable may still refuse files (/proc, a
    read-only mount), and that must be found out before the work, not after."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=".exprgraph-check.", dir=target.parent)
    except OSError as error:
        raise ValueInputError(f"cannot write {target}: {error.strerror or error}",
                              path=str(target)) from None
    os.close(handle)
    _remove(temporary)


def write_whole(path: str, write: Callable[[str], None]) -> None:
    """Run `write` on a temporary file beside `path`, then rename it to `path`;
    on any failure remove the temporary file and leave `path` untouched."""
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix,
                                             dir=target.parent)
    except OSError as exc:
        raise ValueInputError(f"cannot write {path}: {exc.strerror or exc}", path=path
                              ) from None
    os.close(handle)
    try:
        os.chmod(temporary, _file_mode(target))
        write(temporary)
        os.replace(temporary, target)
    except OSError as exc:
        _remove(temporary)
        raise ValueInputError(f"cannot write {path}: {exc.strerror or exc}", path=path
                              ) from None
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _file_mode(target: Path) -> int:
    """The mode the file would get if opened normally: an existing file's own,
    else 0o666 less the umask (mkstemp's files are private, 0o600)."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
