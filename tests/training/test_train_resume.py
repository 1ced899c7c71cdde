"""Resuming: a run killed with SIGKILL resumes to exactly the weights of an uninterrupted run;
partial or corrupt checkpoints give clear errors (or are skipped by ``true``), never a
silent restart.

Tolerance: none (bitwise equal adapter and heads). On CPU with the same seed, the Trainer
restores the data order (the random sampler is re-seeded and the consumed batches skipped)
and the optimizer and scheduler states. LoRA dropout is 0 in the kill test; the dropout RNG
(rng_state.pth) has a test of its own.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers.train_fixtures import read_safetensors, run_args, tiny_assets  # noqa: F401

from fc_finetune.errors import FcFinetuneError
from fc_finetune.training.run import main
from fc_finetune.training.trainer import COMPLETE_MARKER, last_complete_checkpoint

STEPS, SAVE_EVERY = 6, 2
WEIGHTS = ("adapter_model.safetensors", "fc_heads.safetensors")


def resume_args(assets, out, **overrides) -> list[str]:
    # random sampling (the Trainer's default): the data order must be restored
    options = {"max_steps": STEPS, "save_strategy": "steps", "save_steps": SAVE_EVERY, "lora_dropout": 0.0,
               **overrides}
    return run_args(assets, out, **options)


def assert_same_weights(a: Path, b: Path) -> None:
    for name in WEIGHTS:
        x, y = read_safetensors(a / name), read_safetensors(b / name)
        assert set(x) == set(y), name
        different = [k for k in x if not torch.equal(x[k], y[k])]
        assert different == [], (name, different[:3],
                                 max((x[k] - y[k]).abs().max().item() for k in different) if different else 0)


@pytest.fixture(scope="module")
def reference(tiny_assets, tmp_path_factory) -> Path:  # noqa: F811
    """An uninterrupted run."""
    out = tmp_path_factory.mktemp("uninterrupted")
    assert main(resume_args(tiny_assets, out)) == 0
    return out


@pytest.fixture(scope="module")
def killed(tiny_assets, tmp_path_factory) -> Path:  # noqa: F811
    """The same run in a subprocess, killed with SIGKILL once checkpoint-2 is complete."""
    out = tmp_path_factory.mktemp("killed")
    marker = out / f"checkpoint-{SAVE_EVERY}" / COMPLETE_MARKER
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "fc_finetune.training.run", *resume_args(tiny_assets, out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not marker.is_file():
            if proc.poll() is not None:
                pytest.fail(f"the run ended (rc {proc.returncode}) before its first checkpoint: "
                            f"{proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("no checkpoint within 120 s")
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "fc_finetune_config.json").exists()  # it never got to the end
    assert not (out / f"checkpoint-{STEPS}").exists()
    return out


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(folder, target)
    return target


def fake_partial_checkpoint(out: Path, step: int, *, marker: bool = False) -> Path:
    """checkpoint-<step> as a run killed while writing it leaves it: a truncated adapter file."""
    partial = out / f"checkpoint-{step}"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(out / f"checkpoint-{SAVE_EVERY}", partial)
    (partial / COMPLETE_MARKER).unlink()
    adapter = partial / "adapter_model.safetensors"
    adapter.write_bytes(adapter.read_bytes()[:100])
    if marker:  # a checkpoint damaged after it was written
        (partial / COMPLETE_MARKER).write_text(json.dumps({"global_step": step}))
    return partial


def test_resume_true_after_sigkill_matches_the_uninterrupted_run(killed, reference, tiny_assets, tmp_path,  # noqa: F811
                                                                  caplog):
    out = copy_of(killed, tmp_path)
    # what a kill during the next save leaves behind, newer than the last complete checkpoint
    partial = fake_partial_checkpoint(out, 2 * SAVE_EVERY)
    assert last_complete_checkpoint(out) == out / f"checkpoint-{SAVE_EVERY}"
    with caplog.at_level(logging.INFO):
        assert main(resume_args(tiny_assets, out, resume_from_checkpoint="true")) == 0
    assert any(r.levelno == logging.WARNING and partial.name in r.getMessage() and "not written completely"
               in r.getMessage() for r in caplog.records)
    assert any(f"Resuming from {out / f'checkpoint-{SAVE_EVERY}'}" in r.getMessage() for r in caplog.records)
    assert_same_weights(out, reference)
    assert (partial / COMPLETE_MARKER).is_file()  # rewritten whole by the resumed run


def test_resume_from_an_explicit_checkpoint_matches_too(killed, reference, tiny_assets, tmp_path):  # noqa: F811
    out = copy_of(killed, tmp_path)
    assert main(resume_args(tiny_assets, out, resume_from_checkpoint=out / f"checkpoint-{SAVE_EVERY}")) == 0
    assert_same_weights(out, reference)


def test_explicit_partial_checkpoint_is_a_clear_error(killed, tiny_assets, tmp_path):  # noqa: F811
    out = copy_of(killed, tmp_path)
    partial = fake_partial_checkpoint(out, 2 * SAVE_EVERY)
    with pytest.raises(FcFinetuneError, match="is incomplete") as info:
        main(resume_args(tiny_assets, out, resume_from_checkpoint=partial))
    assert str(partial) in str(info.value) and "--resume_from_checkpoint true" in str(info.value)


def test_explicit_corrupt_checkpoint_is_a_clear_error(killed, tiny_assets, tmp_path):  # noqa: F811
    out = copy_of(killed, tmp_path)
    corrupt = fake_partial_checkpoint(out, 2 * SAVE_EVERY, marker=True)
    with pytest.raises(FcFinetuneError, match="is corrupt") as info:
        main(resume_args(tiny_assets, out, resume_from_checkpoint=corrupt))
    assert str(corrupt) in str(info.value)
    assert not (out / "fc_finetune_config.json").exists()  # nothing was trained or saved


def test_explicit_missing_checkpoint_is_a_clear_error(tiny_assets, tmp_path):  # noqa: F811
    with pytest.raises(FcFinetuneError, match="does not exist"):
        main(resume_args(tiny_assets, tmp_path, resume_from_checkpoint=tmp_path / "checkpoint-4"))


def test_resume_true_without_a_checkpoint_is_an_error_not_a_fresh_start(tiny_assets, tmp_path):  # noqa: F811
    with pytest.raises(FcFinetuneError, match="holds no complete checkpoint"):
        main(resume_args(tiny_assets, tmp_path / "empty", resume_from_checkpoint="true"))
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())


def test_resume_true_with_only_partial_checkpoints_is_an_error(killed, tiny_assets, tmp_path, caplog):  # noqa: F811
    out = copy_of(killed, tmp_path)
    (out / f"checkpoint-{SAVE_EVERY}" / COMPLETE_MARKER).unlink()
    with caplog.at_level(logging.WARNING), pytest.raises(FcFinetuneError, match="holds no complete checkpoint"):
        main(resume_args(tiny_assets, out, resume_from_checkpoint="true"))
    assert any("not written completely" in r.getMessage() for r in caplog.records)


def test_checkpoint_state_files_load_with_weights_only(killed):
    """optimizer.pt, scheduler.pt and rng_state.pth are torch.save'd by the Trainer; transformers 5
    loads them with ``torch.load(weights_only=True)`` (numpy RNG state allowlisted), so they must
    hold nothing but tensors and plain containers. Our own files are safetensors and JSON."""
    from transformers.trainer_pt_utils import safe_globals

    folder = killed / f"checkpoint-{SAVE_EVERY}"
    torch.load(folder / "optimizer.pt", weights_only=True)
    torch.load(folder / "scheduler.pt", weights_only=True)
    with safe_globals():
        rng = torch.load(folder / "rng_state.pth", weights_only=True)
    assert {"python", "numpy", "cpu"} <= set(rng)
    assert not list(folder.glob("*.bin"))  # no pickled training_args.bin: training_args.json instead
    assert (folder / "training_args.json").is_file()


def test_resume_restores_the_dropout_rng(tiny_assets, tmp_path):  # noqa: F811
    """With LoRA dropout on, the masks after resuming are those of the uninterrupted run."""
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    assert main(resume_args(tiny_assets, reference, max_steps=4, lora_dropout=0.05)) == 0
    resumed.mkdir()
    shutil.copytree(reference / f"checkpoint-{SAVE_EVERY}", resumed / f"checkpoint-{SAVE_EVERY}")
    assert main(resume_args(tiny_assets, resumed, max_steps=4, lora_dropout=0.05,
                            resume_from_checkpoint="true")) == 0
    assert_same_weights(resumed, reference)


def damaged_optimizer_checkpoint(out: Path, step: int) -> Path:
    """checkpoint-<step>, marked complete, whose optimizer.pt was truncated afterwards (a full disk,
    a copy cut short)."""
    damaged = out / f"checkpoint-{step}"
    shutil.rmtree(damaged, ignore_errors=True)
    shutil.copytree(out / f"checkpoint-{SAVE_EVERY}", damaged)
    (damaged / COMPLETE_MARKER).write_text(json.dumps({"global_step": step}))
    optimizer = damaged / "optimizer.pt"
    optimizer.write_bytes(optimizer.read_bytes()[: optimizer.stat().st_size // 2])
    return damaged


def test_truncated_optimizer_named_explicitly_is_a_clear_error_naming_the_fallback(killed, tiny_assets,  # noqa: F811
                                                                                     tmp_path, monkeypatch):
    from fc_finetune.training import run

    out = copy_of(killed, tmp_path)
    damaged = damaged_optimizer_checkpoint(out, 2 * SAVE_EVERY)
    monkeypatch.setattr(run, "load_tokenizer", lambda *a, **k: pytest.fail("checked only after loading"))
    with pytest.raises(FcFinetuneError, match="is corrupt: optimizer.pt is truncated") as info:
        main(resume_args(tiny_assets, out, resume_from_checkpoint=damaged))
    message = str(info.value)
    assert str(damaged) in message and str(out / f"checkpoint-{SAVE_EVERY}") in message
    assert "--resume_from_checkpoint true" in message and "\n" not in message


def test_resume_true_falls_back_past_a_truncated_optimizer(killed, reference, tiny_assets, tmp_path,  # noqa: F811
                                                           caplog):
    out = copy_of(killed, tmp_path)
    damaged = damaged_optimizer_checkpoint(out, 2 * SAVE_EVERY)
    assert last_complete_checkpoint(out) == out / f"checkpoint-{SAVE_EVERY}"
    with caplog.at_level(logging.INFO):
        assert main(resume_args(tiny_assets, out, resume_from_checkpoint="true")) == 0
    assert any(r.levelno == logging.WARNING and damaged.name in r.getMessage() and "optimizer.pt" in r.getMessage()
               for r in caplog.records)
    assert_same_weights(out, reference)


def test_checkpoint_damage_finds_a_flipped_byte(tmp_path):
    from fc_finetune.training.trainer import checkpoint_damage

    torch.save({"state": {0: {"exp_avg": torch.arange(4096.0)}}}, tmp_path / "optimizer.pt")
    (tmp_path / "trainer_state.json").write_text("{}")
    assert checkpoint_damage(tmp_path) is None
    data = bytearray((tmp_path / "optimizer.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "optimizer.pt").write_bytes(bytes(data))
    assert "optimizer.pt is damaged" in checkpoint_damage(tmp_path)
    (tmp_path / "optimizer.pt").unlink()
    (tmp_path / "trainer_state.json").write_text("{")
    assert "trainer_state.json is damaged" in checkpoint_damage(tmp_path)
