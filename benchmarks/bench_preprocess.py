"""Preprocessing throughput: 10k generated records -> token ids, masks, decision points.

Render + tokenise + map spans with ``encode_dataset`` (``datasets.map``) on the real
SmolLM2 tokenizer with its tool template, at ``num_proc`` 1 and 2. Median of ``REPEATS``.
"""

from __future__ import annotations

import json
import statistics
import time

N_RECORDS = 10_000
REPEATS = 2
MAX_LENGTH = 2048


def run() -> list[dict]:
    import datasets

    from fc_finetune.data.collate import encode_dataset
    from fc_finetune.data.templates import prepare_tokenizer
    from fc_finetune.model.loading import load_tokenizer
    from fc_synthetic import generate_mix

    datasets.disable_caching()
    tokenizer = load_tokenizer("smollm2-135m")
    prepare_tokenizer(tokenizer)
    records, _ = generate_mix(n_train=N_RECORDS, n_eval=0, seed=1)
    ds = datasets.Dataset.from_dict({"record": [json.dumps(r) for r in records]})
    rows = []
    for num_proc in (1, 2):
        times, kept = [], 0
        for _ in range(REPEATS):
            t = time.perf_counter()
            encoded, stats = encode_dataset(ds, tokenizer, max_length=MAX_LENGTH, num_proc=num_proc if num_proc > 1 else None)
            times.append(time.perf_counter() - t)
            kept = len(encoded)
        seconds = statistics.median(times)
        rows.append({"num_proc": num_proc, "records": N_RECORDS, "kept": kept, "seconds_median": seconds,
                     "records_per_s": N_RECORDS / seconds, "tokens_per_record": sum(encoded["length"]) / kept})
    return rows
