"""Run an evaluation set through a model, one record per example.

Two modes, as DESIGN.md's "Inference" describes:

* ``heads``: :class:`~fc_finetune.inference.heads_decoder.HeadsDecoder` (selector head, schema-constrained
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

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..data.schema import call_problems
from ..errors import FcFinetuneError
from ..inference.engine import MODES, TurnEngine
from ..model.io import is_saved_model
from ..model.loading import check_model_folder, resolve_model_path
from ..model.modeling import load_for_inference
from ..tools.executor import Executor
from ..utils.hardware import FASTEST, torch_dtype
from .ast_match import match_calls, possible_answers_from_calls
from .bfcl_fetch import BFCL_VERSION
from .metrics import score_turn
from .report import build_results, write_report
from .sets import EvalExample, load_eval_set
from .text_metrics import bleu, rouge_l

logger = logging.getLogger(__name__)

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
    # A registry for the examples whose every tool it holds (the synthetic catalogue's own
    # implementations, for the bundled mix), used when ``registry`` is None.
    fallback_registry: Any = None
    tool_timeout_s: float = 10.0
    progress: bool = True
    extra: dict = field(default_factory=dict)


def load_eval_model(spec: str, *, mode: str, dtype: str = FASTEST) -> EvalModel:
    """A folder saved by fc-finetune (adapter + heads), or a plain model path / alias (text mode only)."""
    if mode not in MODES:
        raise FcFinetuneError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}.")
    weights_dtype = torch_dtype(dtype)
    path = Path(str(spec)).expanduser()
    if mode == "heads" and not is_saved_model(path):
        check_model_folder(path)  # a folder that is no model at all says so, not "a base model"
        raise FcFinetuneError(f"'{spec}' is a base model: the base model has no trained heads; use --mode text "
                              "(or point --model at a folder written by `fc-finetune train`).")
    model, tokenizer, call_format = load_for_inference(spec, dtype=weights_dtype)
    if is_saved_model(path):
        if mode == "heads" and model.heads.selector is None:
            raise FcFinetuneError(f"'{path}' was trained without the selector head, so heads mode cannot run; "
                                  "use --mode text.")
        return EvalModel(path.resolve().name, str(path), model.lm, tokenizer, call_format, model)
    name = str(spec) if not path.is_dir() else path.resolve().name
    return EvalModel(name.replace("/", "--"), resolve_model_path(spec), model, tokenizer, call_format, None)


# ----------------------------------------------------------------------------- judging
def expected_answers(example: EvalExample) -> list[dict] | None:
    """BFCL-shaped possible answers of an example (None / [] = no call expected)."""
    if example.expect == "no_call":
        return None
    if example.reference is not None:
        return possible_answers_from_calls(example.reference.get("tool_calls") or [])
    return example.possible_answers


def verdict_for(example: EvalExample, calls: list[dict], parse_problems: list[str]) -> dict:
    if parse_problems:
        return {"ok": False, "reason": INVALID_OUTPUT, "detail": "; ".join(parse_problems)[:500]}
    if example.expect == "any_call":  # BFCL relevance: any call is right
        return {"ok": bool(calls), "reason": "correct" if calls else "no_call",
                "detail": "" if calls else "a call was expected (relevance)"}
    match = match_calls(calls, expected_answers(example), example.tools)
    return {"ok": bool(match.ok), "reason": match.reason, "detail": match.detail}


def lenient_verdict(example: EvalExample, output: str, fmt) -> dict:
    """Text mode, read leniently: calls also taken from plain JSON when the output has no call
    markup (:meth:`~fc_finetune.data.tool_format.ToolCallFormat.parse_lenient`), for a base
    model that knows the functions but not the format. Reported beside the strict verdict."""
    calls, problems = fmt.parse_lenient(output)
    return {"calls": calls, "verdict": verdict_for(example, calls, problems)}


def scores_for(example: EvalExample, calls: list[dict]) -> dict:
    """Call / no-call, function and argument scores (score_turn for file sets)."""
    if example.reference is not None:
        score = score_turn(example.reference, calls, example.tools)
        return {k: (int(v) if k in ("schema_valid", "calls") else v) for k, v in score.items() if k != "ast"}
    should = example.should_call
    names = sorted(c["name"] for c in calls)
    gold = sorted(name for answer in (example.possible_answers or []) for name in answer)
    return {"should_call": should, "called": bool(calls), "decision_ok": bool(calls) == should,
            "function_ok": (names == gold if gold else bool(calls)) if should else None,
            "arguments_exact": None, "schema_valid": sum(not call_problems(c, example.tools) for c in calls),
            "calls": len(calls)}


def execute_calls(example: EvalExample, calls: list[dict], executor, fallback=None) -> dict | None:
    """Run the schema-valid calls through ``executor`` (the --tools registry), else through
    ``fallback`` when it holds every tool of the example. None: nothing to run them with."""
    if executor is None:
        if fallback is None or not calls or not example.tools or \
                any(t["function"]["name"] not in fallback.registry for t in example.tools):
            return None
        executor = fallback
    runnable = [c for c in calls if c["name"] in executor.registry]
    if not runnable:
        return None
    statuses = [executor.execute(c).status for c in runnable]
    return {"run": len(statuses), "ok": statuses.count("ok"), "statuses": statuses}


# ----------------------------------------------------------------------------- decoding
def run_examples(model: EvalModel, examples: list[EvalExample], options: RunOptions) -> list[dict]:
    """Decode (through the agent's own turn engine) and judge every example; records in the
    order of ``examples``."""
    engine = _engine(model, options)
    bar = tqdm(total=len(examples), desc=f"eval ({options.mode})", unit="ex", disable=not options.progress)
    turns = []
    size = 1 if options.mode == "heads" else max(1, options.batch_size)
    for begin in range(0, len(examples), size):
        chunk = examples[begin:begin + size]
        turns += engine.turns([(ex.messages, ex.tools) for ex in chunk], max_calls=options.max_calls,
                              batch_size=size)
        bar.update(len(chunk))
    bar.close()
    executor = None if options.registry is None else Executor(options.registry, timeout_s=options.tool_timeout_s)
    fallback = None if options.fallback_registry is None else \
        Executor(options.fallback_registry, timeout_s=options.tool_timeout_s)
    records = []
    for example, turn in zip(examples, turns, strict=True):
        valid = [c for c in turn.calls if not call_problems(c, example.tools)]
        record = {
            "id": example.id, "category": example.category,
            "prompt": example.messages, "tools": [t["function"]["name"] for t in example.tools],
            "expected": _expected_for_report(example),
            "output": turn.output, "calls": turn.calls, "calls_written": len(turn.calls) + len(turn.parse_problems),
            "schema_valid": len(valid), "problems": turn.problems + turn.parse_problems,
            "verdict": verdict_for(example, turn.calls, turn.parse_problems),
            "score": scores_for(example, turn.calls),
            "execution": execute_calls(example, valid, executor, fallback),
            "seconds": round(turn.seconds, 4),
        }
        if options.mode == "text":
            record["lenient"] = lenient_verdict(example, turn.output, engine.fmt)
        if options.mode == "heads":
            decisions = [_decision_record(d, example.tools) for d in turn.decisions]
            record["selector"] = {"p_no_call": decisions[0]["p_no_call"] if decisions else None,
                                  "decisions": decisions}
        records.append(record)
    if options.responses > 0:
        score_responses(model, examples, records, options, engine)
    return records


def _decision_record(decision: dict, tools: list[dict]) -> dict:
    """One selector decision for the report: ``P(NO_CALL)``, the tool chosen (None: NO_CALL),
    ``probe``: the tool tried after NO_CALL because request values were untaken, and
    ``dropped``: the call this decision made was dropped (a repeat, a probe that took no
    untaken value, or a first call that took no word of the conversation), which ended the calls
    unless ``fallback`` (the unused tool then tried) was kept (``fallback_dropped`` when not)."""
    def name(index: int | None) -> str | None:
        return None if index is None else tools[index]["function"]["name"]

    record = {"p_no_call": round(decision["p_no_call"], 6), "choice": name(decision["choice"])}
    if decision.get("probe") is not None:
        record["probe"] = name(decision["probe"])
    if decision.get("dropped"):
        record["dropped"] = True
    if decision.get("fallback") is not None:
        record["fallback"] = name(decision["fallback"])
        if decision.get("fallback_dropped"):
            record["fallback_dropped"] = True
    return record


def _engine(model: EvalModel, options: RunOptions) -> TurnEngine:
    if options.mode not in MODES:
        raise FcFinetuneError(f"mode must be one of {', '.join(MODES)}, got {options.mode!r}.")
    if options.mode == "heads" and not model.trained:
        raise FcFinetuneError("the base model has no trained heads; use --mode text.")
    try:
        return TurnEngine(model.fc_model if options.mode == "heads" else model.lm, model.tokenizer,
                          mode=options.mode, call_format=model.call_format, max_new_tokens=options.max_new_tokens)
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
def score_responses(model: EvalModel, examples: list[EvalExample], records: list[dict], options: RunOptions,
                    engine: TurnEngine | None = None) -> None:
    """Generate the final answer from the gold history (teacher-forced) for the first
    ``options.responses`` examples that have a reference answer; ROUGE-L and BLEU each."""
    todo = [(ex, rec) for ex, rec in zip(examples, records, strict=True)
            if ex.reference_response is not None and ex.response_history][:options.responses]
    if not todo:
        return
    engine = engine or _engine(model, options)
    size = 1 if options.mode == "heads" else max(1, options.batch_size)
    bar = tqdm(total=len(todo), desc=f"responses ({options.mode})", unit="ex", disable=not options.progress)
    answers = []
    for begin in range(0, len(todo), size):
        chunk = todo[begin:begin + size]
        answers += [t.content for t in engine.turns([(ex.response_history, ex.tools) for ex, _ in chunk],
                                                    max_calls=0, batch_size=size)]
        bar.update(len(chunk))
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
             out: str | Path | None = None, write_model_card_results: bool = False, dtype: str = FASTEST,
             model: EvalModel | None = None) -> tuple[dict, dict[str, Path]]:
    """Load the set and the model, run, and write the report. Returns (results, written paths).

    ``model``: an already loaded model (e.g. to evaluate one model in two modes)."""
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
        config["bfcl_version"] = BFCL_VERSION
    results = build_results(config, records, eval_set.categories, kind=eval_set.kind)
    out = Path(out) if out is not None else default_out(model, options.mode)
    paths = write_report(results, out, model_card_dir=Path(str(model_spec)) if write_model_card_results else None)
    return results, paths
