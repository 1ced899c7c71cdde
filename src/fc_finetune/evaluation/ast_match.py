"""BFCL-style AST matching of a model's function calls against possible answers.

Written from the rules the Berkeley Function Calling Leaderboard (BFCL) documents for its
AST checker; no BFCL code is used or imported. ``possible_answers`` has BFCL's
``ground_truth`` shape: one entry per expected call, each ``{function: {param: [allowed
values]}}``. A call matches an entry when:

- its function is offered (else ``wrong_function``) and is the entry's function;
- every parameter the tool's schema lists in ``required`` is present (``missing_required``);
- it passes no parameter outside the entry's keys (``unexpected_parameter``);
- each value has the schema's type (``wrong_type``): ``integer`` takes an ``int`` (never a
  float such as ``5.0``, never a bool), ``number`` takes an int or a float (bool is not a
  number), ``boolean`` only ``True``/``False``; an array's elements are checked against
  ``items`` (and ``prefixItems``) recursively; an object must be a dict; a parameter without
  a ``type`` (BFCL's ``any``) takes anything. As in BFCL, a value whose type differs from
  the schema but equals that of the allowed values (a variable name given as a string) is
  accepted and then compared exactly (inside an array, a scalar element of the type of
  the allowed list's elements is accepted and compared as usual);
- each value is one of the allowed values (``wrong_value``). Strings are standardised
  first: lower-cased, spaces and the characters ``, . / - _ * ^`` removed and ``'`` read
  as ``"`` (so ``"April 1, 2024"`` equals ``"april 1 2024"``). Numbers compare by value
  (``5 == 5.0``), booleans only with booleans. Lists compare element by element, in order.
  A dict is compared against BFCL's nested form ``{key: [allowed values]}``: every key it
  gives must be listed and take one of its allowed values, and every listed key it omits
  must allow ``""``; a plain dict answer (values not all lists) must be equal key by key;
- every parameter of the entry that the call omits allows ``""`` (BFCL's mark for "may be
  omitted"); otherwise the omission is reported as ``missing_required``.

Several expected entries (BFCL's parallel categories) need as many calls
(``wrong_count``), matched in any order: a one-to-one assignment is searched for (BFCL
itself assigns greedily), and when none exists the reason of the closest failing pair of
the first unmatched entry is reported. ``None`` or ``[]`` means no call is expected
(BFCL's irrelevance): the turn is right iff no call was made (``unexpected_call``).

Only Python-typed rows are matched. BFCL's Java and JavaScript categories pass every
argument as source text and need a language-specific value converter, which this module
does not implement: do not score those categories with it. Function names must be
equal exactly (``math.factorial`` is not ``math_factorial``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REASONS = ("correct", "no_call", "unexpected_call", "wrong_count", "wrong_function",
           "missing_required", "unexpected_parameter", "wrong_type", "wrong_value")
# How far a failing (call, expected entry) pair got: the higher, the closer to a match.
_PROGRESS = {"wrong_function": 0, "missing_required": 1, "unexpected_parameter": 2, "wrong_type": 3,
             "wrong_value": 4}
_DROPPED = str.maketrans("", "", " ,./-_*^")


@dataclass(frozen=True)
class Match:
    ok: bool
    reason: str          # one of REASONS ("correct" when ok)
    detail: str = ""     # human-readable: which call / parameter / value, what was expected


CORRECT = Match(True, "correct")


def standardize(text: str) -> str:
    """BFCL's string normalisation: lower case, no spaces or ``,./-_*^``, ``'`` as ``"``.

    >>> standardize("April 1, 2024") == standardize("april 1 2024")
    True
    """
    return text.translate(_DROPPED).lower().replace("'", '"')


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_TESTS = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_int,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list | tuple),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _kinds(schema: Any) -> list[str]:
    """The JSON types ``schema`` allows (empty: any)."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
    return [k for k in kinds if k in _TYPE_TESTS]


def _outer_type_ok(value: Any, schema: Any) -> bool:
    known = _kinds(schema)
    return not known or any(_TYPE_TESTS[k](value) for k in known)


def _type_problem(value: Any, schema: Any, where: str) -> str | None:
    """Why ``value`` does not have the type ``schema`` asks for (recursing into arrays), or None."""
    if not isinstance(schema, dict):
        return None
    known = _kinds(schema)
    if not _outer_type_ok(value, schema):
        return f"{where}: expected {' or '.join(known)}, got {type(value).__name__} {value!r}"
    if isinstance(value, list | tuple) and (not known or "array" in known):
        prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            problem = _type_problem(item, sub, f"{where}[{i}]")
            if problem:
                return problem
    return None


