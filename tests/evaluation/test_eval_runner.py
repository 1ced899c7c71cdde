"""The evaluation runner in heads and text mode on a tiny model: per-example records whose
verdicts agree with the AST matcher, the report files and plots, the BFCL summary, the
comparison and the model-card numbers. Text-mode generation is scripted where the test needs
known outputs (a correct call, unparsable JSON, an unclosed tag, a plain answer)."""

from __future__ import annotations

import json

import pytest
import torch
from helpers.eval_assets import (
    EXPECTED_REASONS,
    PNG_MAGIC,
    scripted_text,
    tiny_fc_model,
    write_eval_file,
)

from fc_finetune.evaluation.ast_match import match_calls
from fc_finetune.evaluation.compare import write_comparison
from fc_finetune.evaluation.report import build_results, write_report
from fc_finetune.evaluation.runner import EvalModel, RunOptions, expected_answers, run_examples, to_json
from fc_finetune.evaluation.sets import load_eval_set
from fc_synthetic.registry import catalogue_registry

# What the scripted "model" writes, by the last user message (or, for response generation, the last tool turn).










# ------------------------------------------------------------------------------ tests
@pytest.fixture(scope="module")
def tiny():
    model, tok, fmt = tiny_fc_model()
    return EvalModel("tiny", "tiny", model.lm, tok, fmt.name, model)


@pytest.fixture()
def examples(tmp_path):
    return load_eval_set(str(write_eval_file(tmp_path))).examples


def check_consistent(records, examples):
    assert [r["id"] for r in records] == [e.id for e in examples]
    for record, example in zip(records, examples, strict=True):
        if record["verdict"]["reason"] == "invalid_output":
            continue
        match = match_calls(record["calls"], expected_answers(example), example.tools)
        assert (record["verdict"]["ok"], record["verdict"]["reason"]) == (match.ok, match.reason), record["id"]


def check_report(results, paths, n):
    summary = results["summary"]
    assert summary["overall"]["n"] == n == sum(s["n"] for s in summary["categories"].values())
    assert sum(summary["overall"]["reasons"].values()) == n
    assert summary["overall"]["correct"] == sum(r["verdict"]["ok"] for r in results["examples"])
    assert sum(summary["decision_confusion"].values()) == n
    for name in ("results", "report", "eval_results"):
        assert paths[name].is_file(), name
    pngs = [p for k, p in paths.items() if k.startswith("plot_")]
    assert pngs and all(p.read_bytes()[:8] == PNG_MAGIC for p in pngs)
    assert json.loads(paths["results"].read_text())["summary"] == summary
    assert "## Summary" in paths["report"].read_text()
    return pngs


def test_heads_mode_records_report_and_plots(tiny, examples, tmp_path):
    options = RunOptions(mode="heads", max_new_tokens=12, max_calls=2, responses=2, progress=False)
    records = to_json(run_examples(tiny, examples, options))
    check_consistent(records, examples)
    for record in records:
        p = record["selector"]["p_no_call"]
        assert 0.0 <= p <= 1.0 and record["seconds"] >= 0
        assert record["schema_valid"] == len(record["calls"])  # heads mode writes schema-valid calls only
    scored = [r for r in records if "response" in r]
    assert len(scored) == 2 and all(0.0 <= r["response"]["rouge_l"] <= 1.0 for r in scored)
    results = build_results({"model": "tiny", "mode": "heads", "data": "eval.jsonl", "kind": "file"},
                            records, ["single", "no_call"], kind="file")
    pngs = check_report(results, write_report(results, tmp_path / "out"), len(examples))
    assert {p.name for p in pngs} == {"accuracy_by_category.png", "decision_confusion.png", "calibration.png",
                                      "failure_reasons.png"}
    assert results["summary"]["calibration"]["n"] == len(examples)
    assert results["summary"]["overall"]["responses"] == 2


def test_text_mode_judges_raw_output(tiny, examples, tmp_path, monkeypatch):
    batches = scripted_text(monkeypatch)
    options = RunOptions(mode="text", batch_size=3, responses=5, progress=False,
                         fallback_registry=catalogue_registry())  # runs the mix's calls
    records = to_json(run_examples(tiny, examples, options))
    assert [r["verdict"]["reason"] for r in records] == EXPECTED_REASONS
    assert batches[:2] == [3, 1]  # batched through generate_turns, then the rest alone
    check_consistent(records, examples)
    paris, london, chat, tokyo = records
    assert paris["execution"] == {"run": 1, "ok": 1, "statuses": ["ok"]}  # the catalogue's own implementation
    assert london["calls_written"] == 1 and london["schema_valid"] == 0 and london["execution"] is None
    assert "never closed" in tokyo["verdict"]["detail"]
    assert chat["score"]["decision_ok"] and "selector" not in chat
    assert paris["response"]["rouge_l"] == pytest.approx(1.0)  # the script answers exactly the reference
    results = build_results({"model": "tiny", "mode": "text", "data": "eval.jsonl", "kind": "file"},
                            records, ["single", "no_call"], kind="file")
    overall = results["summary"]["overall"]
    assert overall["invalid_output"] == 2 and overall["ast_accuracy"] == 0.5
    assert overall["execution_success"] == 1.0 and overall["responses"] == 3
    pngs = check_report(results, write_report(results, tmp_path / "out"), len(examples))
    assert "calibration.png" not in {p.name for p in pngs}
    assert "invalid_output" in (tmp_path / "out" / "report.md").read_text()


