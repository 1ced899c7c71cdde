"""Training speed and memory of the CPU recipes as a user launches them.

Each recipe runs through ``fc-finetune train --config RECIPE`` in its own process, shortened
to ``STEPS`` optimizer steps, without evaluation, checkpoints or TensorBoard, and calibrated
on ``CALIBRATION`` records only (calibration is timed separately from training by the run
itself). Tokens/s and peak RSS come from the run's own ``train_summary.json``: non-padding
tokens over the training time (the first, slower step included), the process's peak
resident memory. A model not fetched yet is fetched first (Qwen: ~2.5 min, once); the
bundled data must be present:

    fc-finetune data generate --out data/mix --max-tools 3 && fc-finetune data fetch-nestful
    python benchmarks/run.py recipes
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ("recipes/smollm2-135m/quickstart.yaml", "recipes/qwen2.5-coder-0.5b/cpu.yaml")
STEPS, CALIBRATION = 8, 8


def measure(recipe: str, steps: int = STEPS) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        command = [sys.executable, "-m", "fc_finetune", "train", "--config", recipe, "--output_dir", str(out),
                   "--max_steps", str(steps), "--eval_strategy", "no", "--save_strategy", "no",
                   "--report_to", "none", "--max_calibration_samples", str(CALIBRATION)]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        summary = json.loads((out / "train_summary.json").read_text())
    return {"recipe": recipe, "steps": summary["steps"], "tokens": summary["tokens"],
            "train_s": summary["train_runtime_s"], "tokens_per_s": summary["tokens_per_s"],
            "s_per_step": summary["train_runtime_s"] / summary["steps"],
            "peak_rss_mib": summary["peak_rss_mib"], "wall_s": wall}


def run() -> list[dict]:
    import yaml

    from fc_finetune.model.loading import resolve_model_path

    for recipe in RECIPES:  # fetched once, before anything is timed
        resolve_model_path(yaml.safe_load((ROOT / recipe).read_text())["model_name_or_path"])
    rows = [measure(recipe) for recipe in RECIPES]
    base = rows[0]["tokens_per_s"]
    return [{**row, "tokens_per_s_vs_smollm2": row["tokens_per_s"] / base} for row in rows]


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
