"""Shared material for the training tests: a tiny base model on disk, short synthetic data,
and the command-line arguments of a tiny CPU run.

Each helper builds its files once per test process (cached), so importing the fixtures
into several test modules costs one build.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

# Records longer than this (characters of JSON) are left out: the tiny BPE tokenizer spends
# about one token per 2-3 characters, and attention cost grows with the square of the length.
MAX_RECORD_CHARS = 1800


def _trim_tools(record: dict) -> dict:
    """Offer the called functions plus one other (the selector still has a choice to make)."""
    called = set(record["meta"]["functions"])
    keep = [t for t in record["tools"] if t["function"]["name"] in called]
    others = [t for t in record["tools"] if t["function"]["name"] not in called]
    return {**record, "tools": keep + others[:1]}


def short_records(records: list[dict], count: int) -> list[dict]:
    trimmed = [_trim_tools(r) for r in records]
    short = [r for r in trimmed if len(json.dumps(r["messages"]) + json.dumps(r["tools"])) <= MAX_RECORD_CHARS]
    if len(short) < count:
        raise AssertionError(f"only {len(short)} short records, {count} needed")
    return short[:count]


@functools.cache
def _build(root: str, n_train: int = 24, n_eval: int = 8) -> dict[str, str]:
    from fc_finetune.data.io import write_jsonl
    from fc_finetune.data.schema import validate_record
    from fc_finetune.testing import tiny_model_and_tokenizer
    from fc_synthetic import generate_mix

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    model, tokenizer = tiny_model_and_tokenizer("llama")
    model.save_pretrained(root / "base")
    tokenizer.save_pretrained(root / "base")
    train, evaluation = generate_mix(n_train=8 * n_train, n_eval=8 * n_eval, seed=0)
    train, evaluation = short_records(train, n_train), short_records(evaluation, n_eval)
    for record in train + evaluation:
        validate_record(record)
    write_jsonl(train, root / "train.jsonl")
    write_jsonl(evaluation, root / "eval.jsonl")
    return {"root": str(root), "base": str(root / "base"), "train": str(root / "train.jsonl"),
            "eval": str(root / "eval.jsonl")}


@pytest.fixture(scope="session")
def tiny_assets(tmp_path_factory) -> dict[str, str]:
    """Paths: ``base`` (tiny Llama + tokenizer folder), ``train`` and ``eval`` (JSONL)."""
    return _build(str(tmp_path_factory.getbasetemp() / "fc-train-assets"))


def run_args(assets: dict[str, str], output_dir, *, max_steps: int = 4, eval_data: bool = False,
             **overrides) -> list[str]:
    """Flags of a tiny deterministic CPU run; ``overrides`` add or replace options."""
    options = {
        "model_name_or_path": assets["base"], "dtype": "float32", "use_cpu": "true", "report_to": "none",
        "train_data": assets["train"], "output_dir": str(output_dir), "max_steps": str(max_steps),
        "per_device_train_batch_size": "4", "per_device_eval_batch_size": "4", "max_length": "1024",
        "logging_steps": "1", "save_strategy": "no", "lora_r": "4", "lora_alpha": "8", "learning_rate": "1e-3",
        "seed": "0", "disable_tqdm": "true", "dataloader_num_workers": "0", "plot_losses": "false",
    }
    if eval_data:
        options.update(eval_data=assets["eval"], eval_strategy="steps", eval_steps=str(max_steps // 2 or 1))
    options.update({k: str(v) for k, v in overrides.items()})
    argv = []
    for key, value in options.items():
        argv += [f"--{key}", value]
    return argv


def read_safetensors(path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))
