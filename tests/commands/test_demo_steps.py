"""The demo's steps 4 (evaluation in both modes) and 5 (the agent loop in heads mode) on a
tiny saved model and a small generated mix: reports written, numbers printed, tools run."""

from __future__ import annotations

import json

from helpers.eval_assets import save_tiny

from fc_finetune.commands.demo_eval import exchange, held_out_eval
from fc_synthetic import write_mix


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
