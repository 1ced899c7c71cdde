"""benchmarks/bench_turn_starts.py on a tiny saved model: every kind of turn is found and counted."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from helpers import ROOT
from helpers.eval_assets import save_tiny

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_turn_starts  # noqa: E402

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}
CALL = {"role": "assistant", "content": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}
RESULT = {"role": "tool", "name": "get_weather", "content": "{\"temp_c\": 3}"}
RECORDS = [
    {"messages": [{"role": "user", "content": "Weather in Oslo?"}, CALL, RESULT,
                  {"role": "assistant", "content": "It is 3 C in Oslo."}], "tools": [TOOL]},
    {"messages": [{"role": "user", "content": "Hi there!"}, {"role": "assistant", "content": "Hello!"}],
     "tools": [TOOL]},
    {"messages": [{"role": "user", "content": "Weather in Oslo, then in Rome?"}, CALL, RESULT,
                  {**CALL, "tool_calls": [{"name": "get_weather", "arguments": {"city": "Rome"}}]},
                  {**RESULT, "content": "{\"temp_c\": 14}"}, {"role": "assistant", "content": "3 C and 14 C."}],
     "tools": [TOOL]},
]


def test_turn_kinds():
    messages = RECORDS[2]["messages"]
    assert [bench_turn_starts.turn_kind(messages, k) for k in (1, 3, 5)] == [
        "call", "call_after_result", "after_result"]
    assert bench_turn_starts.turn_kind(RECORDS[1]["messages"], 1) == "no_call"


def _favouring(monkeypatch, text: str) -> None:
    """run() loads a model whose output layer adds 100 to the logit of ``text``'s first token."""
    from fc_finetune.model import modeling

    load = modeling.load_for_inference

    def load_favouring(*args, **kwargs):
        model, tokenizer, call_format = load(*args, **kwargs)
        token = tokenizer.encode(text, add_special_tokens=False)[0]
        head = getattr(model, "lm", model).get_output_embeddings()
        head.register_forward_hook(lambda module, inputs, logits: logits.index_add(
            -1, torch.tensor([token]), torch.full((*logits.shape[:-1], 1), 100.0)))
        return model, tokenizer, call_format

    monkeypatch.setattr(modeling, "load_for_inference", load_favouring)


@pytest.mark.filterwarnings("ignore")
def test_counts_every_kind_of_turn(tmp_path, monkeypatch):
    model = save_tiny(tmp_path)["trained"]
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    turns = {"call": 2, "no_call": 1, "after_result": 2, "call_after_result": 1}
    # the call's opening tag is the first token everywhere
    _favouring(monkeypatch, "<tool_call>")
    rows = {row["kind"]: row for row in bench_turn_starts.run(model, data, limit=3, threads=1)}
    assert {kind: row["turns"] for kind, row in rows.items()} == turns
    assert {kind: row["call_open_first"] for kind, row in rows.items()} == turns
    assert all(row["median_logp_call_open"] > -0.01 for row in rows.values())
    # a JSON object instead: the tag is never first, and the answers after results start like a call
    monkeypatch.undo()
    _favouring(monkeypatch, "{")
    rows = {row["kind"]: row for row in bench_turn_starts.run(model, data, limit=3, threads=1)}
    assert all(row["call_open_first"] == 0 and row["median_logp_call_open"] < -50 for row in rows.values())
    assert rows["after_result"]["starts_like_a_call"] == 2
    assert bench_turn_starts.run(model, data, limit=1, threads=1)[0]["turns"] == 1
