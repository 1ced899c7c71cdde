"""The bundled chat tools as a user tries them: 20 plain requests (``data/chat_requests.jsonl``,
written before training and never trained on) through the agent ``fc-finetune chat`` builds,
with the default tools (calculator, units, dates, knowledge base).

    python benchmarks/run.py chat_tools                            # the quickstart from `make demo`
    python benchmarks/bench_chat_tools.py --model DIR --mode text  # another model or mode

Per request: the first call is to an expected tool (``tool_ok``); the call ran and returned
without an error (``call_ok``: arguments valid for the schema and accepted by the function);
the final answer repeats a value of that call's result that the request did not contain
(``answer_uses_result``). The figure is ``tool_ok and call_ok`` out of 20 (goal: 16).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUESTS = HERE / "data" / "chat_requests.jsonl"
QUICKSTART = Path("outputs/smollm2-135m-quickstart")


def _leaves(value) -> list[str]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, float):
        return [f"{value:g}", f"{value:.2f}", f"{value:.1f}", str(round(value))]
    return [str(value)]


def uses_result(answer: str, request: str, content: str) -> bool:
    """The answer repeats a value of the tool's output that is not already in the request."""
    try:
        output = json.loads(content)
    except json.JSONDecodeError:
        return False
    words = set(re.findall(r"[\w.-]+", request.lower()))
    values = [v for v in _leaves(output) if len(v) >= 2 and v.lower() not in words]
    text = answer.lower().replace(",", "")
    return any(v.lower() in text for v in values)


def score(agent, requests: list[dict]) -> tuple[list[dict], dict]:
    rows = []
    for item in requests:
        result = agent.chat([{"role": "user", "content": item["request"]}])
        first = result.calls[0] if result.calls else None
        row = {"request": item["request"], "expected": item["tools"],
               "called": first.name if first else None,
               "arguments": first.arguments if first else None,
               "status": first.status if first else None,
               "tool_ok": bool(first and first.name in item["tools"]),
               "call_ok": bool(first and first.ok),
               "answer_uses_result": bool(first and first.ok and uses_result(result.response, item["request"],
                                                                              first.content)),
               "answer": result.response}
        rows.append(row)
    n = len(rows)
    summary = {"requests": n,
               "right_tool_valid_call": sum(r["tool_ok"] and r["call_ok"] for r in rows),
               "right_tool": sum(r["tool_ok"] for r in rows),
               "answer_uses_result": sum(r["tool_ok"] and r["answer_uses_result"] for r in rows)}
    return rows, summary


def run(model: str | Path = QUICKSTART, mode: str = "heads", answer_contrast: float | None = None,
        out: Path | None = None, copy_bias: float | None = None) -> list[dict]:
    from fc_finetune.evaluation.report import write_json
    from fc_finetune.inference.agent import FunctionCallingAgent
    from fc_finetune.model.modeling import load_for_inference
    from fc_finetune.tools import build_registry
    from fc_finetune.utils.hardware import FASTEST, torch_dtype

    if not (Path(model) / "fc_finetune_config.json").is_file():
        raise SystemExit(f"{model} is missing: run `make demo` first, or pass --model")
    requests = [json.loads(line) for line in REQUESTS.read_text().splitlines() if line.strip()]
    lm, tokenizer, call_format = load_for_inference(str(model), dtype=torch_dtype(FASTEST))  # as `chat` loads it
    agent = FunctionCallingAgent(lm, tokenizer, build_registry(), mode=mode, max_calls_per_turn=4, timeout_s=10,
                                 max_new_tokens=128, call_format=call_format)
    if answer_contrast is not None and agent.engine.heads is not None:
        agent.engine.heads.answer_contrast = answer_contrast
    if copy_bias is not None and agent.engine.heads is not None:
        agent.engine.heads.copy_bias = copy_bias
    rows, summary = score(agent, requests)
    out = out or HERE / "results" / "chat_tools_requests.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, {"model": str(model), "mode": mode, "summary": summary, "rows": rows})
    return [{"model": Path(model).name, "mode": mode, **summary}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(QUICKSTART), help=f"A folder saved by fc-finetune (default: {QUICKSTART}).")
    parser.add_argument("--mode", choices=["heads", "text"], default="heads", help="Decoding mode (default: heads).")
    parser.add_argument("--answer-contrast", type=float, default=None, metavar="A",
                        help="Heads mode: the weight of contrastive answer decoding after tool results "
                             "(default: the decoder's, 1.0; 0 turns it off).")
    parser.add_argument("--copy-bias", type=float, default=None, metavar="W",
                        help="Heads mode: the logit an argument string's token gains by copying the request "
                             "(default: the decoder's, 2.0; 0 turns it off).")
    parser.add_argument("--out", type=Path, default=None,
                        help="Where the rows go (default: benchmarks/results/chat_tools_requests.json).")
    args = parser.parse_args(argv)
    for row in run(args.model, args.mode, args.answer_contrast, args.out, args.copy_bias):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
