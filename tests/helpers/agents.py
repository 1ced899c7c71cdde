"""Tiny agents, faulty tool registries and scripted text-mode turns shared by the inference and command tests."""

import contextlib
import time

import torch

from fc_finetune.data.templates import prepare_tokenizer
from fc_finetune.inference.text_decoder import ParsedTurn
from fc_finetune.model.config import HeadArguments, LoraArguments
from fc_finetune.model.modeling import FunctionCallingModel
from fc_finetune.testing import tiny_model_and_tokenizer
from fc_finetune.tools.registry import FunctionRegistry

USER = [{"role": "user", "content": "hello"}]


def make(arch="llama", seed=0, heads=None, **kwargs):
    lm, tok = tiny_model_and_tokenizer(arch, seed=seed, **kwargs)
    prepare_tokenizer(tok)
    torch.manual_seed(seed)
    model = FunctionCallingModel.from_base(lm, lora=LoraArguments(lora_dropout=0.0), heads=heads or HeadArguments())
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # non-zero LoRA and heads (U, W start at zero), as after training
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return model, tok


@contextlib.contextmanager
def thresholds(model, first=1.01, later=0.0):
    """The selector's thresholds forced for a test (``P(NO_CALL)`` at or above one ends the
    calls): by default a turn's first decision calls and every later one stops; ``later=None``
    puts every decision on ``first``. Both go back to the model's own (``None``) afterwards,
    whatever the test changed them to."""
    model.no_call_threshold, model.more_calls_threshold = first, later
    try:
        yield model
    finally:
        model.no_call_threshold = model.more_calls_threshold = None


def _raises(x: int = 0):
    raise RuntimeError("kaput")


def _hangs(x: int = 0):
    time.sleep(1.0)
    return "late"


def _garbage(x: int = 0):
    return {1, 2, 3}  # a set: not JSON


FAULTS = {"raises": (_raises, "error"), "hangs": (_hangs, "timeout"), "garbage": (_garbage, "bad_result")}


SCHEMA = {"type": "object", "properties": {"x": {"type": "integer", "minimum": 0, "maximum": 9}}, "required": ["x"]}


def fault_registry(*names):
    registry = FunctionRegistry()
    for name in names:
        registry.add(FAULTS[name][0], name=name, schema=SCHEMA)
    return registry


def call_text(name, arguments):
    return f'<tool_call>\n{{"name": "{name}", "arguments": {arguments}}}\n</tool_call>'


def scripted(monkeypatch, turns):
    """Make text mode's generation return ``turns`` (texts) in order, then a plain answer."""
    texts = iter(turns)
    seen = []

    def fake(lm, tokenizer, messages, tools, **kwargs):
        seen.append([dict(m) for m in messages])
        return ParsedTurn(text=next(texts, "All done."))

    monkeypatch.setattr("fc_finetune.inference.engine.generate_turn", fake)
    return seen
