import errno
import os
import stat
from pathlib import Path

import pytest

from fc_finetune.errors import CacheError, OutputError
from fc_finetune.utils import cache, outputs


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
    # Outside the cache, FC_FINETUNE_CACHE would not help: it is not mentioned.
    assert "No space left" in message and str(final) in message and cache.CACHE_ENV not in message
    assert list(tmp_path.iterdir()) == []
    in_cache = cache.cache_root() / "models" / "m"
    with pytest.raises(CacheError) as info, cache.atomic_directory(in_cache):
        raise exc
    assert str(in_cache) in str(info.value) and cache.CACHE_ENV in str(info.value)


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


# ------------------------------------------------------------------ the output rules (utils.outputs)
def test_atomic_file_refuses_an_input_even_through_links(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("data\n")
    (tmp_path / "link.jsonl").symlink_to(src)
    os.link(src, tmp_path / "hard.jsonl")
    for name in ("in.jsonl", "link.jsonl", "hard.jsonl"):
        with pytest.raises(OutputError, match="input of this command"), cache.atomic_file(tmp_path / name,
                                                                                         inputs=[src]) as tmp:
            tmp.write_text("oops")
    assert src.read_text() == "data\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.jsonl", "in.jsonl", "link.jsonl"]


def test_inputs_noted_in_a_scope_are_refused(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("data\n")
    with outputs.input_scope():
        outputs.note_input(src)
        with pytest.raises(OutputError, match="input of this command"):
            cache.atomic_write_bytes(src, b"x")
    outputs.note_input(src)  # outside a scope: not remembered
    cache.atomic_write_bytes(src, b"x")
    assert src.read_bytes() == b"x"


def test_atomic_file_refuses_folders_and_special_files(tmp_path):
    with pytest.raises(OutputError, match="existing folder"):
        cache.atomic_write_bytes(tmp_path, b"x")
    with pytest.raises(OutputError, match="character device"):
        cache.atomic_write_bytes(Path("/dev/null"), b"x")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="FIFO"):
        cache.atomic_write_bytes(fifo, b"x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_atomic_file_follows_a_symlink_and_keeps_it(tmp_path):
    real = tmp_path / "sub" / "real.txt"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    cache.atomic_write_bytes(link, b"new")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # a replaced file keeps its permissions
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.txt"]


def test_write_failure_names_the_path_and_reason(tmp_path):
    with pytest.raises(OutputError) as info:
        cache.atomic_write_bytes(Path("/proc/fc-finetune-test.jsonl"), b"x")
    message = str(info.value)
    assert "/proc/fc-finetune-test.jsonl" in message and "/proc" in message and cache.CACHE_ENV not in message
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        cache.atomic_write_bytes(blocker / "out.json", b"x")


def test_long_names_fit_the_temporary(tmp_path):
    target = tmp_path / ("n" * 250)
    cache.atomic_write_bytes(target, b"x")
    assert target.read_bytes() == b"x"


def test_atomic_directory_refuses_a_file_and_a_folder_holding_an_input(tmp_path):
    afile = tmp_path / "f"
    afile.write_text("")
    with pytest.raises(OutputError, match="not a folder"), cache.atomic_directory(afile, overwrite=True):
        pass
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "train.jsonl").write_text("{}\n")
    with pytest.raises(OutputError, match="an input of this command"), \
            cache.atomic_directory(folder, overwrite=True, inputs=[folder / "train.jsonl"]):
        pass
    assert (folder / "train.jsonl").exists()
