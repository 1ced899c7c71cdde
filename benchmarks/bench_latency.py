"""Where the time of one user message goes, with the quickstart model from `make demo` and
the bundled tools (calculator, units, dates, knowledge base), on 12 realistic queries.

* per user message, heads and text mode (the whole loop: decide, call, run, answer):
  medians of the ``selector`` / ``arguments`` / ``execution`` / ``response`` timings, of the
  total, and of the time per assistant turn;
* argument decoding with the argument head, constrained (xgrammar mask, as heads mode does)
  vs unconstrained (plain greedy argmax), from the same prompt and forced call prefix (KV
  cache copied), for the same number of tokens: ms per token and their ratio. Grammars are
  compiled beforehand (they are cached per schema), so this is the per-token mask cost.

Greedy decoding everywhere; bf16 weights as `fc-finetune chat` loads them. Keep it under a
few minutes on 2 cores: ``FC_BENCH_QUERIES`` (default 12) and ``FC_BENCH_MAX_NEW_TOKENS``
(default 48: room for a text-mode call) shrink it. The argument-decoding part runs first and warms the model up.
On a shared, oversubscribed machine ``OMP_NUM_THREADS=1`` is much faster than 2 (spinning
OpenMP threads): ``OMP_NUM_THREADS=1 python benchmarks/run.py latency``.
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from pathlib import Path

MODEL = Path("outputs/smollm2-135m-quickstart")
MAX_CALLS = 1  # per user message: a call and its answer (two assistant turns) at most
QUERIES = [  # (query, the function a good model calls, or None)
    ("What is 17 * 23?", "calculate"),
    ("Compute the square root of 1764 plus 12.", "calculate"),
    ("What is 15% of 240?", "calculate"),
    ("Convert 5 miles to kilometers.", "convert_units"),
    ("How many pounds is 70 kg?", "convert_units"),
    ("What is 100 degrees Fahrenheit in Celsius?", "convert_units"),
    ("How many days are there between 2024-01-15 and 2024-03-01?", "date_difference"),
    ("What date is 90 days after 2025-06-01?", "add_to_date"),
    ("What day of the week was 1969-07-20?", "day_of_week"),
    ("What is the capital of Australia?", "lookup_fact"),
    ("What is the atomic number of gold?", "lookup_fact"),
    ("Hello! Thanks for your help earlier.", None),
]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _modes(model, tok, registry, queries, max_new_tokens: int) -> tuple[list[dict], dict]:
    from fc_finetune.inference.agent import TIMINGS, FunctionCallingAgent

    rows, per_mode = [], {}
    for mode in ("heads", "text"):
        agent = FunctionCallingAgent(model, tok, registry, mode=mode, max_calls_per_turn=MAX_CALLS, timeout_s=10,
                                     max_new_tokens=max_new_tokens)
        stats = {k: [] for k in (*TIMINGS, "total", "per_turn")}
        calls = ok = turns = 0
        for query, _ in queries:
            start = time.perf_counter()
            result = agent.chat([{"role": "user", "content": query}])
            total = time.perf_counter() - start
            for key in TIMINGS:
                stats[key].append(result.stats.timings[key])
            stats["total"].append(total)
            stats["per_turn"].append(total / result.stats.turns)
            calls, ok, turns = calls + len(result.calls), ok + sum(c.ok for c in result.calls), turns + result.stats.turns
        per_mode[mode] = stats
        detail = f"{len(queries)} queries, {turns} assistant turns, {ok}/{calls} calls ok"
        for key in (*TIMINGS, "total", "per_turn"):
            what = {"total": "per user message", "per_turn": "per assistant turn"}.get(key, "per user message")
            rows.append({"measure": f"{mode}_{key}", "value": _median(stats[key]), "unit": "s (median)",
                         "detail": f"{what}; {detail}"})
    ratio = _median(per_mode["heads"]["total"]) / max(_median(per_mode["text"]["total"]), 1e-9)
    rows.append({"measure": "heads_vs_text_total", "value": ratio, "unit": "ratio",
                 "detail": "median heads / median text time per user message (same queries)"})
    return rows, per_mode


def _stepper(decoder, state: dict, e):
    """Feed a token through the KV cache; the argument head's logits for the next one."""
    def step(token):
        if token is not None:
            hid, _ = decoder._feed([token])
            state["h"] = hid[-1]
        return decoder._arguments_logits(state["h"], e)

    return step


