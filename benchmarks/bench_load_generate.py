"""SmolLM2-135M-Instruct on this CPU: load time and greedy decode speed, bf16 vs fp32.

Median of ``REPEATS`` runs each. The model is fetched into the cache on first use.
"""

from __future__ import annotations

import statistics
import time

REPEATS = 3
NEW_TOKENS = 64
PROMPT = [{"role": "user", "content": "Write a short paragraph about why unit tests matter."}]


def run() -> list[dict]:
    import torch

    from fc_finetune.model.loading import load_causal_lm, load_tokenizer, resolve_model_path

    folder = resolve_model_path("smollm2-135m")
    tok = load_tokenizer(folder)
    inputs = tok.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    rows = []
    for dtype in (torch.bfloat16, torch.float32):
        loads, speeds = [], []
        for _ in range(REPEATS):
            t = time.perf_counter()
            model = load_causal_lm(folder, dtype=dtype).eval()
            loads.append(time.perf_counter() - t)
            with torch.inference_mode():
                t = time.perf_counter()
                out = model.generate(**inputs, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                                     do_sample=False, pad_token_id=tok.pad_token_id)
                seconds = time.perf_counter() - t
            speeds.append((out.shape[1] - inputs["input_ids"].shape[1]) / seconds)
        rows.append({"dtype": str(dtype).removeprefix("torch."), "load_s_median": statistics.median(loads),
                     "decode_tok_per_s_median": statistics.median(speeds), "repeats": REPEATS})
    return rows
