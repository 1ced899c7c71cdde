"""Test defaults: one thread, no network, and a private cache for every fast test."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def private_cache(request, tmp_path_factory, monkeypatch):
    """Fast tests get an empty cache of their own; slow tests use the real one (real model)."""
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setenv("FC_FINETUNE_CACHE", str(tmp_path_factory.mktemp("fc-cache")))
    yield


@pytest.fixture(autouse=True)
def no_leaked_compile_settings():
    """TrainingArguments with torch_compile (and our torch_compile_regions) write
    ACCELERATE_DYNAMO_* into os.environ, where every later Trainer of the process would read
    them: after each test they are put back as they were."""
    def dynamo_env():
        return {k: v for k, v in os.environ.items() if k.startswith("ACCELERATE_DYNAMO_")}

    before = dynamo_env()
    yield
    for name in dynamo_env():
        os.environ.pop(name)
    os.environ.update(before)


@pytest.fixture(scope="session")
def tiny_tok():
    from fc_finetune.testing import tiny_tokenizer

    return tiny_tokenizer()
