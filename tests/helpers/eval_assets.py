"""A tiny saved model, an evaluation file and scripted text-mode output shared by the evaluation and command tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from fc_synthetic import BY_NAME

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

WEATHER, CONVERT = BY_NAME["get_current_weather"].tool(), BY_NAME["convert_temperature"].tool()


def _call(city: str) -> dict:
    return {"name": "get_current_weather", "arguments": {"city": city}}


def eval_records() -> list[dict]:
    def weather(city):
        return {"messages": [{"role": "user", "content": f"weather in {city}"},
                             {"role": "assistant", "content": "", "tool_calls": [_call(city)]},
                             {"role": "tool", "name": "get_current_weather", "content": '{"temperature": 9}'},
                             {"role": "assistant", "content": f"it is 9 degrees in {city}"}],
                "tools": [WEATHER, CONVERT], "meta": {"kind": "single"}}

    chat = {"messages": [{"role": "user", "content": "hello how are you"},
                         {"role": "assistant", "content": "i am fine thank you"}],
            "tools": [WEATHER, CONVERT], "meta": {"kind": "no_call"}}
    return [weather("paris"), weather("london"), chat, weather("tokyo")]


def write_eval_file(folder: Path) -> Path:
    path = Path(folder) / "eval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in eval_records()))
    return path


SCRIPT = {
    "weather in paris": '<tool_call>\n{"name": "get_current_weather", "arguments": {"city": "paris"}}\n</tool_call>',
    "weather in london": '<tool_call>\n{"name": "get_current_weather", "arguments": {city: london}}\n</tool_call>',
    "hello how are you": "i am fine thank you",
    "weather in tokyo": '<tool_call>\n{"name": "get_current_weather", "arguments": {"city": "tok',
}


EXPECTED_REASONS = ["correct", "invalid_output", "correct", "invalid_output"]


def scripted_text(monkeypatch) -> list[int]:
    """Replace text-mode generation by :data:`SCRIPT`; returns the list of batch sizes seen."""
    from fc_finetune.data.tool_format import FORMATS
    from fc_finetune.inference.text_decoder import parse_turn

    batches: list[int] = []

    def answer(messages, tools, call_format):
        last = messages[-1]
        text = "it is 9 degrees in paris" if last["role"] == "tool" else SCRIPT[last["content"]]
        return parse_turn(text, tools, FORMATS[call_format])

    def generate_turns(lm, tokenizer, items, *, call_format="hermes", max_new_tokens=256, batch_size=8, **_):
        batches.append(len(items))
        return [answer(m, t, call_format) for m, t in items]

    def generate_turn(lm, tokenizer, messages, tools, *, call_format="hermes", max_new_tokens=256, **_):
        batches.append(1)
        return answer(messages, tools, call_format)

    monkeypatch.setattr("fc_finetune.inference.engine.generate_turns", generate_turns)
    monkeypatch.setattr("fc_finetune.inference.engine.generate_turn", generate_turn)
    return batches


def perturb(model, seed: int = 0) -> None:
    """Non-zero LoRA and heads (U and W start at zero), as after training."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * 0.05)


def tiny_fc_model():
    from fc_finetune.data.templates import prepare_tokenizer
    from fc_finetune.model.config import HeadArguments, LoraArguments
    from fc_finetune.model.modeling import FunctionCallingModel
    from fc_finetune.testing import tiny_model_and_tokenizer

    lm, tok = tiny_model_and_tokenizer("llama")
    fmt = prepare_tokenizer(tok)
    torch.manual_seed(0)
    model = FunctionCallingModel.from_base(lm, lora=LoraArguments(lora_dropout=0.0), heads=HeadArguments())
    perturb(model)
    model.eval()
    return model, tok, fmt


def save_tiny(root: Path) -> dict[str, Path]:
    """A base model folder and a trained-looking fc-finetune folder on it."""
    from fc_finetune.data.templates import prepare_tokenizer
    from fc_finetune.model.config import HeadArguments, LoraArguments
    from fc_finetune.model.modeling import FunctionCallingModel
    from fc_finetune.testing import tiny_model_and_tokenizer

    lm, tok = tiny_model_and_tokenizer("llama")
    lm.save_pretrained(root / "base")
    tok.save_pretrained(root / "base")
    prepare_tokenizer(tok)
    model = FunctionCallingModel.from_base(str(root / "base"), lora=LoraArguments(lora_dropout=0.0),
                                           heads=HeadArguments(), dtype=torch.float32)
    perturb(model)
    model.save_pretrained(root / "trained", tokenizer=tok)
    return {"base": root / "base", "trained": root / "trained"}


def offline_pip(monkeypatch) -> list[str]:
    """BFCL's ``pip download`` as on a machine without the package index; returns the
    ``package==version`` of every attempt."""
    from fc_finetune.evaluation import bfcl_fetch

    attempts: list[str] = []

    def download_wheel(package, version, dest, *, error):
        attempts.append(f"{package}=={version}")
        raise error(f"'pip download {package}=={version}' failed (exit 1):\nNo matching distribution.")

    monkeypatch.setattr(bfcl_fetch, "download_wheel", download_wheel)
    return attempts
