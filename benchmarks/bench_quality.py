"""Quality against the peer, in one run: TRL's SFTTrainer + LoRA versus fc-finetune (heads mode
and text mode on the same adapter), on the same base, the same data and the same CPU budget,
scored on the same BFCL subsets.

    python benchmarks/run.py quality                                   # 15 CPU minutes each, first 50 per category
    python benchmarks/bench_quality.py --budget-s 60 --limit 3         # a quick check that everything runs
    python benchmarks/bench_quality.py --ours outputs/smollm2-135m-quickstart   # reuse `make demo`'s model

* base: SmolLM2-135M-Instruct (``smollm2-135m``); data: the bundled mix (``data/mix/train.jsonl``,
  written as `make demo` writes it when missing), rendered through the same tool template, so
  TRL trains on the identical token ids with the identical assistant-only labels;
* ours: the quickstart recipe (about 15 minutes of training here), its own settings;
* TRL: ``SFTTrainer`` + peft LoRA as its docs recommend (r 16, alpha 32, all linear layers,
  learning rate 2e-4, batch 4, constant schedule after 10 warm-up steps), in the precision the
  quickstart's ``dtype: fastest`` picks on this machine (bf16 with autocast where the CPU has
  AVX512-BF16 or AMX, else float32), stopped when its training time reaches the budget; the adapter
  is merged and saved as a plain model with the same tool template;
* score: BFCL AST accuracy on the first ``--limit`` questions of simple_python, multiple,
  parallel, parallel_multiple and irrelevance (``bfcl:summary``); BFCL is never used for training
  or choices. The ratio ours / TRL per category is the figure.

Writes benchmarks/results/quality.json and the reports under outputs/eval/bench_quality/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA_DIR = Path("data/mix")
DEV_SET = Path("data/nestful/dev.jsonl")  # `make demo`'s calibration set (NESTFUL, never BFCL)
RECIPE = ROOT / "recipes" / "smollm2-135m" / "quickstart.yaml"
OUT = Path("outputs/bench_quality")
EVAL_OUT = Path("outputs/eval/bench_quality")
BUDGET_S, LIMIT, MAX_LENGTH = 900, 50, 1024
CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")


def _ensure_data() -> None:
    """The mix and the calibration dev set, prepared by the code `make demo` prepares them with."""
    from fc_finetune.commands.demo import prepare_mix
    from fc_finetune.data.nestful import write_dev_set

    prepare_mix(DATA_DIR)
    if not DEV_SET.is_file():
        write_dev_set(DEV_SET)


def train_trl(out: Path, budget_s: float) -> dict:
    """The peer: SFTTrainer + LoRA on the same token ids and labels, stopped at ``budget_s``."""
    import datasets
    import torch
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from fc_finetune.data.collate import encode_record
    from fc_finetune.data.io import load_records
    from fc_finetune.data.render import render_record
    from fc_finetune.data.templates import prepare_tokenizer
    from fc_finetune.model.loading import load_causal_lm, load_tokenizer, resolve_model_path
    from fc_finetune.utils.hardware import fastest_dtype

    folder = resolve_model_path("smollm2-135m")
    tokenizer = load_tokenizer(folder)
    prepare_tokenizer(tokenizer)
    examples = []
    for record in load_records(DATA_DIR / "train.jsonl").records:
        ex = encode_record(render_record(record, tokenizer), tokenizer)
        if ex["length"] <= MAX_LENGTH:
            examples.append({"input_ids": ex["input_ids"], "labels": ex["labels"]})
    ds = datasets.Dataset.from_list(examples).shuffle(seed=0)
    clock = {}

    class Budget(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            clock["start"] = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if time.perf_counter() - clock["start"] >= budget_s:
                control.should_training_stop = True

    precision = fastest_dtype(cpu=True)  # what the quickstart's `dtype: fastest` trains ours in here
    trainer = SFTTrainer(
        model=load_causal_lm(folder, dtype=getattr(torch, precision)), train_dataset=ds, processing_class=tokenizer,
        args=SFTConfig(output_dir=str(out / "run"), max_steps=100_000, per_device_train_batch_size=4,
                       learning_rate=2e-4, lr_scheduler_type="constant_with_warmup", warmup_steps=10,
                       max_length=MAX_LENGTH, use_cpu=True, bf16=precision == "bfloat16", report_to="none", save_strategy="no",
                       logging_steps=10, seed=0, dataloader_num_workers=0, gradient_checkpointing=False,
                       include_num_input_tokens_seen="non_padding"),
        peft_config=LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                               task_type="CAUSAL_LM"),
        callbacks=[Budget()])
    trainer.train()
    seconds = time.perf_counter() - clock["start"]
    merged = trainer.model.merge_and_unload()
    merged.save_pretrained(out / "model", safe_serialization=True)
    tokenizer.save_pretrained(out / "model")
    return {"steps": trainer.state.global_step, "train_s": round(seconds, 1),
            "tokens": int(trainer.state.num_input_tokens_seen), "examples": len(ds), "dtype": precision}


def train_ours(out: Path) -> dict:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fc_finetune", "train", "--config", str(RECIPE), "--output_dir", str(out),
                    "--train_data", str(DATA_DIR / "train.jsonl"), "--eval_data", str(DATA_DIR / "eval.jsonl"),
                    "--calibration_data", str(DEV_SET)],
                   check=True)
    summary = json.loads((out / "train_summary.json").read_text())
    return {"steps": summary["steps"], "train_s": summary["train_runtime_s"], "tokens": summary["tokens"],
            "wall_s": round(time.perf_counter() - start, 1)}


def _eval_argv(model_dir: Path, mode: str, category: str, limit: int, root: Path = EVAL_OUT) -> tuple[list[str], Path]:
    out = root / f"{model_dir.parent.name}-{model_dir.name}-{mode}" / category
    return ([sys.executable, "-m", "fc_finetune", "eval", "--model", str(model_dir), "--data", f"bfcl:{category}",
             "--mode", mode, "--limit", str(limit), "--dtype", "float32", "--no-progress", "--no-responses", "--out", str(out)], out)


def score_all(runs: list[tuple[Path, str]], limit: int, jobs: int, root: Path = EVAL_OUT) -> list[dict]:
    """BFCL AST accuracy per category of bfcl:summary (first ``limit`` each) and their unweighted
    mean (BFCL's summary), for each (model folder, mode) in ``runs``. Every (model, mode, category)
    is one `fc-finetune eval` process on one thread, ``jobs`` of them at a time: evaluation is
    deterministic, so running them side by side changes the time, never a verdict."""
    from concurrent.futures import ThreadPoolExecutor

    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    work = [(model_dir, mode, cat) for model_dir, mode in runs for cat in CATEGORIES]

    def one(item: tuple[Path, str, str]) -> float:
        argv, out = _eval_argv(*item, limit, root)
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
        summary = json.loads((out / "results.json").read_text())["summary"]
        return summary["categories"][item[2]]["ast_accuracy"]

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        accuracies = list(pool.map(one, work))
    rows = []
    for k, _ in enumerate(runs):
        row = dict(zip(CATEGORIES, accuracies[k * len(CATEGORIES):(k + 1) * len(CATEGORIES)], strict=True))
        row["mean"] = round(sum(row.values()) / len(CATEGORIES), 4)
        rows.append(row)
    return rows


def run(budget_s: float = BUDGET_S, limit: int = LIMIT, ours: str | None = None,
        jobs: int = 1) -> list[dict]:
    from fc_finetune.evaluation.bfcl_fetch import load_index

    load_index()  # the BFCL data must be fetched (`fc-finetune data fetch-bfcl`)
    _ensure_data()
    OUT.mkdir(parents=True, exist_ok=True)
    # each system trains in its own process: the same clean start, and peak memory stays per run
    subprocess.run([sys.executable, __file__, "--child-trl", str(OUT / "trl"), str(budget_s)], check=True)
    trl_info = json.loads((OUT / "trl" / "info.json").read_text())
    if ours:
        ours_dir = Path(ours)
        summary = json.loads((ours_dir / "train_summary.json").read_text())
        ours_info = {"steps": summary["steps"], "train_s": summary["train_runtime_s"], "tokens": summary["tokens"]}
    else:
        ours_dir = OUT / "ours"
        ours_info = train_ours(ours_dir)
    trl_row, heads_row, text_row = score_all([(OUT / "trl" / "model", "text"), (ours_dir, "heads"),
                                              (ours_dir, "text")], limit, jobs)
    rows = [{"system": "TRL SFTTrainer + LoRA", "mode": "text", **trl_info, **trl_row},
            {"system": "fc-finetune", "mode": "heads", **ours_info, **heads_row},
            {"system": "fc-finetune", "mode": "text", **ours_info, **text_row}]
    peer = rows[0]
    for row in rows[1:]:
        row["mean_vs_trl"] = round(row["mean"] / peer["mean"], 2) if peer["mean"] else None
    for row in rows:
        row.update({"budget_s": budget_s, "limit_per_category": limit})
    return rows


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 4 and sys.argv[1] == "--child-trl":
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        info = train_trl(out, float(sys.argv[3]))
        from fc_finetune.evaluation.report import write_json

        write_json(out / "info.json", info)
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-s", type=float, default=BUDGET_S, help=f"TRL's training seconds (default: {BUDGET_S}).")
    parser.add_argument("--limit", type=int, default=LIMIT, help=f"Questions per BFCL category (default: {LIMIT}).")
    parser.add_argument("--ours", default=None, help="A quickstart model already trained on data/mix (default: train one).")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="Evaluations run side by side, one thread each (default: the CPU count).")
    args = parser.parse_args(argv)
    from fc_finetune.evaluation.report import write_json  # after parsing: --help imports no torch
    rows = run(args.budget_s, args.limit, args.ours, args.jobs)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    write_json(results / "quality.json", {"rows": rows})
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
