"""``fc-finetune eval`` end to end on tiny saved models: heads mode on a trained folder (with
the model-card numbers), text mode on a base model with a --tools registry, --compare, and
the clear errors (heads on a base model, bad --data, BFCL not fetched)."""

from __future__ import annotations

import json
import sys

import pytest
from helpers.eval_assets import (
    EXPECTED_REASONS,
    PNG_MAGIC,
    offline_pip,
    save_tiny,
    scripted_text,
    write_eval_file,
)

from fc_finetune.cli import main

TOOLS_MODULE = '''
from fc_finetune.tools.registry import FunctionRegistry

registry = FunctionRegistry()
calls = []


@registry.register(isolation="thread")  # the test reads `calls`
def get_current_weather(city: str, unit: str = "celsius") -> dict:
    """Weather now.

    Args:
        city: the city
        unit: celsius or fahrenheit
    """
    calls.append(city)
    return {"city": city, "temperature": 9}
'''


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval-cli")
    paths = save_tiny(root)
    paths["data"] = write_eval_file(root)
    return paths


def test_heads_mode_writes_report_and_model_card_numbers(saved, tmp_path, capsys):
    out = tmp_path / "heads"
    rc = main(["eval", "--model", str(saved["trained"]), "--data", str(saved["data"]), "--mode", "heads",
               "--limit", "1", "--out", str(out), "--max-new-tokens", "8", "--responses", "1", "--dtype", "float32",
               "--write-model-card-results"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "AST accuracy" in printed and str(out / "report.md") in printed
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["mode"] == "heads" and results["config"]["limit"] == 1
    assert results["config"]["model"] == "trained" and results["config"]["versions"]["torch"]
    assert [e["category"] for e in results["examples"]] == ["single", "no_call"]  # first 1 per category
    assert (out / "calibration.png").read_bytes()[:8] == PNG_MAGIC
    card = json.loads((saved["trained"] / "eval_results.json").read_text())
    assert not (out / "eval_results.json").exists()
    assert {"dataset_type", "dataset_name", "metric_type", "metric_name", "value"} <= set(card[0])
    from fc_finetune.hub.push import build_model_card

    assert "AST accuracy (heads mode)" in build_model_card(saved["trained"], repo_id="me/tiny")


def test_text_mode_on_a_base_model_with_a_tools_registry(saved, tmp_path, monkeypatch, capsys):
    (tmp_path / "eval_cli_tools.py").write_text(TOOLS_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    scripted_text(monkeypatch)
    out = tmp_path / "text"
    rc = main(["eval", "--model", str(saved["base"]), "--data", str(saved["data"]), "--mode", "text",
               "--out", str(out), "--dtype", "float32", "--tools", "eval_cli_tools:registry", "--no-responses"])
    assert rc == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert [e["verdict"]["reason"] for e in results["examples"]] == EXPECTED_REASONS
    assert results["summary"]["overall"]["executed"] == 1 and results["summary"]["overall"]["responses"] == 0
    assert sys.modules["eval_cli_tools"].calls == ["paris"]
    assert json.loads((out / "eval_results.json").read_text())[0]["metric_name"] == "AST accuracy (text mode)"
    rc = main(["eval", "--compare", str(out), str(out / "results.json"), "--out", str(tmp_path / "cmp")])
    assert rc == 0
    assert "| base (text) [" in capsys.readouterr().out
    assert (tmp_path / "cmp" / "comparison.png").read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(("extra", "message"), [
    (["--mode", "heads"], "the base model has no trained heads; use --mode text"),
    (["--data", "nope.jsonl"], "nope.jsonl: no such file"),
    (["--data", "bfcl:simple_python"], "fc-finetune data fetch-bfcl"),
    (["--data", "bfcl:multi_turn_base"], "multi-turn or agentic"),
    (["--tools", "no_such_module_x:registry"], "cannot import module"),
])
def test_clear_errors(saved, tmp_path, capsys, monkeypatch, extra, message):
    offline_pip(monkeypatch)  # BFCL is fetched on first use: here the index is out of reach
    options = {"--model": str(saved["base"]), "--data": str(saved["data"]), "--mode": "text",
               "--out": str(tmp_path / "o"), "--dtype": "float32", **dict(zip(extra[::2], extra[1::2], strict=True))}
    argv = ["eval", *(part for item in options.items() for part in item)]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_usage_errors(tmp_path, capsys):
    assert main(["eval", "--data", "x.jsonl"]) == 2
    assert "needs --model and --data" in capsys.readouterr().err
    assert main(["eval", "--compare", str(tmp_path)]) == 2
    assert "neither a results.json" in capsys.readouterr().err
