"""What may be written: the checks every output path passes before :func:`.cache.atomic_file`
(or :func:`.cache.atomic_directory`) writes it.

Files are written to a temporary file in the target's own folder and renamed over the target
in one step, so a failure leaves the old file or the new one, never half of either. Before
anything is written the target is checked, and refused with an
:class:`~fc_finetune.errors.OutputError` that names it, when it is:

* **an input of the running command**: the same file by ``(st_dev, st_ino)``, so a symlink or
  a hard link to an input is caught too. ``data convert in.jsonl -o in.jsonl --limit 2``
  would otherwise replace the input with the part of it that was read;
* **an existing folder** (name a file inside it), or for a folder output, an existing file;
* **a device, FIFO or socket** (``/dev/full``, ``/dev/stdout``, a named pipe): the rename
  would replace the node itself with a plain file;
* **read-only** for the user (a shell's ``>`` would refuse it too).

A **symlink** is followed: the file it points to is replaced (its temporary file lives in that
file's folder, so the rename stays on one file system) and the link itself is kept, as a
shell's ``>`` would. A file with other **hard links** gets a new inode: its other names keep
the old contents (unless one of them is an input, which is refused above).

Inputs come from two places: the paths a caller passes (``inputs=``), and the files and
dataset folders the data reader notes with :func:`note_input` while an :func:`input_scope` is
open. ``fc-finetune`` opens one around every command, so everything a command wrote is checked
against everything it read. Outside a scope nothing is noted: in a long-lived process the
inode number of a deleted input can be reused by an unrelated new file.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError


@dataclass(frozen=True)
class _Input:
    dev: int
    ino: int
    path: str
    real: str
    is_dir: bool


_SCOPE: contextvars.ContextVar[list[_Input] | None] = contextvars.ContextVar("fc_finetune_inputs", default=None)

_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
            (stat.S_ISSOCK, "a socket"))


@contextlib.contextmanager
def input_scope() -> Iterator[None]:
    """Remember the inputs :func:`note_input` sees until the block ends (one command's run)."""
    token = _SCOPE.set([])
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _identify(path: str | Path) -> _Input | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # missing, a loop, a NUL byte: nothing that could be overwritten
        return None
    return _Input(st.st_dev, st.st_ino, str(path), os.path.realpath(path), stat.S_ISDIR(st.st_mode))


def note_input(path: str | Path) -> None:
    """Record ``path`` (a file or folder being read) as an input of the running command; a no-op
    outside :func:`input_scope`."""
    inputs = _SCOPE.get()
    if inputs is not None:
        found = _identify(path)
        if found is not None and found not in inputs:
            inputs.append(found)


def _inputs(extra: Iterable[str | Path]) -> list[_Input]:
    found = [_identify(p) for p in extra if p is not None and not str(p).startswith("hf:")]
    return [*(f for f in found if f is not None), *(_SCOPE.get() or [])]


def _stat_failure(path: Path, exc: OSError | ValueError, what: str) -> OutputError:
    if isinstance(exc, ValueError):  # a NUL byte: no file system takes the name
        reason = f"not a usable file name ({exc})"
    elif exc.errno == errno.ENOTDIR:
        reason = "a part of the path is a file, not a folder"
    elif exc.errno == errno.ELOOP:
        reason = "the symlinks in the path form a loop"
    else:
        reason = exc.strerror or str(exc)
    return OutputError(f"cannot write {what}'{path}': {reason}")


def _special_kind(mode: int) -> str | None:
    return next((name for test, name in _SPECIAL if test(mode)), None)


def _same_as_input(path: Path, st: os.stat_result, inputs: list[_Input]) -> None:
    for item in inputs:
        if (item.dev, item.ino) == (st.st_dev, st.st_ino):
            same_name = os.path.abspath(path) == os.path.abspath(item.path)
            how = "" if same_name else f" (the same file as '{item.path}', through a link)"
            raise OutputError(f"'{path}' is an input of this command{how}; writing it would destroy the input. "
                              "Write to another file (and rename it afterwards if you mean to replace the input).")


def check_output(path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """Check that ``path`` may be replaced by a new file (the rules of the module doc) and return
    the path to write: ``path`` itself, or the file a symlink points to."""
    path = Path(path).expanduser()
    if not str(path).strip() or path.name in ("", ".", ".."):
        raise OutputError(f"'{path}' is not a file name; name the file to write, e.g. out.jsonl")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None  # a new file, or a dangling symlink: written where the link points
    except (OSError, ValueError) as exc:  # a symlink loop, a path through a file, a NUL byte
        raise _stat_failure(path, exc, "") from None
    target = Path(os.path.realpath(path))
    if st is None:
        return target
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"'{path}' is an existing folder; name a file to write (e.g. '{path / 'out.jsonl'}').")
    special = _special_kind(st.st_mode)
    if special is not None:
        raise OutputError(f"'{path}' is {special}, not a regular file; outputs are written as a new file renamed "
                          "into place, which would replace it. Name a regular file.")
    _same_as_input(path, st, _inputs(inputs))
    if not os.access(target, os.W_OK):
        raise OutputError(f"'{path}' is read-only; make it writable or write to another file.")
    return target


def check_output_folder(path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """Check that the folder ``path`` may be created or replaced as a whole: it must not be a
    file, nor be or hold an input of the command. Returns ``path`` (symlinks are not followed:
    a folder is replaced by a rename of the link's own name)."""
    path = Path(path).expanduser()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return path
    except (OSError, ValueError) as exc:
        raise _stat_failure(path, exc, "the folder ") from None
    if not stat.S_ISDIR(st.st_mode):
        what = _special_kind(st.st_mode) or "an existing file"
        raise OutputError(f"'{path}' is {what}, not a folder; name a folder to write into.")
    real = os.path.realpath(path)
    for item in _inputs(inputs):
        if (item.dev, item.ino) == (st.st_dev, st.st_ino) or Path(item.real).is_relative_to(real):
            raise OutputError(f"'{path}' holds '{item.path}', an input of this command; writing the folder would "
                              "replace it. Choose another folder.")
    return path
