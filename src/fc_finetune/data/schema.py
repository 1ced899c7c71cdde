"""The canonical record (docs/data-format.md): validation and normalisation.

:func:`validate_record` checks one record and returns a normalised deep copy, or raises
:class:`~fc_finetune.errors.DataError` naming the field path of the first problem
(``messages[3].tool_calls[0].arguments.unit``). Argument values are checked against the
tool's ``parameters`` with jsonschema (Draft 2020-12); compiled validators are cached per
schema, so a dataset whose records share tools validates at many thousand records/s.

>>> tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
...           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
...                          "required": ["city"]}}}]
>>> record = {"tools": tools, "messages": [
...     {"role": "user", "content": "Weather in Paris?"},
...     {"role": "assistant", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}]}
>>> validate_record(record)["messages"][1]["content"]
''
>>> record["messages"][1]["tool_calls"][0]["arguments"] = {"city": 3}
>>> validate_record(record)
Traceback (most recent call last):
...
fc_finetune.errors.DataError: messages[1].tool_calls[0].arguments.city: 3 is not of type 'string'
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from referencing.exceptions import Unresolvable

from ..errors import DataError
from .tool_format import tool_name_problem

ROLES = ("system", "user", "assistant", "tool")

# Classes of errors (DataError.kind), the keys under which skipped records are counted.
KIND_SHAPE = "malformed record"
KIND_EMPTY = "empty conversation"
KIND_ORDER = "illegal role order"
KIND_FINAL = "does not end with an assistant message"
KIND_TOOLS = "invalid tool definition"
KIND_NOT_OFFERED = "call to a tool not offered"
KIND_ARGS_TYPE = "arguments not an object"
KIND_ARGS = "arguments fail the tool's schema"
KINDS = (KIND_SHAPE, KIND_EMPTY, KIND_ORDER, KIND_FINAL, KIND_TOOLS, KIND_NOT_OFFERED, KIND_ARGS_TYPE, KIND_ARGS)
EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_INDEX = re.compile(r"\[\d+\]")


def field_path(base: str, parts: Iterable[str | int]) -> str:
    """Join a base field and jsonschema path parts: ``field_path("a", ["b", 0]) == "a.b[0]"``.

    >>> field_path("messages[2].tool_calls[0].arguments", ["unit"])
    'messages[2].tool_calls[0].arguments.unit'
    >>> field_path("x", [0, "odd key"])
    'x[0]["odd key"]'
    """
    out = base
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out


@functools.lru_cache(maxsize=4096)
def _compiled(schema_key: str) -> Draft202012Validator:
    """A compiled validator for the schema serialised as ``schema_key`` (checked once)."""
    schema = json.loads(schema_key)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _schema_key(schema: dict) -> str:
    return json.dumps(schema, sort_keys=True, ensure_ascii=False)


def _deepest(errors: Iterable[ValidationError]) -> ValidationError | None:
    """The error with the longest instance path (then, inside anyOf/oneOf, the best match)."""
    chosen = None
    for error in errors:
        if chosen is None or len(error.absolute_path) > len(chosen.absolute_path):
            chosen = error
    while chosen is not None and chosen.context:
        inner = best_match(chosen.context)
        if inner is None or len(inner.absolute_path) < len(chosen.absolute_path):
            break
        chosen = inner
    return chosen


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _error(message: str, field: str | None, kind: str) -> DataError:
    error = DataError(message, field=field or None)
    error.kind = kind  # type: ignore[attr-defined]
    return error


def error_kind(error: BaseException) -> str:
    """The class of a data error, for counting skipped records (one of ``KINDS``, or a fallback).

    >>> error_kind(_error("x", "messages", KIND_EMPTY))
    'empty conversation'
    """
    kind = getattr(error, "kind", None)
    if kind:
        return kind
    field = getattr(error, "field", None)
    return f"invalid {_INDEX.sub('[]', field)}" if field else "invalid record"


def _require(cond: bool, message: str, field: str, kind: str = KIND_SHAPE) -> None:
    """Raise a DataError unless ``cond``. Hot paths test first (building messages costs)."""
    if not cond:
        raise _error(message, field, kind)


def _expect(value: Any, kind: type, field: str, what: str = "") -> None:
    """Raise 'expected <what>, got <type>' unless ``value`` is a ``kind``."""
    if not isinstance(value, kind):
        name = what or {dict: "an object", list: "a list", str: "a string"}.get(kind, kind.__name__)
        raise _error(f"expected {name}, got {_type_name(value)}", field, KIND_SHAPE)


def _validate_tool(tool: Any, field: str) -> dict:
    _expect(tool, dict, field, "an object {'type': 'function', 'function': {...}}")
    kind = tool.get("type", "function")
    _require(kind == "function", f"only tools of type 'function' are supported, got {kind!r}", f"{field}.type")
    fn = tool.get("function")
    _expect(fn, dict, f"{field}.function", "an object {'name', 'description', 'parameters'}")
    name = fn.get("name")
    _require(isinstance(name, str) and name.strip() != "", f"expected a non-empty string, got {name!r}",
             f"{field}.function.name")
    if tool_name_problem(name):  # names are written into the prompt's call markup: data/tool_format.py
        raise _error(f"{tool_name_problem(name)}; rename the tool", f"{field}.function.name", KIND_TOOLS)
    description = fn.get("description")
    description = "" if description is None else description
    _expect(description, str, f"{field}.function.description")
    params = fn.get("parameters")
    if params is None:
        params = dict(EMPTY_PARAMETERS)
    pfield = f"{field}.function.parameters"
    _expect(params, dict, pfield, "a JSON-schema object")
    _require(params.get("type") == "object",
             f"the parameters schema must have \"type\": \"object\", got {params.get('type')!r}", f"{pfield}.type")
    try:
        _compiled(_schema_key(params))
    except SchemaError as exc:
        raise _error(f"not a valid JSON schema: {exc.message}", field_path(pfield, exc.absolute_path),
                     KIND_TOOLS) from None
    out_fn = {"name": name, "description": description, "parameters": params}
    out_fn.update((k, v) for k, v in fn.items() if k not in out_fn)
    out = {"type": "function", "function": out_fn}
    out.update((k, v) for k, v in tool.items() if k not in out)
    return out


def validate_tools(tools: Any, *, field: str = "tools") -> list[dict]:
    """Check a list of OpenAI-style function definitions; return a normalised copy.

    Fills a missing ``"type": "function"``, a missing or null ``description`` (``""``) and
    missing ``parameters`` (an empty object schema). Names must be unique. The copy is
    shallow: the ``parameters`` schemas are the caller's own objects.

    >>> validate_tools([{"function": {"name": "now"}}])[0]
    {'type': 'function', 'function': {'name': 'now', 'description': '', 'parameters': {'type': 'object', 'properties': {}}}}
    """
    try:
        _expect(tools, list, field, "a list of tools")
        out, seen = [], {}
        for i, tool in enumerate(tools):
            checked = _validate_tool(tool, f"{field}[{i}]")
            name = checked["function"]["name"]
            _require(name not in seen, f"duplicate tool name {name!r} (also {field}[{seen.get(name)}])",
                     f"{field}[{i}].function.name")
            seen[name] = i
            out.append(checked)
    except DataError as exc:
        exc.kind = KIND_TOOLS  # type: ignore[attr-defined]
        raise
    return out


@functools.lru_cache(maxsize=1024)
def _checked_tools(tools_key: str) -> tuple[str, dict[str, Draft202012Validator]]:
    """Validated tools (as JSON text) and a validator per tool name, for one tools list."""
    tools = validate_tools(json.loads(tools_key))
    validators = {t["function"]["name"]: _compiled(_schema_key(t["function"]["parameters"])) for t in tools}
    return json.dumps(tools, ensure_ascii=False), validators


def tool_names(record: dict) -> list[str]:
    """Names of the tools a (valid) record offers, in order.

    >>> tool_names({"tools": [{"type": "function", "function": {"name": "a"}}], "messages": []})
    ['a']
    """
    return [tool["function"]["name"] for tool in record.get("tools") or []]


def _check_arguments(args: Any, name: str, validator: Draft202012Validator, field: str) -> None:
    problems = _argument_errors(args, validator)
    if problems:
        path, message, kind = problems[0]
        if kind == KIND_TOOLS:
            message = f"the parameters schema of {name!r} {message.removeprefix('the parameters schema ')}"
        raise _error(message, field_path(field, path), kind)


def _argument_errors(args: Any, validator: Draft202012Validator) -> list[tuple[list, str, str]]:
    """The one check of a call's arguments: ``(path, message, kind)`` for every problem, the
    deepest first; ``[]`` when they fit."""
    if isinstance(args, str):
        return [([], "arguments is a JSON-encoded string; the canonical record holds an object "
                 "(convert the data with `fc-finetune data convert`)", KIND_ARGS_TYPE)]
    if not isinstance(args, dict):
        return [([], f"expected an object, got {_type_name(args)}", KIND_ARGS_TYPE)]
    if not _finite(args):
        return [([], "NaN and infinity are not valid JSON numbers", KIND_ARGS)]
    try:
        errors = list(validator.iter_errors(args))
    except Unresolvable as exc:
        return [([], f"the parameters schema has a reference that cannot be resolved: {exc}", KIND_TOOLS)]
    first = _deepest(errors)
    if first is None:
        return []
    rest = sorted((e for e in errors if e is not first), key=lambda e: list(map(str, e.absolute_path)))
    return [(list(e.absolute_path), e.message, KIND_ARGS) for e in [first, *rest]]


def argument_problems(schema: dict, arguments: Any) -> list[str]:
    """Every way ``arguments`` break a tool's parameters ``schema``, as ``path: message`` lines
    (the deepest first), or ``[]`` when they fit. Records, text-mode output, evaluation, the
    registry and the executor all check calls through this one function (records through its
    core, for their field paths). Arguments must be a JSON object, not a JSON-encoded string,
    of finite numbers; compiled validators are cached."""
    return [f"{field_path('', path) or 'arguments'}: {message}"
            for path, message, _ in _argument_errors(arguments, _compiled(_schema_key(schema)))]


def argument_error(schema: dict, arguments: Any) -> str | None:
    """The first of :func:`argument_problems` (``"unit: ..."``), or None when the arguments fit."""
    problems = argument_problems(schema, arguments)
    return problems[0] if problems else None


def call_problems(call: dict, tools: list[dict]) -> list[str]:
    """What is wrong with ``call`` (``{"name", "arguments"}``) against the offered ``tools``
    (OpenAI style): an unknown name, or :func:`argument_problems`; ``[]`` when it may run."""
    by_name = {t["function"]["name"]: t["function"].get("parameters") or {"type": "object"} for t in tools}
    schema = by_name.get(call.get("name"))
    if schema is None:
        return [f"unknown function {call.get('name')!r} (offered: {', '.join(by_name) or 'none'})"]
    return argument_problems(schema, call.get("arguments"))


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _check_call(call: Any, offered: dict[str, Draft202012Validator], field: str) -> None:
    _expect(call, dict, field, "an object {'name', 'arguments'}")
    _drop_nulls(call)
    name = call.get("name")
    _require(isinstance(name, str) and name != "", f"expected a non-empty string, got {name!r}", f"{field}.name")
    if name not in offered:
        raise _error(f"{name!r} is not an offered tool (offered: {', '.join(offered) or 'none'})",
                     f"{field}.name", KIND_NOT_OFFERED)
    _require("arguments" in call, "missing (use {} for a call without arguments)", f"{field}.arguments",
             KIND_ARGS_TYPE)
    _check_arguments(call["arguments"], name, offered[name], f"{field}.arguments")
    if "id" in call:
        _expect(call["id"], str, f"{field}.id")


def _drop_nulls(obj: dict, keep: str = "") -> None:
    """Optional keys set to null (as Arrow/parquet rows have them) mean absent."""
    if None in obj.values():
        for key in [k for k, v in obj.items() if v is None and k != keep]:
            del obj[key]


def _check_content(msg: dict, field: str, *, non_empty: bool) -> None:
    content = msg.get("content")
    _expect(content, str, f"{field}.content")
    if non_empty and not content.strip():
        raise _error("empty", f"{field}.content", KIND_SHAPE)


class _Order:
    """The role state machine: what may come next, and which tool results are owed."""

    def __init__(self) -> None:
        self.prev: str | None = None
        self.calls_at: int | None = None  # index of the assistant message whose results are pending
        self.owed: list[str] = []         # names of the calls whose results have not come yet

    def missing(self) -> str:
        return (f"{len(self.owed)} tool result(s) missing for the calls of messages[{self.calls_at}] "
                f"(next expected: {self.owed[0]!r})")

    def step(self, i: int, msg: dict) -> None:
        role, field, prev = msg["role"], f"messages[{i}]", self.prev
        if role == "system":
            _require(i == 0, "a system message is only allowed as the first message", f"{field}.role", KIND_ORDER)
        elif role == "tool":
            _require(self.owed != [], "a tool result must follow an assistant message with tool_calls "
                     "(one result per call)", f"{field}.role", KIND_ORDER)
            expected = self.owed.pop(0)
            name = msg.setdefault("name", expected)
            _require(name == expected, f"tool result {name!r} does not match the call it answers "
                     f"({expected!r}, messages[{self.calls_at}])", f"{field}.name", KIND_ORDER)
        else:
            if self.owed:
                raise _error(self.missing(), f"{field}.role", KIND_ORDER)
            if role == "user":
                _require(prev != "user", "two user messages in a row (merge them into one)", f"{field}.role",
                         KIND_ORDER)
                _require(prev != "tool", "a user message follows tool results; the assistant must answer "
                         "them first", f"{field}.role", KIND_ORDER)
            else:  # assistant
                _require(prev in ("user", "tool"), "an assistant message must answer a user message or "
                         f"the results of its own calls (previous: {prev or 'nothing'})", f"{field}.role",
                         KIND_ORDER)
                self.owed = [c["name"] for c in msg.get("tool_calls") or []]
                self.calls_at = i if self.owed else None
        self.prev = role

    def end(self, last: int) -> None:
        """A record may end right after its calls (no results given), but not half-way through them."""
        if self.owed and self.prev == "tool":
            raise _error(self.missing(), f"messages[{last}]", KIND_ORDER)


def _check_message(msg: Any, i: int, offered: dict[str, Draft202012Validator]) -> dict:
    field = f"messages[{i}]"
    _expect(msg, dict, field, "an object with 'role' and 'content'")
    _drop_nulls(msg, keep="content")
    role = msg.get("role")
    _require(role in ROLES, f"expected one of {list(ROLES)}, got {role!r}", f"{field}.role")
    if role == "assistant":
        calls = msg.get("tool_calls")
        if calls is not None:
            _expect(calls, list, f"{field}.tool_calls", "a list of calls")
            if not calls:
                del msg["tool_calls"]
            for j, call in enumerate(calls):
                _check_call(call, offered, f"{field}.tool_calls[{j}]")
            if calls and msg.get("content") is None:
                msg["content"] = ""
        _check_content(msg, field, non_empty=False)
        _require(msg["content"] != "" or bool(msg.get("tool_calls")),
                 "an assistant message needs content or tool_calls (both are empty)", f"{field}.content")
    else:
        _check_content(msg, field, non_empty=(role == "user"))
    if role == "tool":
        for key in ("name", "tool_call_id"):
            if key in msg:
                _expect(msg[key], str, f"{field}.{key}")
    return msg


def validate_record(record: Any, *, require_final_assistant: bool = True) -> dict:
    """Validate one canonical record; return a normalised deep copy or raise DataError.

    Normalisation: missing ``content`` of a tool-calling assistant message becomes ``""``,
    an empty ``tool_calls`` list is dropped, optional message keys set to null are dropped,
    tools get ``"type": "function"``, a tool result without ``name`` takes the name of the
    call it answers. With ``require_final_assistant=False`` (evaluation / inference
    prompts) the conversation may end with a user message or complete tool results. The
    error's ``kind`` attribute (see :func:`error_kind`) classifies it for skip counts.

    >>> validate_record({"tools": [], "messages": [{"role": "user", "content": "Hi"}]},
    ...                 require_final_assistant=False)["messages"]
    [{'role': 'user', 'content': 'Hi'}]
    """
    _expect(record, dict, "", "a JSON object (one record)")
    _require("messages" in record, "missing (a record needs 'messages' and 'tools')", "messages")
    _require("tools" in record, "missing (use [] when no tools are offered)", "tools")
    # The copy is a JSON round trip (which also proves the record serialisable); the tools'
    # text doubles as the cache key of their checked form (key order kept: it is rendered).
    rest = {key: value for key, value in record.items() if key != "tools"}
    try:
        tools_key = _dumps(record["tools"])
        rest = json.loads(_dumps(rest))
    except (TypeError, ValueError) as exc:
        raise _error(f"not JSON-serialisable: {exc}", None, KIND_SHAPE) from None
    tools_json, offered = _checked_tools(tools_key)
    tools = json.loads(tools_json)
    record = {key: tools if key == "tools" else rest[key] for key in record}
    if record.get("meta", {}) is None:
        del record["meta"]
    messages = record["messages"]
    _expect(messages, list, "messages")
    _require(messages != [], "empty conversation (no messages)", "messages", KIND_EMPTY)
    if "meta" in record:
        _expect(record["meta"], dict, "meta")
    order = _Order()
    for i, msg in enumerate(messages):
        order.step(i, _check_message(msg, i, offered))
    last, end = messages[-1]["role"], f"messages[{len(messages) - 1}]"
    _require(last != "system", "the conversation has no user message", end, KIND_EMPTY)
    order.end(len(messages) - 1)
    if require_final_assistant:
        _require(last == "assistant", f"a training record must end with an assistant message, not {last!r} "
                 "(evaluation prompts: require_final_assistant=False)", f"{end}.role", KIND_FINAL)
    return record
