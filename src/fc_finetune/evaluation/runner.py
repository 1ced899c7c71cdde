"""Run an evaluation set through a model, one record per example.

Two modes, as DESIGN.md's "Inference" describes:

* ``heads``: :class:`~fc_finetune.agent_heads.HeadsDecoder` (selector head, schema-constrained
  arguments); needs a model trained by fc-finetune.
* ``text``: plain generation, then the calls are parsed from the text as a server would.
  The AST matcher judges the calls *as written* (before the schema filter); output with
  call markup that does not parse is the failure reason ``invalid_output``.

Each example's record holds the prompt, the raw output, the parsed calls, the verdict of
:func:`~fc_finetune.evaluation.ast_match.match_calls` (``{ok, reason, detail}``), the
call / function / argument scores, the selector's ``P(NO_CALL)`` (heads mode), execution
outcomes where the tools can be run, the response-quality scores where a reference answer
exists, and the seconds it took.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FcFinetuneError
from .sets import EvalExample

logger = logging.getLogger(__name__)

MODES = ("heads", "text")
INVALID_OUTPUT = "invalid_output"


@dataclass
class EvalModel:
    """What an evaluation needs of a model, however it was loaded."""

    name: str  # for reports: the folder name or the alias
    path: str
    lm: Any
    tokenizer: Any
    call_format: str = "hermes"
    fc_model: Any = None  # the FunctionCallingModel (trained heads), None for a base model

    @property
    def trained(self) -> bool:
        return self.fc_model is not None


@dataclass
class RunOptions:
    mode: str = "heads"
    max_new_tokens: int = 256
    batch_size: int = 8
    max_calls: int = 8  # per turn, heads mode
    responses: int = 50  # at most this many final answers are generated and scored (0: none)
    registry: Any = None  # a FunctionRegistry whose functions valid calls are run against
    tool_timeout_s: float = 10.0
    progress: bool = True
    extra: dict = field(default_factory=dict)


def load_eval_model(spec: str, *, mode: str, dtype: str = "bfloat16") -> EvalModel:
    """A folder saved by fc-finetune (adapter + heads), or a plain model path / alias (text mode only)."""
    import torch

    from ..model_io import is_saved_model, load_for_inference

    if mode not in MODES:
        raise FcFinetuneError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}.")
    torch_dtype = getattr(torch, dtype)
    path = Path(str(spec)).expanduser()
    if mode == "heads" and not is_saved_model(path):
        raise FcFinetuneError(f"'{spec}' is a base model: the base model has no trained heads; use --mode text "
                              "(or point --model at a folder written by `fc-finetune train`).")
    model, tokenizer, call_format = load_for_inference(spec, dtype=torch_dtype)
    if is_saved_model(path):
        if mode == "heads" and model.heads.selector is None:
            raise FcFinetuneError(f"'{path}' was trained without the selector head, so heads mode cannot run; "
                                  "use --mode text.")
        return EvalModel(path.resolve().name, str(path), model.lm, tokenizer, call_format, model)
    from ..loading import resolve_model_path

    name = str(spec) if not path.is_dir() else path.resolve().name
    return EvalModel(name.replace("/", "--"), resolve_model_path(spec), model, tokenizer, call_format, None)


# ----------------------------------------------------------------------------- judging
def expected_answers(example: EvalExample) -> list[dict] | None:
    """BFCL-shaped possible answers of an example (None / [] = no call expected)."""
    from .ast_match import possible_answers_from_calls

    if example.expect == "no_call":
        return None
    if example.reference is not None:
        return possible_answers_from_calls(example.reference.get("tool_calls") or [])
    return example.possible_answers


def verdict_for(example: EvalExample, calls: list[dict], parse_problems: list[str]) -> dict:
    from .ast_match import match_calls

    if parse_problems:
        return {"ok": False, "reason": INVALID_OUTPUT, "detail": "; ".join(parse_problems)[:500]}
    if example.expect == "any_call":  # BFCL relevance: any call is right
        return {"ok": bool(calls), "reason": "correct" if calls else "no_call",
                "detail": "" if calls else "a call was expected (relevance)"}
    match = match_calls(calls, expected_answers(example), example.tools)
    return {"ok": bool(match.ok), "reason": match.reason, "detail": match.detail}


def scores_for(example: EvalExample, calls: list[dict]) -> dict:
    """Call / no-call, function and argument scores (score_turn for file sets)."""
    from ..text_mode import check_calls

    if example.reference is not None:
        from .metrics import score_turn

        score = score_turn(example.reference, calls, example.tools)
        return {k: (int(v) if k in ("schema_valid", "calls") else v) for k, v in score.items() if k != "ast"}
    should = example.should_call
    names = sorted(c["name"] for c in calls)
    gold = sorted(name for answer in (example.possible_answers or []) for name in answer)
    return {"should_call": should, "called": bool(calls), "decision_ok": bool(calls) == should,
            "function_ok": (names == gold if gold else bool(calls)) if should else None,
            "arguments_exact": None, "schema_valid": len(check_calls(calls, example.tools)[0]), "calls": len(calls)}


def execute_calls(example: EvalExample, calls: list[dict], executor) -> dict | None:
    """Run the schema-valid calls through the executor: the --tools registry, else the
    synthetic catalogue's own implementations when every tool of the example is one of
    them. None: nothing to run them with."""
    if executor is None:
        from ..data.synthetic import BY_NAME

        if not calls or not example.tools or any(t["function"]["name"] not in BY_NAME for t in example.tools):
            return None
        executor = _catalogue_executor()
    runnable = [c for c in calls if c["name"] in executor.registry]
    if not runnable:
        return None
    statuses = [executor.execute(c).status for c in runnable]
    return {"run": len(statuses), "ok": statuses.count("ok"), "statuses": statuses}


@functools.cache
def _catalogue_executor():
    from ..data.synthetic.registry import catalogue_registry
    from ..executor import Executor

    return Executor(catalogue_registry(), timeout_s=10.0)


def _unparsed_markup(text: str, fmt, calls: list, problems: list) -> list[str]:
    opened = text.count(fmt.call_open.strip())
    if opened > len(calls) + len(problems):
        return [f"{opened - len(calls) - len(problems)} call(s) opened with {fmt.call_open.strip()!r} but never closed"]
    return []


# ----------------------------------------------------------------------------- decoding
def _text_turns(model: EvalModel, items: list[tuple[list[dict], list[dict]]], options: RunOptions, bar):
    """One ParsedTurn per (messages, tools), batched through generate_turns when it exists."""
    from .. import text_mode

    many = getattr(text_mode, "generate_turns", None)
    size = max(1, options.batch_size)
    for start in range(0, len(items), size):
        chunk = items[start:start + size]
        t0 = time.perf_counter()
        if many is not None and len(chunk) > 1:
            turns = many(model.lm, model.tokenizer, chunk, call_format=model.call_format,
                         max_new_tokens=options.max_new_tokens, batch_size=size)
        else:
            turns = [text_mode.generate_turn(model.lm, model.tokenizer, m, t, call_format=model.call_format,
                                             max_new_tokens=options.max_new_tokens) for m, t in chunk]
        seconds = (time.perf_counter() - t0) / len(chunk)
        for turn in turns:
            if bar is not None:
                bar.update(1)
            yield turn, seconds


def _heads_record(decoder, example: EvalExample, options: RunOptions) -> dict:
    t0 = time.perf_counter()
    turn = decoder.turn(example.messages, example.tools, max_calls=options.max_calls)
    seconds = time.perf_counter() - t0
    fmt = decoder.fmt
    output = fmt.call_separator.join(fmt.render_call(c["name"], c["arguments"]) for c in turn.calls) or turn.content
    decisions = [{"p_no_call": round(d["p_no_call"], 6),
                  "choice": None if d["choice"] is None else example.tools[d["choice"]]["function"]["name"]}
                 for d in turn.decisions]
    return {"output": output, "calls": turn.calls, "parse_problems": [], "problems": list(turn.problems),
            "selector": {"p_no_call": decisions[0]["p_no_call"] if decisions else None, "decisions": decisions},
            "seconds": seconds}


def _text_record(turn, fmt, seconds: float) -> dict:
    raw_calls, parse_problems = fmt.parse(turn.text)
    parse_problems = parse_problems + _unparsed_markup(turn.text, fmt, raw_calls, parse_problems)
    return {"output": turn.text, "calls": raw_calls, "parse_problems": parse_problems,
            "problems": list(turn.problems), "seconds": seconds}


def run_examples(model: EvalModel, examples: list[EvalExample], options: RunOptions) -> list[dict]:
    """Decode and judge every example; records in the order of ``examples``."""
    from tqdm.auto import tqdm

    from ..data.tool_format import FORMATS
    from ..text_mode import check_calls

    if options.mode not in MODES:
        raise FcFinetuneError(f"mode must be one of {', '.join(MODES)}, got {options.mode!r}.")
    fmt = FORMATS[model.call_format]
    bar = tqdm(total=len(examples), desc=f"eval ({options.mode})", unit="ex", disable=not options.progress)
    raw: list[dict] = []
    if options.mode == "heads":
        if not model.trained:
            raise FcFinetuneError("the base model has no trained heads; use --mode text.")
        decoder = _decoder(model, options)
        for example in examples:
            raw.append(_heads_record(decoder, example, options))
            bar.update(1)
    else:
        items = [(ex.messages, ex.tools) for ex in examples]
        raw = [_text_record(turn, fmt, seconds) for turn, seconds in _text_turns(model, items, options, bar)]
    bar.close()
    executor = None
    if options.registry is not None:
        from ..executor import Executor

        executor = Executor(options.registry, timeout_s=options.tool_timeout_s)
    records = []
    for example, out in zip(examples, raw, strict=True):
        calls = out["calls"]
        valid = check_calls(calls, example.tools)[0]
        record = {
            "id": example.id, "category": example.category,
            "prompt": example.messages, "tools": [t["function"]["name"] for t in example.tools],
            "expected": _expected_for_report(example),
            "output": out["output"], "calls": calls, "calls_written": len(calls) + len(out["parse_problems"]),
            "schema_valid": len(valid), "problems": out["problems"] + out["parse_problems"],
            "verdict": verdict_for(example, calls, out["parse_problems"]),
            "score": scores_for(example, calls),
            "execution": execute_calls(example, valid, executor),
            "seconds": round(out["seconds"], 4),
        }
        if "selector" in out:
            record["selector"] = out["selector"]
        records.append(record)
    if options.responses > 0:
        score_responses(model, examples, records, options)
    return records


def _decoder(model: EvalModel, options: RunOptions):
    from ..agent_heads import HeadsDecoder
    from ..data.tool_format import FORMATS

    try:
        return HeadsDecoder(model.fc_model, model.tokenizer, FORMATS[model.call_format],
                            max_new_tokens=options.max_new_tokens)
    except ValueError as exc:
        raise FcFinetuneError(str(exc)) from exc


def _expected_for_report(example: EvalExample) -> Any:
    if example.expect == "no_call":
        return "no call"
    if example.expect == "any_call":
        return "any call"
    if example.reference is not None:
        return example.reference.get("tool_calls") or "no call"
    return example.possible_answers


# ----------------------------------------------------------------------------- responses
def score_responses(model: EvalModel, examples: list[EvalExample], records: list[dict], options: RunOptions) -> None:
    """Generate the final answer from the gold history (teacher-forced) for the first
    ``options.responses`` examples that have a reference answer; ROUGE-L and BLEU each."""
    from tqdm.auto import tqdm

    from .text_metrics import bleu, rouge_l

    todo = [(ex, rec) for ex, rec in zip(examples, records, strict=True)
            if ex.reference_response is not None and ex.response_history][:options.responses]
    if not todo:
        return
    if options.mode == "heads":
        decoder = _decoder(model, options)
        answers = []
        for ex, _ in tqdm(todo, desc="responses (heads)", unit="ex", disable=not options.progress):
            answers.append(decoder.turn(ex.response_history, ex.tools, max_calls=0).content)
    else:
        bar = tqdm(total=len(todo), desc="responses (text)", unit="ex", disable=not options.progress)
        items = [(ex.response_history, ex.tools) for ex, _ in todo]
        answers = [turn.content for turn, _ in _text_turns(model, items, options, bar)]
        bar.close()
    for (ex, rec), answer in zip(todo, answers, strict=True):
        rec["response"] = {"text": answer, "reference": ex.reference_response,
                           "rouge_l": rouge_l([answer], [ex.reference_response]),
                           "bleu": bleu([answer], [ex.reference_response])}


def to_json(value: Any) -> Any:
    """Make records JSON-safe (tuples, sets, numpy numbers)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def default_out(model: EvalModel, mode: str) -> Path:
    return Path("outputs") / "eval" / f"{model.name}-{mode}"


