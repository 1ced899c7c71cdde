"""benchmarks/bench_ablation.py without training: every row's training command parses with the
recipe and changes what it says, every row's mix options reach the generator, a finished row is
reused instead of trained again, and the results file keeps the rows of earlier runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_ablation  # noqa: E402


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the recipe's paths are relative to the root


@pytest.mark.parametrize("name", list(bench_ablation.ROWS))
def test_every_row_trains_the_quickstart_recipe_with_its_overrides(name, tmp_path):
    from fc_finetune.training.config import parse_args

    argv = bench_ablation.train_argv(name, tmp_path / name)
    assert argv[1:4] == ["-m", "fc_finetune", "train"]
    model, data, lora, heads, training = parse_args(None, argv[4:])
    assert training.output_dir == str(tmp_path / name / "model")
    assert data.train_data == [str(tmp_path / name / "data" / "train.jsonl")]
    assert training.max_steps == 110  # the quickstart's steps: the same budget for every row
    settings = {**vars(model), **vars(data), **vars(lora), **vars(heads), **vars(training)}
    for key, value in bench_ablation.ROWS[name][1].items():
        assert settings[key] is (value == "true"), key


@pytest.mark.parametrize("name", [n for n, (options, _, _) in bench_ablation.ROWS.items() if options])
def test_every_row_mix_option_reaches_the_generator(name, tmp_path):
    from fc_synthetic import write_mix

    options = bench_ablation.ROWS[name][0]
    stats = write_mix(tmp_path, 40, 10, 0, max_tools=3, **options)
    for key, value in options.items():
        written = stats["proportions_requested"] if key == "proportions" else stats[key]
        assert written == pytest.approx(value), key


def test_a_finished_row_is_reused_only_for_the_same_command(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_ablation, "OUT", tmp_path)
    launched = []

    def train(argv, check):
        launched.append(argv)
        model = Path(argv[argv.index("--output_dir") + 1])
        model.mkdir(parents=True, exist_ok=True)
        (model / "train_summary.json").write_text(json.dumps({"steps": 110}))

    monkeypatch.setattr(bench_ablation.subprocess, "run", train)
    monkeypatch.setattr("fc_synthetic.write_mix", lambda folder, *a, **k: launched.append(folder))
    model = tmp_path / "no_masking" / "model"
    assert bench_ablation._trained("no_masking", None, None) == model
    assert launched[0] == tmp_path / "no_masking" / "data" and launched[1][4:6] == ["--config", str(bench_ablation.RECIPE)]
    launched.clear()
    assert bench_ablation._trained("no_masking", None, None) == model
    assert launched == []  # finished with the same command: reused
    assert bench_ablation._trained("no_masking", 2, None) == model  # other steps: trained again
    assert launched[1][launched[1].index("--max_steps") + 1] == "2"
    launched.clear()
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(bench_ablation.RECIPE.read_text() + "\n# a comment changes nothing\n")
    monkeypatch.setattr(bench_ablation, "RECIPE", recipe)
    bench_ablation._trained("no_masking", 2, None)
    assert launched == []
    recipe.write_text(bench_ablation.RECIPE.read_text().replace("max_length: 1024", "max_length: 1536"))
    bench_ablation._trained("no_masking", 2, None)
    assert len(launched) == 2  # a setting of the recipe changed: trained again
    launched.clear()
    assert bench_ablation._trained("full", None, "outputs/demo-model") == Path("outputs/demo-model")
    assert launched == []  # the given model is scored as the full row, nothing trained


def test_results_keep_the_rows_of_earlier_runs(tmp_path, monkeypatch):
    results = tmp_path / "ablation.json"
    results.write_text(json.dumps({"rows": [{"row": "no_masking", "mode": "heads", "mean": 0.3},
                                            {"row": "heads_off", "mode": "text", "mean": 0.1}]}))
    monkeypatch.setattr(bench_ablation, "RESULTS", results)
    model = tmp_path / "model"
    model.mkdir()
    (model / "train_summary.json").write_text(json.dumps({"steps": 110, "train_runtime_s": 800.0}))
    monkeypatch.setattr(bench_ablation, "_trained", lambda name, steps, full: model)
    monkeypatch.setattr(bench_ablation, "_ensure_data", lambda: None)
    monkeypatch.setattr("fc_finetune.evaluation.bfcl_fetch.load_index", lambda: None)
    monkeypatch.setattr(bench_ablation, "score_all",
                        lambda runs, limit, jobs, root: [{"mean": 0.5, "root": str(root)} for _ in runs])
    rows = bench_ablation.run(["heads_off", "full"], limit=5, jobs=1)
    assert [(r["row"], r["mode"], r["mean"]) for r in rows] == [
        ("full", "heads", 0.5), ("full", "text", 0.5), ("heads_off", "text", 0.5), ("no_masking", "heads", 0.3)]
    assert json.loads(results.read_text())["rows"][-1]["row"] == "full"
    assert rows[0]["root"] == str(bench_ablation.EVAL_OUT / "full") and rows[0]["limit_per_category"] == 5
    with pytest.raises(SystemExit, match="unknown row"):
        bench_ablation.run(["no_such_row"])
