"""Ablation of the quickstart, one command: every row trains the quickstart recipe (the same
steps, so the same CPU budget) on a mix with one part of the data engine switched off, or
without the heads, and is scored on the same BFCL subsets.

    python benchmarks/run.py ablation                       # every row, first 50 per category (hours on 2 cores)
    python benchmarks/bench_ablation.py --rows heads_off,no_masking --limit 20
    python benchmarks/bench_ablation.py --full-model outputs/smollm2-135m-quickstart   # `make demo`'s model as "full"
    python benchmarks/bench_ablation.py --max-steps 2 --limit 2 --rows full   # a quick check that it runs

Rows (``ROWS``): the full engine in heads mode and in text mode (the same adapter); heads off
(plain LoRA, text mode); the selector without its request match (and without its coverage or
pending-value features); no function masking; no library tools among the distractors (the
engine's real, documented functions: the mix holds no third-party records); no irrelevance
augmentation (the old 15 % share of irrelevant requests, no look-alike tools); no
repeated-call parallel turns (the old 15 % parallel share, no "repeat with X instead of Y").
Choices were made on the dev sets (the mix's eval split, NESTFUL), never on BFCL; BFCL is the
report.

The command resumes: a row whose folder already holds a finished training of the same command
(the row's options, its steps and the recipe's settings, kept in ``trained_with.json``) is scored
without training again, and ``benchmarks/results/ablation.json`` is rewritten after every row,
keeping the rows of earlier runs that this one does not score.
Models go to outputs/bench_ablation/<row>/, reports to outputs/eval/bench_ablation/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_quality import DEV_SET, RECIPE, _ensure_data, score_all  # noqa: E402

OUT = Path("outputs/bench_ablation")
EVAL_OUT = Path("outputs/eval/bench_ablation")
RESULTS = HERE / "results" / "ablation.json"
OLD_SHARES = {"single": 0.35, "parallel": 0.15, "sequential": 0.12, "multi_turn": 0.13,
              "no_call_irrelevant": 0.15, "no_call_chitchat": 0.10}
# row -> (mix options, training overrides, modes scored)
ROWS: dict[str, tuple[dict, dict, tuple[str, ...]]] = {
    "full": ({}, {}, ("heads", "text")),
    "heads_off": ({}, {"selector_head": "false", "argument_head": "false"}, ("text",)),
    "no_request_match": ({}, {"request_match": "false"}, ("heads",)),
    "no_match_coverage": ({}, {"match_coverage": "false"}, ("heads",)),
    "no_match_pending": ({}, {"match_pending": "false"}, ("heads",)),
    "no_masking": ({"mask_rate": 0.0}, {}, ("heads",)),
    "no_library_tools": ({"library_rate": 0.0}, {}, ("heads",)),
    "no_irrelevance_augmentation": (
        {"lookalike_rate": 0.0, "near_miss_rate": 0.0, "proportions": {**OLD_SHARES, "parallel": 0.22, "single": 0.28}}, {}, ("heads",)),
    "no_parallel_repeats": (
        {"repeat_rate": 0.0, "proportions": {**OLD_SHARES, "no_call_irrelevant": 0.27, "single": 0.23}}, {},
        ("heads",)),
}


def train_argv(name: str, folder: Path, max_steps: int | None = None) -> list[str]:
    """The `fc-finetune train` command of one row: the quickstart recipe on the row's mix."""
    argv = [sys.executable, "-m", "fc_finetune", "train", "--config", str(RECIPE), "--output_dir",
            str(folder / "model"), "--train_data", str(folder / "data" / "train.jsonl"),
            "--eval_data", str(folder / "data" / "eval.jsonl"), "--calibration_data", str(DEV_SET)]
    for key, value in ROWS[name][1].items():
        argv += [f"--{key}", value]
    if max_steps is not None:
        argv += ["--max_steps", str(max_steps), "--eval_steps", str(max_steps), "--save_steps", str(max_steps)]
    return argv


def _trained(name: str, max_steps: int | None, full_model: str | None) -> Path:
    """The row's model folder, trained unless a finished training of the same command (the row's
    options, its steps and the recipe's settings; comments aside) is already there."""
    from fc_finetune.evaluation.report import write_json
    from fc_synthetic import write_mix

    if name == "full" and full_model:
        return Path(full_model)
    folder = OUT / name
    model = folder / "model"
    argv = train_argv(name, folder, max_steps)
    command = {"argv": [a for a in argv[1:] if a != str(RECIPE)], "recipe": yaml.safe_load(RECIPE.read_text()),
               "mix": ROWS[name][0]}
    done = folder / "trained_with.json"
    if (model / "train_summary.json").is_file() and done.is_file() and json.loads(done.read_text()) == command:
        print(f"[ablation] {name}: reusing the finished training in {model}", flush=True)
        return model
    done.unlink(missing_ok=True)
    write_mix(folder / "data", 3000, 300, 0, max_tools=3, **ROWS[name][0])
    subprocess.run(argv, check=True)
    write_json(done, command)
    return model


def _previous() -> list[dict]:
    try:
        return json.loads(RESULTS.read_text())["rows"]
    except (OSError, ValueError, KeyError):
        return []


def run(rows: list[str] | None = None, limit: int = 50, max_steps: int | None = None,
        jobs: int = os.cpu_count() or 1, full_model: str | None = None) -> list[dict]:
    from fc_finetune.evaluation.bfcl_fetch import load_index
    from fc_finetune.evaluation.report import write_json

    names = rows or list(ROWS)
    unknown = [name for name in names if name not in ROWS]
    if unknown:
        raise SystemExit(f"bench_ablation: unknown row(s) {', '.join(unknown)}; the rows are {', '.join(ROWS)}")
    load_index()  # the BFCL data must be fetched (`fc-finetune data fetch-bfcl`)
    _ensure_data()
    for name in names:
        model = _trained(name, max_steps, full_model)
        summary = json.loads((model / "train_summary.json").read_text())
        modes = ROWS[name][2]
        scores = score_all([(model, mode) for mode in modes], limit, jobs, EVAL_OUT / name)
        results = [r for r in _previous() if r.get("row") != name]  # read now: another run may have added rows
        for mode, score in zip(modes, scores, strict=True):
            results.append({"row": name, "mode": mode, "steps": summary["steps"],
                            "train_s": summary["train_runtime_s"], "limit_per_category": limit, **score})
        write_json(RESULTS, {"rows": results})
    order = {name: k for k, name in enumerate(ROWS)}
    return sorted(_previous(), key=lambda r: (order.get(r["row"], len(order)), r["mode"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default=None, help=f"Comma-separated rows (default: all of {', '.join(ROWS)}).")
    parser.add_argument("--limit", type=int, default=50, help="Questions per BFCL category (default: 50).")
    parser.add_argument("--max-steps", type=int, default=None, help="Override the recipe's steps (quick checks).")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="Evaluations run side by side, one thread each (default: the CPU count).")
    parser.add_argument("--full-model", default=None,
                        help="Score this model as the 'full' row instead of training it: a quickstart model "
                             "trained on data/mix, e.g. `make demo`'s outputs/smollm2-135m-quickstart.")
    args = parser.parse_args(argv)
    rows = run(args.rows.split(",") if args.rows else None, args.limit, args.max_steps, args.jobs, args.full_model)
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