def test_text_mode_is_also_read_leniently(tiny, examples, tmp_path, monkeypatch):
    from helpers import eval_assets

    monkeypatch.setitem(eval_assets.SCRIPT, "weather in tokyo",
                        '```json\n{"name": "get_current_weather", "arguments": {"city": "tokyo"}}\n```')
    scripted_text(monkeypatch)
    records = to_json(run_examples(tiny, examples, RunOptions(mode="text", progress=False)))
    strict = [r["verdict"]["reason"] for r in records]
    lenient = [r["lenient"]["verdict"]["reason"] for r in records]
    assert strict == ["correct", "invalid_output", "correct", "no_call"]
    assert lenient == ["correct", "invalid_output", "correct", "correct"]
    assert records[3]["calls"] == [] and records[3]["lenient"]["calls"][0]["arguments"] == {"city": "tokyo"}
    results = build_results({"model": "tiny", "mode": "text", "data": "eval.jsonl", "kind": "file"},
                            records, ["single", "no_call"], kind="file")
    overall = results["summary"]["overall"]
    assert (overall["ast_accuracy"], overall["ast_accuracy_lenient"]) == (0.5, 0.75)
    write_report(results, tmp_path / "out")
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Read leniently" in report and "**75.0%** (strict: 50.0%)" in report
    heads = build_results({"model": "tiny", "mode": "heads", "data": "eval.jsonl", "kind": "file"},
                          [{k: v for k, v in r.items() if k != "lenient"} for r in records], ["single"], kind="file")
    assert heads["summary"]["overall"]["ast_accuracy_lenient"] is None


def test_bfcl_summary_is_the_unweighted_mean_and_compare(tmp_path):
    def record(cat, ok):
        return {"id": cat, "category": cat, "verdict": {"ok": ok, "reason": "correct" if ok else "wrong_value",
                                                         "detail": ""},
                "score": {"should_call": True, "called": True, "decision_ok": True, "function_ok": True,
                          "arguments_exact": None}, "calls_written": 1, "schema_valid": 1, "execution": None,
                "seconds": 0.1, "prompt": [{"role": "user", "content": "q"}], "expected": [], "output": ""}

    records = [record("simple_python", True)] * 3 + [record("simple_python", False)] + [record("multiple", False)]
    runs = []
    for mode in ("heads", "text"):
        results = build_results({"model": "m", "mode": mode, "data": "bfcl:simple_python,multiple", "kind": "bfcl",
                                 "limit": 4}, records, ["simple_python", "multiple"], kind="bfcl")
        assert results["summary"]["headline"]["value"] == pytest.approx((0.75 + 0.0) / 2)
        assert results["summary"]["overall"]["ast_accuracy"] == pytest.approx(0.6)
        paths = write_report(results, tmp_path / mode)
        entries = json.loads(paths["eval_results"].read_text())
        assert {e["dataset_type"] for e in entries} == {"bfcl"} and all("value" in e for e in entries)
        assert "BFCL summary" in paths["report"].read_text()
        runs.append(tmp_path / mode)
    markdown, paths = write_comparison([runs[0], runs[1] / "results.json"], tmp_path / "cmp")
    assert "| m (heads) | bfcl:simple_python,multiple (first 4) | 75.0% | 0.0% | 37.5% |" in markdown
    assert paths["plot"].read_bytes()[:8] == PNG_MAGIC and paths["markdown"].is_file()
    table = json.loads(paths["json"].read_text())
    assert table["columns"] == ["simple_python", "multiple", "summary"] and len(table["rows"]) == 2


def test_model_card_results_merge(tmp_path):
    from fc_finetune.evaluation.report import merge_eval_results

    path = tmp_path / "eval_results.json"
    first = {"dataset_type": "bfcl", "dataset_name": "a", "metric_name": "x (heads mode)", "metric_type": "accuracy",
             "value": 0.1}
    merge_eval_results(path, [first])
    merged = merge_eval_results(path, [{**first, "value": 0.2}, {**first, "metric_name": "x (text mode)"}])
    assert [e["value"] for e in merged] == [0.2, 0.1] and len(json.loads(path.read_text())) == 2


def test_heads_mode_records_mark_probes_and_dropped_calls():
    """The eval record of a decision says when a call was tried after NO_CALL (``probe``) and
    when a decision's call was dropped (``dropped``): forced as in the agent's own probe test
    (a call, then NO_CALL at every later decision; every request token tagged as a value)."""
    from helpers.agents import fault_registry, make

    from fc_finetune.evaluation.sets import EvalExample

    model, tok = make()
    tools = fault_registry("raises").tools()
    examples = [EvalExample("digits", "parallel", [{"role": "user", "content": "pick one of 0 1 2 3 4 5 6 7 8 9"}],
                            tools, possible_answers=[{"raises": {"x": [1]}}]),
                EvalExample("hello", "simple", [{"role": "user", "content": "hello"}], tools,
                            possible_answers=[{"raises": {"x": [1]}}])]
    model.no_call_threshold, model.more_calls_threshold = 1.01, 0.0
    with torch.no_grad():
        model.heads.match.value.zero_()
        model.heads.match.value[-1] = 1.0
    options = RunOptions(mode="heads", max_new_tokens=24, max_calls=3, responses=0, progress=False)
    digits, hello = to_json(run_examples(EvalModel("tiny", "tiny", model.lm, tok, model.call_format, model),
                                         examples, options))
    assert len(digits["calls"]) == 3
    assert [(d["choice"], d.get("probe"), d.get("dropped")) for d in digits["selector"]["decisions"]] == \
        [("raises", None, None), (None, "raises", None), (None, "raises", None)]
    assert len(hello["calls"]) == 1
    assert [(d["choice"], d.get("probe"), d.get("dropped")) for d in hello["selector"]["decisions"]] == \
        [("raises", None, None), (None, "raises", True)]
