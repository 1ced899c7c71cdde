"""Where models and data are cached, and how files there are written safely.

The cache root is ``$FC_FINETUNE_CACHE`` when set, else ``$XDG_CACHE_HOME/fc-finetune``,
else ``~/.cache/fc-finetune``. Everything is written to a temporary sibling first and
renamed into place, so an interrupted run never leaves a folder that looks complete.

:func:`atomic_file` and :func:`atomic_directory` are also the one way fc-finetune writes a
user's outputs (converted data, reports, plots, saved models): they check the target first
(:mod:`.outputs`: never an input of the command, a folder, a device or FIFO; symlinks are
followed) and turn a failure to write into an error that names the path and the real reason.
Only a path inside the cache gets the advice to set ``FC_FINETUNE_CACHE``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from glob import escape as glob_escape
from pathlib import Path

from ..errors import CacheError, FcFinetuneError, OutputError
from .outputs import check_output, check_output_folder

logger = logging.getLogger(__name__)

CACHE_ENV = "FC_FINETUNE_CACHE"
_TMP_MARK = ".tmp-"
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def cache_root() -> Path:
    """Return the cache root (not created)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "fc-finetune"


def _root_hint(path: Path) -> str:
    return f"set {CACHE_ENV} to a writable folder with free space (now: {cache_root()})"


def in_cache(path: Path) -> bool:
    """True when ``path`` (symlinks resolved) lies inside the cache root."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(cache_root()))
    except (OSError, ValueError):
        return False


_KERNEL_FS = ("/proc", "/sys", "/dev")


def _why_not(exc: OSError, folder: Path) -> str:
    """The reason a file could not be made in ``folder``, in words a user can act on."""
    code, reason = exc.errno, exc.strerror or str(exc)
    real = os.path.realpath(folder)
    kernel = next((root for root in _KERNEL_FS if real == root or real.startswith(root + "/")), None)
    if kernel is not None:
        place = f"'{folder}' is in {kernel}, " if real != kernel else f"'{folder}' is "
        return f"{place}a file system the kernel provides, which holds no ordinary files ({reason})"
    if code in (errno.EACCES, errno.EPERM):
        return f"no permission to create files in '{folder}' ({reason})"
    if code == errno.EROFS:
        return f"'{folder}' is on a read-only file system"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return f"a part of the path '{folder}' is a file, not a folder"
    if code == errno.ENAMETOOLONG:
        return "the name is too long for the file system"
    if code == errno.ENOENT:
        return f"'{folder}' does not accept new files ({reason})"
    return reason


def write_error(exc: OSError, target: Path, folder: Path | None = None) -> FcFinetuneError:
    """The error to raise when ``target`` (or a temporary file for it in ``folder``) cannot be
    written: disk full, the cache (with the FC_FINETUNE_CACHE fix) or any other output path."""
    target = Path(target)
    folder = Path(folder) if folder is not None else target.parent
    full = disk_full_error(exc, target)
    if full is not None:
        return full
    if in_cache(folder):
        return CacheError(f"Cannot write to the cache directory '{folder}': {_why_not(exc, folder)}. "
                          f"Fix: {_root_hint(folder)}.")
    return OutputError(f"Cannot write '{target}': {_why_not(exc, folder)}. Choose another path.")


def require_free_space(folder: Path, needed_bytes: int, what: str) -> None:
    """Fail before a long write when ``folder``'s disk cannot hold ``needed_bytes``."""
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise CacheError(
            f"Not enough space in '{folder}' for {what}: about {needed_bytes / 2**20:.0f} MiB needed, "
            f"{free / 2**20:.0f} MiB free. Free some space, or {_root_hint(folder)}."
        )


def ensure_writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and prove that a file can be written in it."""
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        if is_disk_full(exc):
            raise CacheError(f"Cannot write to '{path}': the disk is full. "
                             f"Free some space{', or ' + _root_hint(path) if in_cache(path) else ''}.") from exc
        raise write_error(exc, path, path) from exc
    return path


def cache_dir(*parts: str) -> Path:
    """A writable folder under the cache root, created on demand."""
    return ensure_writable_dir(cache_root().joinpath(*parts))


def is_disk_full(exc: BaseException) -> bool:
    """True for ENOSPC/EDQUOT, including the plain exceptions Rust libraries (tokenizers,
    safetensors) raise with the OS message ``No space left on device (os error 28)``."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return True
    text = str(exc)
    return any(f"os error {code}" in text for code in _DISK_FULL) or "No space left on device" in text


