"""Where models and data are cached, and how files there are written safely.

The cache root is ``$FC_FINETUNE_CACHE`` when set, else ``$XDG_CACHE_HOME/fc-finetune``,
else ``~/.cache/fc-finetune``. Everything is written to a temporary sibling first and
renamed into place, so an interrupted run never leaves a folder that looks complete.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import CacheError

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
        reason = "the disk is full" if is_disk_full(exc) else (exc.strerror or str(exc))
        raise CacheError(f"Cannot write to the cache directory '{path}': {reason}. Fix: {_root_hint(path)}.") from exc
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
    return CacheError(
        f"No space left on the device while writing '{target}'{room}. "
        f"Free some space, or {_root_hint(target)}."
    )


def _pid_alive(pid: int) -> bool:
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
    for tmp in final.parent.glob(f".{final.name}{_TMP_MARK}*"):
        pid_text = tmp.name.rsplit(_TMP_MARK, 1)[-1].split("-", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
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


def _temp_name(final: Path) -> str:
    return f".{final.name}{_TMP_MARK}{os.getpid()}-"


@contextlib.contextmanager
def atomic_directory(final: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success rename it to ``final`` in one step.

    On any error (or KeyboardInterrupt) the temporary folder is removed, so ``final``
    either does not exist or is complete. A SIGKILL can leave the temporary behind; it
    is hidden (dot-prefixed) and removed by :func:`remove_stale_temporaries`.
    """
    final = Path(final)
    ensure_writable_dir(final.parent)
    if final.exists() and not overwrite:
        raise CacheError(f"'{final}' already exists; pass overwrite=True (CLI: --force) to replace it.")
    tmp = Path(tempfile.mkdtemp(prefix=_temp_name(final), dir=final.parent))
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success."""
    path = Path(path)
    ensure_writable_dir(path.parent)
    fd, name = tempfile.mkstemp(prefix=_temp_name(path), dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _publish_mode(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        full = disk_full_error(exc, path)
        if full is not None:
            raise full from exc
        raise
