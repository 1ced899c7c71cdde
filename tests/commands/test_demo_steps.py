"""The demo's step 2 (the mix, written again when another generator version wrote it), steps 4 (evaluation in both modes) and 5 (the agent loop in heads mode) on a
tiny saved model and a small generated mix: reports written, numbers printed, tools run."""

from __future__ import annotations

import json

from helpers.eval_assets import save_tiny

from fc_finetune.commands.demo import prepare_mix, training_lines
from fc_finetune.commands.demo_eval import exchange, held_out_eval
from fc_synthetic import write_mix
from fc_synthetic.mix import generator_fingerprint


def test_held_out_eval_and_exchange(tmp_path):
    model_dir = save_tiny(tmp_path)["trained"]
    write_mix(tmp_path / "mix", 0, 40, 0, max_tools=2)
    eval_file = tmp_path / "mix" / "eval.jsonl"
    lines = held_out_eval(model_dir, eval_file, tmp_path / "eval", per_kind=1, responses=1)
    assert lines[0].startswith("6 held-out turns")  # one of each of the six kinds
    assert any(line.startswith("call / no-call") for line in lines)
    for mode in ("heads", "text"):
        folder = tmp_path / "eval" / f"trained-{mode}"
        results = json.loads((folder / "results.json").read_text())
        assert results["config"]["mode"] == mode and len(results["examples"]) == 6
        assert (folder / "report.md").is_file() and (folder / "accuracy_by_category.png").is_file()
    assert (tmp_path / "eval" / "comparison").is_dir()

    shown = exchange(model_dir, eval_file)
    assert shown[0].startswith("tools offered:") and shown[1].startswith("user:")
    assert any(line.startswith("selector:") for line in shown)
    assert shown[-2].startswith("assistant:")
    for line in shown:  # every call the loop made ran through the executor and got a result
        if line.startswith("call:"):
            assert shown[shown.index(line) + 1].startswith("result [")


def test_the_demo_writes_the_mix_again_when_another_generator_version_wrote_it(tmp_path, capsys):
    mix = tmp_path / "mix"
    stats = prepare_mix(mix, 30, 10)
    assert stats["fingerprint"] == generator_fingerprint() and (mix / "train.jsonl").is_file()
    written = (mix / "train.jsonl").read_bytes()

    (mix / "train.jsonl").write_text("kept\n")  # the same generator version: the folder is used as it is
    prepare_mix(mix, 30, 10)
    assert (mix / "train.jsonl").read_text() == "kept\n"

    stale = json.loads((mix / "stats.json").read_text()) | {"fingerprint": "0" * 16}  # an earlier version's mix
    (mix / "stats.json").write_text(json.dumps(stale))
    capsys.readouterr()
    assert prepare_mix(mix, 30, 10)["fingerprint"] == generator_fingerprint()
    assert "written by another version of the generator" in capsys.readouterr().out
    assert (mix / "train.jsonl").read_bytes() == written

    own = tmp_path / "own"  # the user's own data, no stats.json from the generator: never rewritten
    own.mkdir()
    (own / "train.jsonl").write_text("mine\n")
    assert prepare_mix(own, 30, 10) == {}
    assert (own / "train.jsonl").read_text() == "mine\n" and not (own / "stats.json").exists()


def test_the_demo_says_when_the_time_budget_cut_the_run():
    summary = {"steps": 66, "tokens_per_s": 219.9, "peak_rss_mib": 4493.9, "final_loss_lm": 0.87,
               "time_budget": {"max_train_minutes": 15.0, "seconds_per_step": 12.62, "estimate_min": 24.0,
                               "recipe_steps": 110, "planned_steps": 66}}
    lines = training_lines(summary, 1103.4)
    assert lines[0] == ("time budget: 66 of the recipe's 110 steps fit max_train_minutes 15 on this host "
                        "(all 110: about 24.0 min)")
    assert lines[1].startswith("66 steps, 219.9 tokens/s") and lines[1].endswith("(1103 s)")
    summary["time_budget"].update(planned_steps=110)  # the budget held the whole run: nothing to say
    summary["steps"] = 110
    assert len(training_lines(summary, 600)) == 1 and len(training_lines({"steps": 4}, 1)) == 1
