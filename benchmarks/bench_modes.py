"""Heads mode vs text mode on the same held-out queries (the first assistant turn of
records spread over data/mix/eval.jsonl), with the quickstart model from `make demo`.

Scores: call / no-call decision, right functions, exact arguments, and how many of the
calls each mode wrote were schema-valid (text-mode calls are parsed, then checked).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

MODEL = Path("outputs/smollm2-135m-quickstart")
EVAL = Path("data/mix/eval.jsonl")
N = 30


def run() -> list[dict]:
    import torch

    from fc_finetune.data.tool_format import FORMATS
    from fc_finetune.evaluation.sets import example_from_record
    from fc_finetune.inference.heads_decoder import HeadsDecoder
    from fc_finetune.inference.text_decoder import generate_turn
    from fc_finetune.model.io import load_tokenizer_for
    from fc_finetune.model.modeling import load_model

    if not (MODEL / "fc_finetune_config.json").is_file() or not EVAL.is_file():
        raise SystemExit(f"{MODEL} or {EVAL} is missing: run `make demo` first")
    model, tok = load_model(MODEL, dtype=torch.bfloat16), load_tokenizer_for(MODEL)
    fmt = FORMATS[model.call_format]
    records = [json.loads(line) for line in EVAL.read_text().splitlines() if line.strip()]
    records = records[1:: max(1, len(records) // N)][:N]
    decoder = HeadsDecoder(model, tok, fmt, max_new_tokens=160)
    scores = {m: {"decision": 0, "function": 0, "arguments": 0, "calls": 0, "schema_valid": 0, "seconds": 0.0}
              for m in ("heads", "text")}
    should_call = 0
    for k, record in enumerate(records):
        example = example_from_record(record, source=str(EVAL), index=k)
        prompt, gold = example.messages, example.reference
        want = [{"name": c["name"], "arguments": c["arguments"]} for c in gold.get("tool_calls") or []]
        should_call += bool(want)
        for mode, s in scores.items():
            t = time.perf_counter()
            if mode == "heads":
                with torch.inference_mode():
                    calls = decoder.turn(prompt, record["tools"], max_calls=4).calls
                written = valid = len(calls)
            else:
                turn = generate_turn(model.lm, tok, prompt, record["tools"], max_new_tokens=160)
                calls = turn.calls  # parsed, then kept only if offered and schema-valid
                written = len(fmt.parse(turn.text)[0])
                valid = len(calls)
            s["seconds"] += time.perf_counter() - t
            s["calls"] += written
            s["schema_valid"] += valid
            s["decision"] += bool(calls) == bool(want)
            if want:
                s["function"] += [c["name"] for c in calls] == [c["name"] for c in want]
                s["arguments"] += calls == want
    return [{"mode": mode, "queries": len(records), "should_call": should_call,
             "decision_acc": s["decision"] / len(records), "function_acc": s["function"] / max(should_call, 1),
             "exact_args": s["arguments"] / max(should_call, 1),
             "schema_valid_calls": f"{s['schema_valid']}/{s['calls']}", "s_per_query": s["seconds"] / len(records)}
            for mode, s in scores.items()]
