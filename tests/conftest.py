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


@pytest.fixture(scope="session")
def tiny_tok():
    from fc_finetune.testing import tiny_tokenizer

    return tiny_tokenizer()