def _kind(value: Any) -> str:
    """A coarse Python type name in which bool, int and float stay apart."""
    return type(value).__name__


def _sample(allowed: list) -> Any:
    """The first allowed value that is not BFCL's "may be omitted" mark ``""``."""
    return next((a for a in allowed if a != ""), None)


def _elements_as_answers(value: Any, schema: Any, allowed: list) -> bool:
    """BFCL's variable rule inside an array: an element of the wrong type is accepted when
    its type is that of the elements of one allowed list (e.g. names given as strings)."""
    if not isinstance(value, list | tuple):
        return False
    items = schema.get("items") if isinstance(schema, dict) else None
    for answer in allowed:
        if isinstance(answer, list | tuple):
            kind = _kind(_sample(list(answer)))
            if all(_type_problem(item, items, "") is None
                   or (_kind(item) == kind and not isinstance(item, list | tuple | dict)) for item in value):
                return True
    return False


def _nested_form(answer: dict) -> bool:
    return all(isinstance(v, list) for v in answer.values())


def _dict_matches(value: dict, answer: dict) -> bool:
    """``value`` against BFCL's nested form ``{key: [allowed values]}``."""
    for key, item in value.items():
        if key not in answer or not any(_equal(item, a) for a in answer[key]):
            return False
    return all(key in value or "" in allowed for key, allowed in answer.items())


def _equal(value: Any, answer: Any) -> bool:
    """Whether ``value`` equals one allowed ``answer`` under BFCL's comparison rules."""
    if isinstance(value, str) or isinstance(answer, str):
        return isinstance(value, str) and isinstance(answer, str) and standardize(value) == standardize(answer)
    if isinstance(value, bool) or isinstance(answer, bool):
        return value is answer
    if _is_number(value) and _is_number(answer):
        return value == answer
    if isinstance(value, list | tuple) and isinstance(answer, list | tuple):
        return len(value) == len(answer) and all(_equal(v, a) for v, a in zip(value, answer, strict=True))
    if isinstance(value, dict) and isinstance(answer, dict):
        if _nested_form(answer) and _dict_matches(value, answer):
            return True
        return value.keys() == answer.keys() and all(_equal(value[k], answer[k]) for k in value)
    return value == answer


def _fail(reason: str, detail: str) -> Match:
    return Match(False, reason, detail)


def _split_entry(entry: Any, k: int) -> tuple[str, dict]:
    if not (isinstance(entry, dict) and len(entry) == 1):
        raise ValueError(f"possible_answers[{k}] must be one {{function: {{param: [values]}}}} object, got {entry!r}")
    (name, params), = entry.items()
    if not isinstance(params, dict) or not all(isinstance(v, list) for v in params.values()):
        raise ValueError(f"possible_answers[{k}][{name!r}] must map each parameter to a list of allowed values")
    return name, params


def _match_one(call: Any, entry: tuple[str, dict], schemas: dict[str, dict], label: str) -> Match:
    """One call against one expected entry (BFCL's simple-function check)."""
    expected_name, answers = entry
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        return _fail("wrong_function", f"{label}: not a call object with a 'name': {call!r}")
    name, args = call["name"], call.get("arguments", {})
    if name not in schemas:
        return _fail("wrong_function", f"{label}: {name!r} is not an offered tool (offered: {', '.join(schemas)})")
    if name != expected_name:
        return _fail("wrong_function", f"{label}: called {name!r}, expected {expected_name!r}")
    label = f"{label} {name}"
    if not isinstance(args, dict):
        return _fail("wrong_type", f"{label}: arguments must be an object, got {type(args).__name__}")
    schema = schemas.get(name) or {}
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    for param in schema.get("required") or []:
        if param not in args:
            return _fail("missing_required", f"{label}: required parameter {param!r} is missing")
    for param, value in args.items():
        if param not in answers or (properties and param not in properties):
            return _fail("unexpected_parameter", f"{label}: unexpected parameter {param!r} "
                         f"(expected only {sorted(answers)})")
        allowed = answers[param]
        where = f"{label}: parameter {param!r}"
        schema_of_param = properties.get(param)
        problem = _type_problem(value, schema_of_param, where)
        if problem and not _outer_type_ok(value, schema_of_param):
            if _kind(_sample(allowed)) != _kind(value):
                return _fail("wrong_type", problem)
            if value not in allowed:  # a variable: compared exactly, as BFCL does
                return _fail("wrong_value", f"{where}: {value!r} is not one of {allowed!r}")
            continue
        if problem and not _elements_as_answers(value, schema_of_param, allowed):
            return _fail("wrong_type", problem)
        if not any(_equal(value, a) for a in allowed):
            return _fail("wrong_value", f"{where}: {value!r} is not one of {allowed!r}")
    for param, allowed in answers.items():
        if param not in args and "" not in allowed:
            return _fail("missing_required", f"{label}: parameter {param!r} is missing and the possible "
                         f"answer does not allow omitting it (allowed: {allowed!r})")
    return CORRECT