def evaluate(model_spec: str, data_spec: str, options: RunOptions, *, limit: int | None = None,
             out: str | Path | None = None, write_model_card_results: bool = False, dtype: str = "bfloat16",
             model: EvalModel | None = None) -> tuple[dict, dict[str, Path]]:
    """Load the set and the model, run, and write the report. Returns (results, written paths).

    ``model``: an already loaded model (e.g. to evaluate one model in two modes)."""
    from .report import build_results, write_report
    from .sets import load_eval_set

    eval_set = load_eval_set(data_spec, limit=limit)  # first: a bad --data fails before the model loads
    if write_model_card_results:
        model_dir = Path(str(model_spec))
        if not (model_dir.is_dir() and (model_dir / "fc_finetune_config.json").is_file()):
            raise FcFinetuneError("--write-model-card-results needs --model to be a folder written by "
                                  f"`fc-finetune train` ('{model_spec}' is not).")
    model = model or load_eval_model(model_spec, mode=options.mode, dtype=dtype)
    if options.mode == "heads" and not model.trained:
        raise FcFinetuneError("the base model has no trained heads; use --mode text.")
    start = time.perf_counter()
    records = to_json(run_examples(model, eval_set.examples, options))
    config = {"model": model.name, "model_path": model.path, "mode": options.mode, "data": data_spec,
              "kind": eval_set.kind, "limit": limit, "examples": len(records),
              "skipped_beyond_limit": eval_set.skipped, "max_new_tokens": options.max_new_tokens,
              "batch_size": options.batch_size, "max_calls": options.max_calls, "responses": options.responses,
              "tools": options.extra.get("tools"), "seconds": round(time.perf_counter() - start, 2)}
    if eval_set.kind == "bfcl":
        from ..data.bfcl_fetch import BFCL_VERSION

        config["bfcl_version"] = BFCL_VERSION
    results = build_results(config, records, eval_set.categories, kind=eval_set.kind)
    out = Path(out) if out is not None else default_out(model, options.mode)
    paths = write_report(results, out, model_card_dir=Path(str(model_spec)) if write_model_card_results else None)
    return results, paths
