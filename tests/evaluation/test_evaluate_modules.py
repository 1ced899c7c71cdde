"""The bundled `evaluate` modules load by path, offline, and compute exact values."""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from fc_finetune.evaluation.metrics import MODULES, module_path

evaluate = pytest.importorskip("evaluate")

TOOLS = [{"type": "function", "function": {"name": "add", "description": "Sum.", "parameters": {
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}]


@pytest.fixture
def load(tmp_path, monkeypatch):
    """evaluate.load with every cache in tmp_path and the Hub switched off."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    # evaluate reads these when it is imported, which may have happened already
    monkeypatch.setattr(evaluate.config, "HF_MODULES_CACHE", tmp_path / "modules")
    monkeypatch.setattr(evaluate.config, "HF_METRICS_CACHE", tmp_path / "metrics")
    monkeypatch.setattr(evaluate.config, "HF_EVALUATE_OFFLINE", True)
    monkeypatch.setattr(evaluate.config, "HF_UPDATE_DOWNLOAD_COUNTS", False)
    monkeypatch.setattr(sys, "path", list(sys.path))  # evaluate appends its modules folder
    _forget_dynamic_modules()  # a package imported from another test's folder would shadow this one

    def _load(name):
        return evaluate.load(module_path(name), cache_dir=str(tmp_path / "metrics"), keep_in_memory=True)

    yield _load
    _forget_dynamic_modules()
    assert not (tmp_path / "hf" / "hub").exists()


def _forget_dynamic_modules():
    for name in [m for m in sys.modules if m == "evaluate_modules" or m.startswith("evaluate_modules.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_every_module_has_its_script():
    for name in MODULES:
        assert (module_path(name).rsplit("/", 1)[1]) == name


def test_fc_ast_match(load):
    metric = load("fc_ast_match")
    answers = [{"add": {"a": [1], "b": [2]}}]
    predictions = [[{"name": "add", "arguments": {"a": 1, "b": 2}}], [{"name": "add", "arguments": {"a": 1, "b": 3}}],
                   [], [{"name": "add", "arguments": {"a": 1, "b": 2}}]]
    references = [{"possible_answers": answers, "tools": TOOLS}] * 3 + [{"possible_answers": None, "tools": TOOLS}]
    result = metric.compute(predictions=[json.dumps(p) for p in predictions],
                            references=[json.dumps(r) for r in references])
    assert result == {"ast_accuracy": 0.25, "reasons": {"correct": 1, "no_call": 1, "unexpected_call": 1,
                                                         "wrong_value": 1}}


def test_fc_call_metrics(load):
    metric = load("fc_call_metrics")
    right = [{"name": "add", "arguments": {"a": 1, "b": 2}}]
    predictions = [right, [{"name": "add", "arguments": {"a": 1, "b": "2"}}], [], right]
    references = [{"tool_calls": right, "tools": TOOLS}] * 3 + [{"tool_calls": [], "tools": TOOLS}]
    result = metric.compute(predictions=[json.dumps(p) for p in predictions],
                            references=[json.dumps(r) for r in references])
    counts = result.pop("counts")
    assert result == {"call_decision_accuracy": 0.5, "function_selection_accuracy": 2 / 3,
                      "irrelevance_accuracy": 0.0, "argument_exact_match": 1 / 3, "ast_accuracy": 0.25,
                      "full_call_accuracy": 0.25, "schema_validity": 2 / 3}
    assert counts["schema_validity"] == {"correct": 2, "total": 3}


def test_fc_response(load):
    metric = load("fc_response")
    result = metric.compute(predictions=["the cat sat on the mat"], references=["the cat is on the mat"])
    assert result["rouge_l"] == pytest.approx(5 / 6)
    assert result["bleu"] == pytest.approx((1 / 48) ** 0.25)