def _schemas(tools: list[dict]) -> dict[str, dict]:
    out = {}
    for tool in tools or []:
        fn = tool.get("function", tool) if isinstance(tool, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            params = fn.get("parameters")
            out[fn["name"]] = params if isinstance(params, dict) else {}
    return out


def _assignment(ok: list[list[bool]]) -> list[int | None]:
    """A maximum one-to-one assignment: for each expected entry, the index of its call or None."""
    owner: dict[int, int] = {}  # call -> expected entry

    def augment(i: int, seen: set[int]) -> bool:
        for j, fits in enumerate(ok[i]):
            if fits and j not in seen:
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(ok)):
        augment(i, set())
    by_entry: list[int | None] = [None] * len(ok)
    for j, i in owner.items():
        by_entry[i] = j
    return by_entry


def _names(calls: list) -> str:
    return ", ".join(repr(c.get("name")) if isinstance(c, dict) else repr(c) for c in calls)


def match_calls(calls: list[dict], possible_answers: list[dict] | None, tools: list[dict]) -> Match:
    """Match the model's ``calls`` (``[{"name", "arguments"}]``) against BFCL possible answers.

    ``tools`` are the canonical tools offered (their JSON-schema ``parameters`` give the
    required parameters and the types). See the module docstring for the rules.

    >>> tools = [{"type": "function", "function": {"name": "f", "parameters": {
    ...     "type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}}}]
    >>> match_calls([{"name": "f", "arguments": {"x": 2}}], [{"f": {"x": [2.0]}}], tools)
    Match(ok=True, reason='correct', detail='')
    >>> match_calls([], [{"f": {"x": [2.0]}}], tools).reason
    'no_call'
    """
    calls = list(calls or [])
    if not possible_answers:
        if calls:
            return _fail("unexpected_call", f"no call was expected, got {len(calls)}: {_names(calls)}")
        return CORRECT
    entries = [_split_entry(entry, k) for k, entry in enumerate(possible_answers)]
    if not calls:
        return _fail("no_call", f"expected {len(entries)} call(s) ({', '.join(repr(n) for n, _ in entries)}), got none")
    if len(calls) != len(entries):
        return _fail("wrong_count", f"expected {len(entries)} call(s), got {len(calls)}: {_names(calls)}")
    schemas = _schemas(tools)
    results = [[_match_one(call, entry, schemas, f"call {j}") for j, call in enumerate(calls)] for entry in entries]
    assigned = _assignment([[r.ok for r in row] for row in results])
    if all(j is not None for j in assigned):
        return CORRECT
    i = assigned.index(None)
    free = [j for j in range(len(calls)) if j not in assigned] or list(range(len(calls)))
    best = max((results[i][j] for j in free), key=lambda r: _PROGRESS.get(r.reason, -1))
    if len(entries) == 1:
        return best
    return _fail(best.reason, f"no call matches expected call {i} ({entries[i][0]!r}); closest: {best.detail}")


def _as_answer(value: Any) -> Any:
    """A reference value in BFCL's possible-answer form (dicts become ``{key: [value]}``)."""
    if isinstance(value, dict):
        return {key: [_as_answer(item)] for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_answer(item) for item in value]
    return value


def possible_answers_from_calls(calls: list[dict]) -> list[dict]:
    """Reference calls -> BFCL ground_truth shape: each value becomes its only allowed value.

    Parameters the reference omits are not listed (so passing them is unexpected), and
    those it passes must be passed (none allows ``""``): the exact BFCL reading of one
    reference answer.

    >>> possible_answers_from_calls([{"name": "f", "arguments": {"x": 1, "o": {"k": "v"}}}])
    [{'f': {'x': [1], 'o': [{'k': ['v']}]}}]
    """
    return [{call["name"]: {param: [_as_answer(value)] for param, value in (call.get("arguments") or {}).items()}}
            for call in calls or []]
