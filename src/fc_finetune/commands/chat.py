"""``fc-finetune chat``: talk to a model that calls Python functions, one turn or a REPL.

    fc-finetune chat --model outputs/smollm2-135m-quickstart --query "What is 17 * 23?"
    fc-finetune chat --model outputs/smollm2-135m-quickstart            # interactive
    fc-finetune chat --model smollm2-135m --mode text                   # a plain model
    fc-finetune chat --model DIR --tools my_package.tools:REGISTRY

``--model`` is a folder written by fc-finetune (adapter + heads: heads or text mode) or a
plain model folder / alias (text mode only, with the built-in tool template when its own
ignores tools). ``--tools MODULE:NAME`` imports MODULE and takes its FunctionRegistry NAME
(default: the bundled calculator, unit, date and knowledge-base tools).

Each call and its result are shown as they happen; the answer is streamed as it is
decoded (``--no-stream``: printed when complete). In the REPL: ``/tools`` lists the tools,
``/reset`` clears the history, ``/exit`` (or end of input) quits.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import FcFinetuneError
from ..tools.registry import load_registry

DEFAULT_TOOLS = "fc_finetune.tools:REGISTRY"
PROMPT = "you> "


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("chat", help="Chat with a model that calls registered Python functions.",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="DIR|ALIAS",
                        help="A folder saved by fc-finetune, or a plain model folder / bundled alias (text mode only).")
    parser.add_argument("--tools", default=DEFAULT_TOOLS, metavar="MODULE:NAME",
                        help=f"MODULE:NAME of a FunctionRegistry to offer and run (default: {DEFAULT_TOOLS}).")
    parser.add_argument("--mode", choices=["heads", "text"], default=None,
                        help="heads: selector + constrained arguments; text: generate and parse. "
                             "Default: heads when the model has a selector head, else text.")
    parser.add_argument("--query", default=None, metavar="TEXT", help="Answer this one message and exit (no REPL).")
    parser.add_argument("--system", default=None, metavar="TEXT", help="A system message put before the conversation.")
    parser.add_argument("--max-calls", type=int, default=4, metavar="N",
                        help="Most function calls per user message before the model must answer (default: 4).")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="Seconds each function call may take (default: 10).")
    parser.add_argument("--max-new-tokens", type=int, default=256, metavar="N",
                        help="Most tokens per generation: an answer, or one call's arguments (default: 256).")
    parser.add_argument("--no-stream", action="store_true", help="Print the answer when complete instead of streaming it.")
    parser.add_argument("--dtype", choices=["fastest", "auto", "float32", "bfloat16", "float16"], default="fastest",
                        help="Weights' dtype (default: fastest: bfloat16 where the hardware multiplies it natively, "
                             "a CPU with AVX512-BF16 or AMX or a recent GPU, float32 elsewhere; auto: as saved).")
    parser.add_argument("--base-model", default=None, metavar="DIR|ALIAS",
                        help="Base model to load an fc-finetune folder onto (default: the one it was trained on).")
    parser.set_defaults(func=main)


# --------------------------------------------------------------------------- set-up
def _dtype(name: str):
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..utils.hardware import torch_dtype

    return torch_dtype(name)


def saved_selector(model_ref: str) -> bool | None:
    """None for a plain model; for a folder saved by fc-finetune, whether it has a selector head."""
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..model.io import CONFIG_NAME, read_config

    path = Path(model_ref).expanduser()
    if not (path / CONFIG_NAME).is_file():
        return None
    return bool(read_config(path).get("heads", {}).get("selector_head", True))


def build_agent(args: argparse.Namespace):
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..inference.agent import FunctionCallingAgent

    if args.max_calls < 0:
        raise FcFinetuneError("--max-calls must be 0 or more.")
    if args.max_new_tokens < 1:
        raise FcFinetuneError("--max-new-tokens must be at least 1.")
    if args.timeout <= 0:
        raise FcFinetuneError("--timeout must be a positive number of seconds.")
    registry = load_registry(args.tools)
    selector = saved_selector(args.model)  # checked before loading anything heavy
    mode = args.mode or ("heads" if selector else "text")
    if mode == "heads" and not selector:
        what = ("is a plain model, not a folder saved by fc-finetune" if selector is None
                else "was trained without the selector head")
        raise FcFinetuneError(f"--mode heads needs a model with a selector head, and '{args.model}' {what}. "
                              "Use --mode text, or train one with `fc-finetune train` and pass its output folder.")
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..model.modeling import load_for_inference

    model, tokenizer, call_format = load_for_inference(args.model, dtype=_dtype(args.dtype), base_model=args.base_model)
    return FunctionCallingAgent(model, tokenizer, registry, mode=mode, max_calls_per_turn=args.max_calls,
                                timeout_s=args.timeout, max_new_tokens=args.max_new_tokens, call_format=call_format)


# --------------------------------------------------------------------------- display
class Display:
    """Prints calls and results as they happen and the answer as it streams."""

    def __init__(self, stream: bool, out=None):
        self.stream, self.out = stream, out or sys.stdout
        self.in_text = False
        self.current = ""  # text streamed since the last call or result line

    def _line(self, text: str) -> None:
        self.end_text()
        print(text, file=self.out, flush=True)

    def end_text(self) -> None:
        if self.in_text:
            print(file=self.out, flush=True)
            self.in_text = False

    def on_text(self, piece: str) -> None:
        if not self.in_text:
            print("assistant: ", end="", file=self.out)
            self.in_text, self.current = True, ""
        self.current += piece
        print(piece, end="", file=self.out, flush=True)

    def on_event(self, event: dict) -> None:
        kind = event["type"]
        if kind == "call":
            self._line(f"  -> call {event['name']}({json.dumps(event['arguments'], ensure_ascii=False)})")
        elif kind == "result":
            content = event["content"] if len(event["content"]) <= 300 else event["content"][:300] + " ..."
            self._line(f"  <- {event['status']} ({event['seconds']:.3f} s): {content}")
        elif kind == "problem":
            self._line(f"  !! {event['text']}")
        elif kind == "call_limit":
            self._line(f"  (call limit of {event['max_calls']} reached: answering without more calls)")

    def answer(self, result) -> None:
        streamed = self.stream and self.in_text and self.current == result.response
        self.end_text()
        if not streamed:
            self._line(f"assistant: {result.response}")


def run_turn(agent, history: list[dict], display: Display) -> list[dict]:
    """One user message answered: the history afterwards."""
    result = agent.chat(history, on_text=display.on_text if display.stream else None, on_event=display.on_event)
    display.answer(result)
    return result.messages


def list_tools(registry) -> list[str]:
    lines = []
    for tool in registry.tools():
        fn = tool["function"]
        params = ", ".join((fn.get("parameters") or {}).get("properties", {}))
        description = (fn.get("description") or "").strip().splitlines()
        lines.append(f"  {fn['name']}({params})" + (f": {description[0]}" if description else ""))
    return lines


def repl(agent, system: list[dict], display: Display) -> int:
    print(f"fc-finetune chat ({agent.mode} mode, {len(agent.registry)} tools). "
          "/tools lists them, /reset clears the history, /exit quits.", flush=True)
    history = list(system)
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            print(flush=True)
            return 0
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return 0
        if text == "/reset":
            history = list(system)
            print("(history cleared)", flush=True)
            continue
        if text == "/tools":
            print("\n".join(list_tools(agent.registry)), flush=True)
            continue
        if text.startswith("/"):
            print(f"unknown command {text.split()[0]}: use /tools, /reset or /exit", flush=True)
            continue
        attempt = [*history, {"role": "user", "content": line}]
        try:
            history = run_turn(agent, attempt, display)
        except KeyboardInterrupt:  # stop this answer, keep the session
            display.end_text()
            print("(interrupted; that message was dropped)", flush=True)


def main(args: argparse.Namespace) -> int:
    agent = build_agent(args)
    display = Display(stream=not args.no_stream)
    system = [{"role": "system", "content": args.system}] if args.system else []
    if args.query is not None:
        print(f"user: {args.query}", flush=True)
        run_turn(agent, [*system, {"role": "user", "content": args.query}], display)
        return 0
    return repl(agent, system, display)