def _argument_decoding(model, tok, registry, queries, max_tokens: int) -> list[dict]:
    import torch

    from fc_finetune.data.tool_format import FORMATS
    from fc_finetune.inference.constrained import ArgumentDecodingError, decode_arguments, schema_compiler
    from fc_finetune.inference.heads_decoder import HeadsDecoder, encode_prompt

    fmt = FORMATS[model.call_format]
    decoder = HeadsDecoder(model, tok, fmt, max_new_tokens=max_tokens)
    tools = registry.tools()
    names = [t["function"]["name"] for t in tools]
    compiler = schema_compiler(tok, model.output_layer().weight.shape[0])
    t0 = time.perf_counter()
    for tool in tools:  # compile every grammar first: cached per schema in real use
        compiler.compile(tool["function"]["parameters"], prefix=" ", suffix="}" + fmt.call_close)
    compile_s = time.perf_counter() - t0
    timed = {"constrained": [0.0, 0], "unconstrained": [0.0, 0]}
    failures = 0
    with torch.inference_mode():
        for query, function in queries:
            if function is None:
                continue
            index = names.index(function)
            spec = tools[index]["function"]
            ids, spans, _, _ = encode_prompt(tok, [{"role": "user", "content": query}], tools)
            decoder.past = None
            hidden, _ = decoder._feed(ids)
            span_t = torch.tensor([spans], device=hidden.device)
            mask = torch.ones(1, len(tools), dtype=torch.bool, device=hidden.device)
            e = model.heads.tool_embeddings(hidden[None], span_t, mask)[0, index]
            prefix = fmt.call_prefix(function)
            hidden, _ = decoder._feed(tok(prefix.rstrip(" "), add_special_tokens=False)["input_ids"])
            start_past, start_h = copy.deepcopy(decoder.past), hidden[-1]

            state = {"h": start_h}
            step = _stepper(decoder, state, e)

            t = time.perf_counter()
            try:
                decoded = decode_arguments(step, tok, spec["parameters"], max_tokens=max_tokens, prefix=" ",
                                           suffix="}" + fmt.call_close, compiler=compiler)
                n = len(decoded.token_ids)
            except ArgumentDecodingError:
                failures += 1
                n = max_tokens
            timed["constrained"][0] += time.perf_counter() - t
            timed["constrained"][1] += n
            # The same number of tokens, plain greedy argmax over the argument head's logits.
            decoder.past, state["h"] = start_past, start_h
            t = time.perf_counter()
            logits = step(None)
            for i in range(n):
                token = int(torch.argmax(logits))
                if i + 1 < n:
                    logits = step(token)
            timed["unconstrained"][0] += time.perf_counter() - t
            timed["unconstrained"][1] += n
            decoder.past = None
    ms = {k: 1000 * s / max(n, 1) for k, (s, n) in timed.items()}
    tokens = timed["constrained"][1]
    return [
        {"measure": "args_constrained_ms_per_token", "value": ms["constrained"], "unit": "ms/token",
         "detail": f"{tokens} tokens over {sum(f is not None for _, f in queries)} calls; {failures} hit max_tokens"},
        {"measure": "args_unconstrained_ms_per_token", "value": ms["unconstrained"], "unit": "ms/token",
         "detail": "same prompts, prefix and token counts; greedy argmax of the argument head"},
        {"measure": "args_constrained_overhead_ratio", "value": ms["constrained"] / max(ms["unconstrained"], 1e-9),
         "unit": "ratio", "detail": f"mask cost per token: {ms['constrained'] - ms['unconstrained']:.2f} ms"},
        {"measure": "grammar_compile_all_tools", "value": compile_s, "unit": "s",
         "detail": f"{len(tools)} schemas, once per schema (then cached)"},
    ]


def run() -> list[dict]:
    import torch

    from fc_finetune.model.io import load_tokenizer_for
    from fc_finetune.model.modeling import load_model
    from fc_finetune.tools import REGISTRY

    if not (MODEL / "fc_finetune_config.json").is_file():
        raise SystemExit(f"{MODEL} is missing: run `make demo` first")
    n = int(os.environ.get("FC_BENCH_QUERIES", len(QUERIES)))
    max_new_tokens = int(os.environ.get("FC_BENCH_MAX_NEW_TOKENS", 48))
    queries = QUERIES[:n]
    t = time.perf_counter()
    model, tok = load_model(MODEL, dtype=torch.bfloat16), load_tokenizer_for(MODEL)
    load_s = time.perf_counter() - t
    rows = _argument_decoding(model, tok, REGISTRY, queries, max_new_tokens)
    mode_rows, _ = _modes(model, tok, REGISTRY, queries, max_new_tokens)
    rows = mode_rows + rows
    rows.append({"measure": "model_load", "value": load_s, "unit": "s",
                 "detail": f"{MODEL} (bf16), {len(REGISTRY)} tools offered, max_new_tokens {max_new_tokens}, "
                           f"max_calls_per_turn {MAX_CALLS}"})
    return rows
