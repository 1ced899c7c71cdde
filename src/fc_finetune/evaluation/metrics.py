"""Per-turn scores of predicted calls against a gold assistant turn, and their summary.

:func:`score_turn` compares the calls a model made in one assistant turn with the
reference turn of a canonical record (``{"role": "assistant", "tool_calls": [...]}``;
no ``tool_calls`` means the right answer was not to call). :func:`summarise` turns a list
of such scores into rates, each with its numerator and denominator:

- ``call_decision_accuracy`` (all turns): it called iff the reference called;
- ``function_selection_accuracy`` (turns whose reference calls): the multiset of called
  function names equals the reference's;
- ``irrelevance_accuracy`` (turns whose reference does not call): no call was made;
- ``argument_exact_match`` (turns whose reference calls): the calls equal the reference
  calls exactly (JSON equality of name and arguments, in any order);
- ``ast_accuracy`` (all turns): :func:`~.ast_match.match_calls` accepts the calls, with
  the reference values as the only allowed answers (BFCL's rules);
- ``full_call_accuracy`` (all turns): the decision is right and, when calls were due, the
  arguments match exactly: the whole turn's calls are right;
- ``schema_validity`` (all calls made): the call names an offered tool and its arguments
  validate against that tool's ``parameters`` schema (JSON-schema validity).

:func:`module_path` gives the folder of the bundled ``evaluate`` modules
(``evaluate.load(module_path("fc_ast_match"))``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import datasets
import evaluate

from ..data.schema import argument_error
from .ast_match import REASONS, Match, match_calls, possible_answers_from_calls

MODULES = ("fc_ast_match", "fc_call_metrics", "fc_response")
METRICS = ("call_decision_accuracy", "function_selection_accuracy", "irrelevance_accuracy", "argument_exact_match",
           "ast_accuracy", "full_call_accuracy", "schema_validity")
METRIC_LABELS = {
    "call_decision_accuracy": "Call / no-call accuracy",
    "function_selection_accuracy": "Function selection accuracy",
    "irrelevance_accuracy": "Irrelevance accuracy",
    "argument_exact_match": "Argument exact match",
    "ast_accuracy": "AST accuracy",
    "full_call_accuracy": "Full-call accuracy",
    "schema_validity": "Schema-valid calls",
}


def module_path(name: str) -> str:
    """The folder of a bundled ``evaluate`` module, for ``evaluate.load(module_path(name))``.

    >>> Path(module_path("fc_ast_match")).name
    'fc_ast_match'
    """
    if name not in MODULES:
        raise ValueError(f"unknown evaluate module {name!r}; bundled: {', '.join(MODULES)}")
    return str(Path(__file__).resolve().parent / "modules" / name)


def _key(call: Any) -> str:
    """A canonical text of one call (name + arguments) for exact, order-free comparison."""
    if not isinstance(call, dict):
        return json.dumps(call, sort_keys=True, default=repr)
    return json.dumps({"name": call.get("name"), "arguments": call.get("arguments")}, sort_keys=True, default=repr)


def _name(call: Any) -> Any:
    return call.get("name") if isinstance(call, dict) else None


def schema_valid_calls(calls: list[dict], tools: list[dict]) -> int:
    """How many ``calls`` name an offered tool and fit its ``parameters`` schema."""
    schemas = {}
    for tool in tools or []:
        fn = tool.get("function", tool) if isinstance(tool, dict) else {}
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            schemas[fn["name"]] = fn.get("parameters") or {"type": "object", "properties": {}}
    valid = 0
    for call in calls:
        name = _name(call)
        if isinstance(name, str) and name in schemas and argument_error(schemas[name], call.get("arguments")) is None:
            valid += 1
    return valid


def score_turn(reference: dict, calls: list[dict], tools: list[dict]) -> dict:
    """Score the ``calls`` a model made against one gold assistant turn ``reference``.

    >>> tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
    ...     "properties": {"x": {"type": "integer"}}, "required": ["x"]}}}]
    >>> s = score_turn({"role": "assistant", "tool_calls": [{"name": "f", "arguments": {"x": 1}}]},
    ...                [{"name": "f", "arguments": {"x": 2}}], tools)
    >>> s["function_ok"], s["arguments_exact"], s["ast"].reason, s["schema_valid"]
    (True, False, 'wrong_value', 1)
    """
    expected = list(reference.get("tool_calls") or [])
    calls = list(calls or [])
    should_call, called = bool(expected), bool(calls)
    return {
        "should_call": should_call,
        "called": called,
        "decision_ok": should_call == called,
        "function_ok": Counter(map(_name, calls)) == Counter(map(_name, expected)) if should_call else None,
        "arguments_exact": Counter(map(_key, calls)) == Counter(map(_key, expected)) if should_call else None,
        "ast": match_calls(calls, possible_answers_from_calls(expected), tools),
        "schema_valid": schema_valid_calls(calls, tools),
        "calls": len(calls),
    }


def _rate(correct: int, total: int) -> dict:
    return {"rate": correct / total if total else None, "correct": correct, "total": total}


def _ast_ok(score: dict) -> bool:
    ast = score["ast"]
    return ast.ok if isinstance(ast, Match) else bool(ast["ok"])


def _ast_reason(score: dict) -> str:
    ast = score["ast"]
    return ast.reason if isinstance(ast, Match) else ast["reason"]


def summarise(scores: list[dict]) -> dict:
    """Rates over per-turn scores: ``{"turns", "metrics": {name: {"rate", "correct", "total"}},
    "ast_reasons": {reason: count}}``. A rate is None when its denominator is 0 (e.g.
    irrelevance accuracy on a set without no-call turns). ``ast`` may be a :class:`Match`
    or its dict form (``dataclasses.asdict``), as read back from JSON.
    """
    call_turns = [s for s in scores if s["should_call"]]
    no_call_turns = [s for s in scores if not s["should_call"]]
    full = sum(s["decision_ok"] and (not s["should_call"] or bool(s["arguments_exact"])) for s in scores)
    metrics = {
        "call_decision_accuracy": _rate(sum(s["decision_ok"] for s in scores), len(scores)),
        "function_selection_accuracy": _rate(sum(bool(s["function_ok"]) for s in call_turns), len(call_turns)),
        "irrelevance_accuracy": _rate(sum(not s["called"] for s in no_call_turns), len(no_call_turns)),
        "argument_exact_match": _rate(sum(bool(s["arguments_exact"]) for s in call_turns), len(call_turns)),
        "ast_accuracy": _rate(sum(_ast_ok(s) for s in scores), len(scores)),
        "full_call_accuracy": _rate(full, len(scores)),
        "schema_validity": _rate(sum(s["schema_valid"] for s in scores), sum(s["calls"] for s in scores)),
    }
    reasons = Counter(_ast_reason(s) for s in scores)
    return {
        "turns": len(scores),
        "call_turns": len(call_turns),
        "no_call_turns": len(no_call_turns),
        "metrics": metrics,
        "ast_reasons": {reason: reasons[reason] for reason in REASONS if reasons[reason]},
    }


def string_pairs_info(description: str, inputs_description: str):
    """The ``evaluate.MetricInfo`` of the bundled modules: predictions and references are strings."""
    return evaluate.MetricInfo(
        description=description, citation="", inputs_description=inputs_description,
        features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}))
