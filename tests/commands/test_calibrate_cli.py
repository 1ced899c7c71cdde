"""`fc-finetune calibrate`: the selector's temperature and NO_CALL threshold refitted on a
dev file and written atomically into the model folder (or only reported with --dry-run)."""

from __future__ import annotations

import json

import pytest
from helpers.eval_assets import save_tiny

from fc_finetune.cli import main
from fc_finetune.model.io import CONFIG_NAME
from fc_finetune.model.modeling import load_model
from fc_synthetic import write_mix


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibrate")
    model_dir = save_tiny(root)["trained"]
    write_mix(root / "mix", 0, 30, 0, max_tools=2)
    return model_dir, root / "mix" / "eval.jsonl"


def test_dry_run_reports_and_changes_nothing(setup, capsys):
    model_dir, data = setup
    before = (model_dir / CONFIG_NAME).read_bytes()
    assert main(["calibrate", "--model", str(model_dir), "--data", str(data), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "decision points" in out and "current:" in out and "refitted:" in out
    assert (model_dir / CONFIG_NAME).read_bytes() == before


def test_calibration_is_written_and_loaded(setup, capsys):
    model_dir, data = setup
    assert main(["calibrate", "--model", str(model_dir), "--data", str(data)]) == 0
    config = json.loads((model_dir / CONFIG_NAME).read_text())
    cal = config["selector_calibration"]
    assert cal["decisions"] >= 30 and cal["data"] == str(data)
    assert config["selector_temperature"] == cal["temperature"] and 0 < config["no_call_threshold"] < 1
    model = load_model(model_dir)
    assert model.selector_temperature == pytest.approx(cal["temperature"])
    assert model.no_call_threshold == pytest.approx(cal["no_call_threshold"])
    assert cal["more_calls_data"] == str(data)


def test_more_calls_threshold_from_another_file(setup, tmp_path, capsys):
    """--more-calls-data: the decisions after calls come from that file; the rest from --data."""
    model_dir, data = setup
    no_calls = tmp_path / "fresh_only.jsonl"  # the records whose turns make no call: nothing after calls
    no_calls.write_text("".join(line + "\n" for line in data.read_text().splitlines()
                                if '"tool_calls"' not in line))
    argv = ["calibrate", "--model", str(model_dir), "--data", str(no_calls), "--dry-run"]
    assert main(argv) == 0
    assert "more-calls threshold not fitted (0 decisions after calls" in capsys.readouterr().out
    assert main([*argv, "--more-calls-data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "more-calls threshold not fitted (0" not in out and "decisions after calls" in out


def test_clear_errors(setup, tmp_path, capsys):
    model_dir, data = setup
    assert main(["calibrate", "--model", str(tmp_path), "--data", str(data)]) == 2
    assert "not a folder written by `fc-finetune train`" in capsys.readouterr().err
    few = tmp_path / "few.jsonl"
    few.write_text("".join(line + "\n" for line in data.read_text().splitlines()[:1]))
    assert main(["calibrate", "--model", str(model_dir), "--data", str(few)]) == 2
    assert "at least 10" in capsys.readouterr().err
    missing = tmp_path / "missing.jsonl"
    assert main(["calibrate", "--model", str(model_dir), "--data", str(data), "--more-calls-data", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and len(err.strip().splitlines()) == 1