def disk_full_error(exc: BaseException, target: Path) -> CacheError | None:
    """Translate a disk-full failure into a clear error naming ``target``; None for other errors."""
    if not is_disk_full(exc):
        return None
    try:
        free = shutil.disk_usage(Path(target).parent).free / 2**20
        room = f" ({free:.0f} MiB free)"
    except OSError:
        room = ""
    fix = f", or {_root_hint(target)}" if in_cache(target) else " or write to another disk"
    return CacheError(f"No space left on the device while writing '{target}'{room}. Free some space{fix}.")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(final: Path) -> None:
    """Delete temporaries of ``final`` left by processes that were killed mid-write."""
    final = Path(final)
    if not final.parent.is_dir():
        return
    for tmp in final.parent.glob(f"{glob_escape(_temp_stem(final))}*"):
        pid_text = tmp.name.rsplit(_TMP_MARK, 1)[-1].split("-", 1)[0]
        if pid_text.isdigit() and not pid_alive(int(pid_text)):
            logger.info("Removing %s, left by an interrupted run", tmp)
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_mode(path: Path) -> None:
    """Give a temp file/dir (created 0600/0700) the permissions a normal one would have."""
    mask = _umask()
    paths = [path, *path.rglob("*")] if path.is_dir() else [path]
    for item in paths:
        os.chmod(item, (0o777 if item.is_dir() else 0o666) & ~mask)


def _temp_stem(final: Path) -> str:
    # Cut long names: the temporary's name must fit the file system's limit (255) too.
    return f".{final.name[:100]}{_TMP_MARK}"


def _temp_name(final: Path) -> str:
    return f"{_temp_stem(final)}{os.getpid()}-"


@contextlib.contextmanager
def atomic_directory(final: Path, *, overwrite: bool = False, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary folder; on success rename it to ``final`` in one step.

    On any error (or KeyboardInterrupt) the temporary folder is removed, so ``final``
    either does not exist or is complete. A SIGKILL can leave the temporary behind; it
    is hidden (dot-prefixed) and removed by :func:`remove_stale_temporaries`. ``final``
    must not be a file, nor be or hold an input of the command (:func:`.outputs.check_output_folder`).
    """
    final = check_output_folder(Path(final), inputs=inputs)
    ensure_writable_dir(final.parent)
    if final.exists() and not overwrite:
        raise CacheError(f"'{final}' already exists; pass overwrite=True (CLI: --force) to replace it.")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_temp_name(final), dir=final.parent))
    except OSError as exc:
        raise write_error(exc, final) from exc
    try:
        yield tmp
        _publish_mode(tmp)
        if final.exists():
            old = final.with_name(f"{_temp_name(final)}old")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        full = disk_full_error(exc, final)
        if full is not None:
            raise full from exc
        raise


def atomic_write_bytes(path: Path, data: bytes, *, inputs: Iterable[str | Path] = ()) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (:func:`atomic_file`)."""
    with atomic_file(path, inputs=inputs) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_file(path: Path, *, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    ``path`` is checked first (:func:`.outputs.check_output`): never one of ``inputs`` or of the
    inputs the running command has read, never a folder, device or FIFO. A symlink is followed,
    so the file it points to is replaced and the link stays. A replaced file keeps its
    permissions; a new one gets the usual ``0666 & ~umask``. Missing folders are created.
    """
    path = Path(path).expanduser()
    target = check_output(path, inputs=inputs)
    mode = stat.S_IMODE(os.stat(target).st_mode) if target.exists() else None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=_temp_name(target), dir=target.parent)
    except OSError as exc:
        raise write_error(exc, path, target.parent) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        try:
            if mode is None:
                _publish_mode(tmp)
            else:
                os.chmod(tmp, mode)
            os.replace(tmp, target)
        except OSError as exc:
            raise write_error(exc, path, target.parent) from exc
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        full = disk_full_error(exc, path)
        if full is not None:
            raise full from exc
        raise
