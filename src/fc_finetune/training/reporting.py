"""End-of-run output: the saved model, the recipe, a summary, and the loss-curve plot."""

from __future__ import annotations

import json
import logging
import resource
import shutil
import sys
import time
from io import BytesIO
from pathlib import Path

import torch
from transformers import TrainerCallback

from ..hub.push import RECIPE_NAME
from ..model import io
from ..model.modeling import LOSS_TERMS
from ..utils.cache import atomic_write_bytes

logger = logging.getLogger(__name__)

SUMMARY_NAME = "train_summary.json"
PLOT_NAME = "loss_curves.png"


class TrainingSummary(TrainerCallback):
    """Wall time and peak memory of the run."""

    def __init__(self):
        self.started = None
        self.seconds = 0.0
        self.extra: dict = {}  # e.g. the selector calibration, added to train_summary.json

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_train_end(self, args, state, control, **kwargs):
        self.seconds = time.perf_counter() - (self.started or time.perf_counter())


def peak_memory_mib() -> dict[str, float]:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"peak_rss_mib": round(rss / 1024 if sys.platform != "darwin" else rss / 2**20, 1)}
    if torch.cuda.is_available():
        out["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def _last(history: list[dict], key: str):
    for entry in reversed(history):
        if key in entry:
            return entry[key]
    return None


def save_final_model(trainer, output_dir: Path) -> None:
    """Write the model into ``output_dir`` (which also holds checkpoints) without a moment
    where it looks complete but is not: ``trainer.save_model`` writes a staging folder (on
    every process: under FSDP / ZeRO-3 gathering the weights is collective), then the main
    process renames each file into place, the fc-finetune config last (a folder without it
    is not a model)."""
    staging = output_dir / ".final-model"
    if trainer.is_world_process_zero():
        shutil.rmtree(staging, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(staging))
    if not trainer.is_world_process_zero():
        return
    io.move_saved_files(staging, output_dir)


def plot_losses(history: list[dict], path: Path) -> Path | None:
    # matplotlib's backend must be chosen before pyplot is imported: both happen here.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {}
    for prefix, style in (("", "-"), ("eval_", "--")):
        for name in LOSS_TERMS:
            points = [(e["step"], e[prefix + name]) for e in history if prefix + name in e]
            if points:
                series[(prefix + name, style)] = points
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for (label, style), points in series.items():
        ax.plot(*zip(*points, strict=True), style, marker="o" if len(points) < 30 else None, label=label)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_title("fc-finetune: joint loss terms (train solid, eval dashed)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())  # the one writer: temporary file, then rename
    return path


def finish_run(trainer, result, summary: TrainingSummary, *, recipe_yaml: str, plot: bool = True) -> dict:
    """Save everything at the end of training and log a summary; returns the summary dict."""
    output_dir = Path(trainer.args.output_dir)
    save_final_model(trainer, output_dir)
    if not trainer.is_world_process_zero():
        return {}
    atomic_write_bytes(output_dir / RECIPE_NAME, recipe_yaml.encode())
    trainer.save_state()  # trainer_state.json: the whole log history, kept after checkpoints are deleted
    history = trainer.state.log_history
    metrics = result.metrics
    tokens = trainer.state.num_input_tokens_seen or 0
    seconds = metrics.get("train_runtime") or summary.seconds
    info = {
        "steps": trainer.state.global_step,
        "train_runtime_s": round(seconds, 1),
        "tokens": int(tokens),
        "tokens_per_s": round(tokens / seconds, 1) if seconds and tokens else None,
        "samples_per_s": metrics.get("train_samples_per_second"),
        **peak_memory_mib(),
        "final_train_loss": metrics.get("train_loss"),
        **{f"final_{k}": _last(history, k) for k in (*LOSS_TERMS, "select_accuracy")},
        **{k: _last(history, k) for k in ("eval_loss", *(f"eval_{n}" for n in LOSS_TERMS), "eval_select_accuracy")
           if _last(history, k) is not None},
        **summary.extra,
    }
    atomic_write_bytes(output_dir / SUMMARY_NAME, (json.dumps(info, indent=2) + "\n").encode())
    plot_path = plot_losses(history, output_dir / PLOT_NAME) if plot else None
    lines = [f"  {k}: {v}" for k, v in info.items() if v is not None]
    logger.info("Run summary (%s):\n%s", output_dir, "\n".join(lines))
    logger.info("Model: %s | plot: %s | summary: %s", output_dir, plot_path or "-", output_dir / SUMMARY_NAME)
    return info
