"""Test defaults: one thread, no network, and a private cache for every fast test."""

from __future__ import annotations

import logging
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# cli.main's error boundary turns unexpected exceptions into one line; in the suite they must
# propagate, so a bug fails its test with a traceback (the boundary's own tests unset it).
os.environ["FC_FINETUNE_DEBUG"] = "1"

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


class _DeprecationLines(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record):
        message = record.getMessage()
        if "deprecated" in message.lower():
            self.lines.append(f"{record.name}: {message}")


@pytest.fixture(autouse=True)
def no_library_deprecation_lines():
    """transformers and peft log some deprecations (the past_key_values -> cache rename of
    transformers 5.24) through their loggers, which do not propagate and which no warnings
    filter sees: a test whose code makes a library log one fails here, so nothing a user
    runs prints one. (Deprecations raised as warnings fail through pyproject's
    filterwarnings.)"""
    handler = _DeprecationLines()
    loggers = [logging.getLogger(name) for name in ("transformers", "peft", "accelerate", "datasets")]
    for logger in loggers:
        logger.addHandler(handler)
    yield
    for logger in loggers:
        logger.removeHandler(handler)
    assert not handler.lines, "a library logged a deprecation: " + "; ".join(handler.lines)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained-looking model on a base saved to disk, and its saved folder (model and hub tests).
    Imports are inside: conftest loads before every test, and most need no model."""
    from helpers.models import perturb

    from fc_finetune.data.templates import prepare_tokenizer
    from fc_finetune.model.config import HeadArguments, LoraArguments
    from fc_finetune.model.modeling import FunctionCallingModel
    from fc_finetune.testing import tiny_model_and_tokenizer

    root = tmp_path_factory.mktemp("io")
    lm, tok = tiny_model_and_tokenizer("qwen2")
    lm.save_pretrained(root / "base")
    prepare_tokenizer(tok)
    tok.save_pretrained(root / "base")
    model = FunctionCallingModel.from_base(str(root / "base"), lora=LoraArguments(), heads=HeadArguments(),
                                           dtype=torch.float32)
    perturb(model)
    model.eval()
    model.save_pretrained(root / "out", tokenizer=tok)
    return root, model, tok


@pytest.fixture(autouse=True)
def untrained_models_make_up_values(request, monkeypatch):
    """A tiny random model makes up every argument value, so heads mode would not make any of its
    first calls (``HeadsDecoder.drop_ungrounded_calls``), which the tests of the loop's other parts
    need made. Fast tests run with the rule off unless marked ``grounding``; slow ones (real
    models) keep it on, as users do."""
    marked = request.node.get_closest_marker("slow") or request.node.get_closest_marker("grounding")
    if marked is None:
        from fc_finetune.inference.heads_decoder import HeadsDecoder

        monkeypatch.setattr(HeadsDecoder, "drop_ungrounded_calls", False)
    yield
