"""Ablation of the quickstart, one command: every row trains the quickstart recipe (the same
steps, so the same CPU budget) on a mix with one part of the data engine switched off, or
without the heads, and is scored on the same BFCL subsets.

    python benchmarks/run.py ablation                       # every row, first 50 per category (hours on 2 cores)
    python benchmarks/bench_ablation.py --rows full,no_masking --limit 20
    python benchmarks/bench_ablation.py --max-steps 2 --limit 2 --rows full   # a quick check that it runs

Rows (``ROWS``): the full engine in heads mode and in text mode (the same adapter); heads off
(plain LoRA, text mode); the selector without its request match; no function masking; no library tools
among the distractors; no irrelevance augmentation (the old 15 % share
of irrelevant requests, no look-alike tools); no repeated-call parallel turns (the old 15 %
parallel share, no "repeat with X instead of Y"). Choices were made on the dev sets (the mix's
eval split, NESTFUL), never on BFCL; BFCL is the report.
Writes benchmarks/results/ablation.json and the reports under outputs/eval/bench_ablation/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_quality import RECIPE, score  # noqa: E402

OUT = Path("outputs/bench_ablation")
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
        {"repeat_rate": 0.0, "proportions": {**OLD_SHARES, "no_call_irrelevant": 0.27, "single": 0.30}}, {},
        ("heads",)),
}


def run(rows: list[str] | None = None, limit: int = 50, max_steps: int | None = None) -> list[dict]:
    from fc_finetune.evaluation.bfcl_fetch import load_index
    from fc_synthetic import write_mix

    load_index()
    results = []
    for name in rows or list(ROWS):
        mix_options, overrides, modes = ROWS[name]
        folder = OUT / name
        write_mix(folder / "data", 3000, 300, 0, max_tools=3, **mix_options)
        argv = [sys.executable, "-m", "fc_finetune", "train", "--config", str(RECIPE), "--output_dir",
                str(folder / "model"), "--train_data", str(folder / "data" / "train.jsonl"),
                "--eval_data", str(folder / "data" / "eval.jsonl")]
        for key, value in overrides.items():
            argv += [f"--{key}", value]
        if max_steps is not None:
            argv += ["--max_steps", str(max_steps), "--eval_steps", str(max_steps), "--save_steps", str(max_steps)]
        subprocess.run(argv, check=True)
        summary = json.loads((folder / "model" / "train_summary.json").read_text())
        for mode in modes:
            row = {"row": name, "mode": mode, "steps": summary["steps"], "train_s": summary["train_runtime_s"]}
            row.update(score(folder / "model", mode, limit, Path("outputs/eval/bench_ablation") / f"{name}-{mode}"))
            results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default=None, help=f"Comma-separated rows (default: all of {', '.join(ROWS)}).")
    parser.add_argument("--limit", type=int, default=50, help="Questions per BFCL category (default: 50).")
    parser.add_argument("--max-steps", type=int, default=None, help="Override the recipe's steps (quick checks).")
    args = parser.parse_args(argv)
    rows = run(args.rows.split(",") if args.rows else None, args.limit, args.max_steps)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "ablation.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
