import errno
import os
import stat

import pytest

from fc_finetune.errors import CacheError
from fc_finetune.utils import cache


def test_cache_root_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "c"))
    assert cache.cache_root() == tmp_path / "c"
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "fc-finetune"


def test_unwritable_cache_dir_names_path_and_fix(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    with pytest.raises(CacheError) as info:
        cache.cache_dir("models")
    assert str(blocker / "cache" / "models") in str(info.value)
    assert cache.CACHE_ENV in str(info.value)


def test_atomic_directory_publishes_complete_folder(tmp_path):
    final = tmp_path / "out"
    with cache.atomic_directory(final) as tmp:
        (tmp / "a.txt").write_text("x")
        assert not final.exists()
    assert (final / "a.txt").read_text() == "x"
    assert stat.S_IMODE(final.stat().st_mode) == 0o777 & ~_umask()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_atomic_directory_failure_leaves_nothing(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(RuntimeError), cache.atomic_directory(final) as tmp:
        (tmp / "half.bin").write_bytes(b"0" * 10)
        raise RuntimeError("killed mid-way")
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_replaces_only_on_success(tmp_path):
    final = tmp_path / "out"
    with cache.atomic_directory(final) as tmp:
        (tmp / "v").write_text("1")
    with pytest.raises(RuntimeError), cache.atomic_directory(final, overwrite=True) as tmp:
        (tmp / "v").write_text("2")
        raise RuntimeError
    assert (final / "v").read_text() == "1"
    with cache.atomic_directory(final, overwrite=True) as tmp:
        (tmp / "v").write_text("3")
    assert (final / "v").read_text() == "3"
    with pytest.raises(CacheError, match="already exists"), cache.atomic_directory(final):
        pass


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"),
                                 Exception("No space left on device (os error 28)")])
def test_disk_full_becomes_clear_error(tmp_path, exc):
    final = tmp_path / "model"
    with pytest.raises(CacheError) as info, cache.atomic_directory(final):
        raise exc
    message = str(info.value)
    assert "No space left" in message and str(final) in message and cache.CACHE_ENV in message
    assert list(tmp_path.iterdir()) == []


def test_require_free_space(tmp_path):
    with pytest.raises(CacheError, match="Not enough space"):
        cache.require_free_space(tmp_path, 1 << 60, "a huge thing")
    cache.require_free_space(tmp_path, 1, "a tiny thing")


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    final = tmp_path / "model"
    dead = tmp_path / ".model.tmp-999999999-abc"
    dead.mkdir()
    alive = tmp_path / f".model.tmp-{os.getpid()}-abc"
    alive.mkdir()
    cache.remove_stale_temporaries(final)
    assert not dead.exists() and alive.exists()


def test_atomic_file(tmp_path):
    target = tmp_path / "f.bin"
    cache.atomic_write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    with pytest.raises(ValueError), cache.atomic_file(target) as tmp:
        tmp.write_bytes(b"partial")
        raise ValueError
    assert target.read_bytes() == b"abc"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
