"""The demo's held-out evaluation (steps 4) and its function-calling exchange (step 5).

Step 4 runs the real evaluation (:mod:`fc_finetune.evaluation`) on the first examples of
each kind in the held-out file, in heads mode and in text mode with the same loaded model,
and writes both reports and their comparison. Step 5 runs the agent loop in heads mode on
one held-out request: the tools are the synthetic catalogue's pure-Python implementations,
run through the executor (schema check, timeout), and their results go back to the model.
"""

from __future__ import annotations

import json
from pathlib import Path

METRICS = (("decision_accuracy", "call / no-call"), ("function_accuracy", "right functions"),
           ("exact_arguments", "exact arguments"), ("ast_accuracy", "AST match"),
           ("schema_validity", "schema-valid calls"), ("execution_success", "calls that ran"))


def _rate(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def held_out_eval(model_dir: Path, eval_file: Path, out_dir: Path, *, per_kind: int, responses: int = 6) -> list[str]:
    """Evaluate ``model_dir`` in both modes on ``per_kind`` examples of each kind; report lines."""
    # Imported when the command runs: the command line imports every command module at start-up.
    from fc_synthetic.registry import catalogue_registry

    from ..evaluation.compare import write_comparison
    from ..evaluation.runner import RunOptions, evaluate, load_eval_model

    model = load_eval_model(str(model_dir), mode="heads")
    overall, written = {}, []
    for mode in ("heads", "text"):
        options = RunOptions(mode=mode, max_new_tokens=160, responses=responses, progress=True,
                             fallback_registry=catalogue_registry())
        results, paths = evaluate(str(model_dir), str(eval_file), options, limit=per_kind,
                                  out=out_dir / f"{model.name}-{mode}", model=model)
        overall[mode] = results["summary"]["overall"]
        written.append(out_dir / f"{model.name}-{mode}")
    _, compared = write_comparison(written, out_dir / "comparison")
    n = overall["heads"]["n"]
    lines = [f"{n} held-out turns ({per_kind} of each kind; {overall['heads']['should_call']} should call)",
             f"{'':22}{'heads':>8}{'text':>8}"]
    for key, label in METRICS:
        lines.append(f"{label:22}{_rate(overall['heads'].get(key)):>8}{_rate(overall['text'].get(key)):>8}")
    for mode in ("heads", "text"):
        rouge = overall[mode].get("rouge_l")
        if rouge is not None:
            lines.append(f"final answers after the gold tool results ({mode}): ROUGE-L {rouge:.2f}, "
                         f"BLEU {overall[mode]['bleu']:.2f} over {overall[mode]['responses']}")
    lines.append(f"reports (results.json, report.md, plots): {', '.join(str(p) for p in written)}")
    lines.append(f"comparison: {next(iter(compared.values())).parent}")
    return lines


def exchange(model_dir: Path, eval_file: Path) -> list[str]:
    """One request through the agent loop in heads mode, shown as it happens."""
    # Imported when the command runs: the command line imports every command module at start-up.
    from fc_synthetic.registry import catalogue_registry

    from ..inference.agent import FunctionCallingAgent
    from ..model.io import load_tokenizer_for
    from ..model.modeling import load_model
    from ..utils.hardware import FASTEST, torch_dtype

    records = [json.loads(line) for line in Path(eval_file).read_text().splitlines() if line.strip()]
    # A single call to a function seen in training (step 4 covers the held-out ones).
    record = next(r for r in records if r["meta"].get("kind") == "single" and not r["meta"].get("heldout_function"))
    messages = record["messages"][: next(i for i, m in enumerate(record["messages"]) if m["role"] == "assistant")]
    registry = catalogue_registry(t["function"]["name"] for t in record["tools"])
    model = load_model(model_dir, dtype=torch_dtype(FASTEST))  # bfloat16 only where the hardware has it
    agent = FunctionCallingAgent(model, load_tokenizer_for(model_dir), registry, mode="heads", max_calls_per_turn=3,
                                 max_new_tokens=160)
    lines = [f"tools offered: {', '.join(registry.names())}", f"user: {messages[-1]['content']}"]

    def show(event: dict) -> None:
        if event["type"] == "decision":
            p = event.get("p_no_call")
            lines.append(f"selector: {event['function'] or 'NO_CALL'}" + (f" (P(NO_CALL) {p:.2f})" if p is not None else ""))
        elif event["type"] == "call":
            lines.append(f"call: {event['name']}({json.dumps(event['arguments'], ensure_ascii=False)})")
        elif event["type"] == "result":
            lines.append(f"result [{event['status']}]: {str(event['content'])[:160]}")
        elif event["type"] in ("problem", "call_limit"):
            lines.append(f"{event['type']}: {event.get('text', event.get('max_calls'))}")

    result = agent.chat(messages, on_event=show)
    lines.append(f"assistant: {result.response}")
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.stats.timings.items())
    lines.append(f"({result.stats.turns} model turns; {timings})")
    return lines
