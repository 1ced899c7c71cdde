"""The demo's short held-out evaluation and its one exchange (text mode, real tools).

The tools are the synthetic catalogue's own implementations (pure Python, no network);
only calls that name an offered tool and fit its schema are executed.
"""

from __future__ import annotations

import json
from pathlib import Path


def load_trained(folder: Path):
    import torch

    from ..model_io import load_model, load_tokenizer_for

    model = load_model(folder, dtype=torch.bfloat16)
    return model, load_tokenizer_for(folder)


def first_turn(record: dict) -> tuple[list[dict], dict]:
    """The conversation up to the first assistant turn, and that turn (the reference)."""
    messages = record["messages"]
    i = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:i], messages[i]


def held_out_eval(model, tokenizer, eval_file: Path, *, n: int) -> dict:
    from ..text_mode import generate_turn

    records = [json.loads(line) for line in Path(eval_file).read_text().splitlines() if line.strip()]
    records = records[:: max(1, len(records) // n)][:n]  # spread over the file: every kind of example
    counts = {"decision": 0, "function": 0, "arguments": 0, "calls_expected": 0, "rejected": 0}
    for record in records:
        prompt, gold = first_turn(record)
        turn = generate_turn(model.lm, tokenizer, prompt, record["tools"], max_new_tokens=160)
        want = gold.get("tool_calls") or []
        counts["decision"] += bool(turn.calls) == bool(want)
        counts["rejected"] += bool(turn.problems)
        if want:
            counts["calls_expected"] += 1
            names = [c["name"] for c in turn.calls]
            counts["function"] += names == [c["name"] for c in want]
            counts["arguments"] += turn.calls == [{"name": c["name"], "arguments": c["arguments"]} for c in want]
    k, c = len(records), max(counts["calls_expected"], 1)
    lines = [f"call / no-call decision: {counts['decision']}/{k} ({counts['decision'] / k:.0%})",
             f"right functions (turns that should call): {counts['function']}/{c} ({counts['function'] / c:.0%})",
             f"exact arguments: {counts['arguments']}/{c} ({counts['arguments'] / c:.0%})",
             f"turns with a rejected call (unknown function or schema violation): {counts['rejected']}/{k}"]
    return {"counts": counts, "lines": lines}


def exchange(model, tokenizer, eval_file: Path) -> list[str]:
    from ..data.synthetic import BY_NAME
    from ..text_mode import generate_turn

    records = [json.loads(line) for line in Path(eval_file).read_text().splitlines() if line.strip()]
    # A single call to a function seen in training (step 4 covers the held-out ones).
    record = next(r for r in records if r["meta"].get("kind") == "single" and not r["meta"].get("heldout_function"))
    messages, tools = first_turn(record)[0], record["tools"]
    lines = [f"tools offered: {', '.join(t['function']['name'] for t in tools)}",
             f"user: {messages[-1]['content']}"]
    for _ in range(3):  # at most three model turns
        turn = generate_turn(model.lm, tokenizer, messages, tools, max_new_tokens=200)
        for problem in turn.problems:
            lines.append(f"rejected call: {problem}")
        if not turn.calls:
            lines.append(f"assistant: {turn.content or turn.text}")
            break
    else:
        lines.append("(stopped after three model turns without a final answer)")
        messages = [*messages, {"role": "assistant", "content": turn.content, "tool_calls": turn.calls}]
        for call in turn.calls:
            result = BY_NAME[call["name"]].execute(call["arguments"]) if call["name"] in BY_NAME else {"error": "unknown"}
            lines.append(f"call: {call['name']}({json.dumps(call['arguments'], ensure_ascii=False)})")
            lines.append(f"result: {json.dumps(result, ensure_ascii=False)[:160]}")
            messages.append({"role": "tool", "name": call["name"], "content": json.dumps(result, ensure_ascii=False)})
    return lines
