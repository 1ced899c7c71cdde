"""What a model writes where an assistant turn starts, by kind of turn, on held-out records of
the training mix (a dev set of our own, never BFCL): the text-mode call decision and the
answers after tool results.

    python benchmarks/run.py turn_starts                                     # the Qwen CPU recipe's model
    python benchmarks/bench_turn_starts.py --model DIR --limit 30 --threads 2

Kinds: ``call`` (the turn calls), ``no_call`` (a first reply that needs no call),
``after_result`` (the answer after tool results), ``call_after_result`` (another call after
results). Per kind: the median log-probability of the call's opening token (``<tool_call>``
from the model's call format; its first token where the tag is several) at the turn's start,
teacher-forced, and how often it is the most likely token (what greedy text mode writes:
wanted on the call kinds, not on the others).
For ``after_result``, also how many greedy starts (12 tokens) look like a call instead of an
answer: call markup, a JSON object or list, or a code fence.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = Path("outputs/qwen2.5-coder-0.5b-cpu")
DATA = Path("data/mix/eval.jsonl")
KINDS = ("call", "no_call", "after_result", "call_after_result")
CALL_LIKE = ("{", "[", "```")


def turn_kind(messages: list[dict], k: int) -> str:
    after = k > 0 and messages[k - 1]["role"] == "tool"
    if messages[k].get("tool_calls"):
        return "call_after_result" if after else "call"
    return "after_result" if after else "no_call"


def run(model: str | Path = MODEL, data: str | Path = DATA, limit: int = 30, threads: int | None = None) -> list[dict]:
    import torch

    from fc_finetune.data.io import load_records
    from fc_finetune.data.render import render_prompt
    from fc_finetune.data.tool_format import FORMATS
    from fc_finetune.model.modeling import load_for_inference
    from fc_finetune.model.zoo import BUNDLED_MODELS

    if not Path(model).exists() and str(model) not in BUNDLED_MODELS:
        raise SystemExit(f"{model} is missing: train it with `fc-finetune train --config "
                         "recipes/qwen2.5-coder-0.5b/cpu.yaml`, or pass --model")
    if threads:
        torch.set_num_threads(threads)
    model_obj, tokenizer, call_format = load_for_inference(str(model), dtype=torch.float32)
    lm = getattr(model_obj, "lm", model_obj)
    fmt = FORMATS[call_format]
    opening = tokenizer.encode(fmt.call_open.strip(), add_special_tokens=False)[0]
    seen: dict[str, list[tuple[float, bool]]] = {kind: [] for kind in KINDS}
    call_like = []
    for record in load_records(data).records[:limit]:
        messages = record["messages"]
        for k, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            kind = turn_kind(messages, k)
            ids = tokenizer(render_prompt(tokenizer, messages[:k], record["tools"]), return_tensors="pt",
                            add_special_tokens=False).input_ids
            with torch.no_grad():
                if kind == "after_result":  # one prefill: the greedy start brings the first step's logits
                    out = lm.generate(input_ids=ids, max_new_tokens=12, do_sample=False, output_logits=True,
                                      return_dict_in_generate=True)
                    logits = out.logits[0][0]
                    start = tokenizer.decode(out.sequences[0, ids.shape[1]:]).lstrip()
                    call_like.append(start.startswith(CALL_LIKE + fmt.markers))
                else:
                    logits = lm(input_ids=ids).logits[0, -1]
            logp = torch.log_softmax(logits.float(), -1)
            seen[kind].append((logp[opening].item(), int(logp.argmax()) == opening))
    rows = []
    for kind, values in seen.items():
        if values:
            row = {"model": str(model), "kind": kind, "turns": len(values),
                   "median_logp_call_open": round(statistics.median(v for v, _ in values), 2),
                   "call_open_first": sum(first for _, first in values),
                   "starts_like_a_call": sum(call_like) if kind == "after_result" else None}
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(MODEL),
                        help=f"A folder saved by fc-finetune or a bundled alias (default: {MODEL}).")
    parser.add_argument("--data", default=str(DATA), help=f"Held-out records (default: {DATA}).")
    parser.add_argument("--limit", type=int, default=30, help="Records read from the start of --data (default: 30).")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's).")
    args = parser.parse_args(argv)
    for row in run(args.model, args.data, args.limit, args.threads):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
