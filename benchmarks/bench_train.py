"""Training throughput on SmolLM2-135M: ours (heads on), ours (heads off), ours (heads on,
``torch_compile_regions``), TRL's SFTTrainer.

Same data rendered the same way (the quickstart mix through our tool template; TRL gets
the identical token ids and labels, pre-tokenised), the same LoRA (r 16, all-linear,
dropout 0), batch, maximum length, steps and dtype (bf16 autocast on CPU). Each system
runs in its own process; tokens/s counts non-padding tokens over the timed steps (after
``WARMUP`` steps; ``warmup_s`` is their time, which includes a cold compile for the compiled
system: its inductor cache starts empty). Hardware efficiency = (4 x 135M FLOP/token x tokens/s) / bf16 matmul
peak measured in the same run.

    python benchmarks/run.py train
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH, MAX_LENGTH, STEPS, WARMUP, N_RECORDS = 4, 1024, 12, 2, 400
LORA = {"lora_r": 16, "lora_alpha": 32, "lora_dropout": 0.0}
FLOP_PER_TOKEN = 4 * 135e6
SYSTEMS = ("ours", "ours_heads_off", "ours_compiled", "trl")


def _encoded(tokenizer):
    """Token ids, labels and our extra columns for the first N_RECORDS records that fit."""
    from fc_finetune.data.collate import encode_record
    from fc_finetune.data.render import render_record
    from fc_synthetic import generate_mix

    records, _ = generate_mix(n_train=3 * N_RECORDS, n_eval=0, seed=0, max_tools=3)
    out = []
    for record in records:
        example = encode_record(render_record(record, tokenizer), tokenizer)
        if example["length"] <= MAX_LENGTH:
            out.append(example)
        if len(out) == N_RECORDS:
            return out
    return out


class _Timer:
    def __init__(self):
        from transformers import TrainerCallback

        outer = self

        class Callback(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                outer.begin = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == WARMUP:
                    outer.start, outer.tokens0 = time.perf_counter(), state.num_input_tokens_seen
                if state.global_step == STEPS:
                    outer.end, outer.tokens1 = time.perf_counter(), state.num_input_tokens_seen

        self.callback = Callback()


def child(system: str, out: Path) -> None:
    if system == "ours_compiled":  # a cold compile, not one served from an earlier run's cache
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")
    import datasets
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    from fc_finetune.data.collate import FunctionCallingCollator
    from fc_finetune.data.templates import prepare_tokenizer
    from fc_finetune.evaluation.report import write_json
    from fc_finetune.model.config import HeadArguments, LoraArguments
    from fc_finetune.model.loading import load_causal_lm, load_tokenizer, resolve_model_path

    folder = resolve_model_path("smollm2-135m")
    tokenizer = load_tokenizer(folder)
    prepare_tokenizer(tokenizer)
    examples = _encoded(tokenizer)
    timer = _Timer()
    common = dict(output_dir=tempfile.mkdtemp(), max_steps=STEPS, per_device_train_batch_size=BATCH,
                  learning_rate=2e-4, bf16=True, use_cpu=True, report_to="none", save_strategy="no",
                  logging_steps=1, seed=0, dataloader_num_workers=0, include_num_input_tokens_seen="non_padding",
                  gradient_checkpointing=False)
    if system == "trl":
        from peft import LoraConfig
        from trl import SFTConfig, SFTTrainer

        ds = datasets.Dataset.from_dict({"input_ids": [e["input_ids"] for e in examples],
                                         "labels": [e["labels"] for e in examples]})
        trainer = SFTTrainer(
            model=load_causal_lm(folder, dtype=torch.bfloat16), train_dataset=ds, processing_class=tokenizer,
            args=SFTConfig(max_length=MAX_LENGTH, **common),
            peft_config=LoraConfig(r=LORA["lora_r"], lora_alpha=LORA["lora_alpha"], lora_dropout=0.0,
                                   target_modules="all-linear", task_type="CAUSAL_LM"),
            callbacks=[timer.callback])
    else:
        from fc_finetune.model.modeling import FunctionCallingModel
        from fc_finetune.training.config import FunctionCallingTrainingArguments
        from fc_finetune.training.trainer import FunctionCallingTrainer

        heads_on = system in ("ours", "ours_compiled")
        model = FunctionCallingModel.from_base(
            folder, lora=LoraArguments(**LORA), dtype=torch.bfloat16,
            heads=HeadArguments(selector_head=heads_on, argument_head=heads_on))
        ds = datasets.Dataset.from_list(examples)
        trainer = FunctionCallingTrainer(
            model=model, train_dataset=ds, processing_class=tokenizer,
            args=FunctionCallingTrainingArguments(remove_unused_columns=False, prediction_loss_only=True,
                                                  train_sampling_strategy="group_by_length",
                                                  torch_compile_regions=system == "ours_compiled", **common),
            data_collator=FunctionCallingCollator(tokenizer.pad_token_id), callbacks=[timer.callback])
    trainer.train()
    seconds, tokens = timer.end - timer.start, timer.tokens1 - timer.tokens0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_json(out, {"system": system, "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
                     "peak_rss_mib": rss, "warmup_s": timer.start - timer.begin})


def matmul_peak_gflops(n: int = 2048, repeats: int = 10) -> float:
    import torch

    a, b = torch.randn(n, n, dtype=torch.bfloat16), torch.randn(n, n, dtype=torch.bfloat16)
    for _ in range(2):
        a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def run() -> list[dict]:
    results = {}
    for system in SYSTEMS:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "r.json"
            subprocess.run([sys.executable, __file__, "--child", system, str(out)], check=True)
            results[system] = json.loads(out.read_text())
    peak = matmul_peak_gflops()
    rows = []
    for system in SYSTEMS:
        r = results[system]
        rows.append({"system": system, "tokens_per_s": r["tokens_per_s"], "peak_rss_mib": r["peak_rss_mib"],
                     "warmup_s": r["warmup_s"],
                     "vs_trl": r["tokens_per_s"] / results["trl"]["tokens_per_s"],
                     "vs_heads_off": r["tokens_per_s"] / results["ours_heads_off"]["tokens_per_s"],
                     "hw_efficiency": FLOP_PER_TOKEN * r["tokens_per_s"] / (peak * 1e9),
                     "matmul_peak_gflops": peak, "batch": BATCH, "max_length": MAX_LENGTH,
                     "timed_steps": STEPS - WARMUP})
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
    else:
        print(json.dumps(run(), indent=2))
