"""xLAM format (Salesforce/xlam-function-calling-60k): ``query``, ``tools``, ``answers``.

Reads::

    {"id": 7, "query": "Is 153 an Armstrong number?",
     "tools": "[{\\"name\\": \\"is_armstrong_number\\", \\"description\\": \\"...\\",
                 \\"parameters\\": {\\"num\\": {\\"description\\": \\"The number.\\", \\"type\\": \\"int\\"}}}]",
     "answers": "[{\\"name\\": \\"is_armstrong_number\\", \\"arguments\\": {\\"num\\": 153}}]"}

``parameters`` maps each parameter straight to ``{"type": <Python type string>,
"description", "default"}`` (not a JSON schema; one that already is a JSON schema is
accepted too). Types convert with :mod:`.pytypes`; a parameter with a ``default``, or
typed ``Optional[...]`` / ``"..., optional"``, is not required. Types no JSON schema can
state (``Callable``, ...) leave the parameter unconstrained and are noted in
``meta["schema_fixes"]``. The record is the user's query then one assistant message with
the calls: xLAM has no tool results nor final reply, so records end with the calls (an
empty ``answers`` list gives a record that ends with the query).
"""

from __future__ import annotations

import json

from ...errors import DataError
from .common import (
    Record,
    Row,
    expect,
    leftover_meta,
    make_record,
    maybe_json,
    normalise_tools,
    parse_call,
    split_system,
    with_meta,
)
from .params import normalise_parameters
from .pytypes import python_type_schema, schema_python_type


def _is_json_schema(params: dict) -> bool:
    return params.get("type") == "object" and isinstance(params.get("properties"), dict)


def xlam_parameters(params: object, field: str, fixes: list[str]) -> dict:
    """JSON-schema ``parameters`` from xLAM's ``{param: {"type": "List[int]", ...}}`` map."""
    if params is None:
        return {"type": "object", "properties": {}}
    expect(params, dict, field, "an object mapping parameter names to {'type', 'description'}")
    if _is_json_schema(params):
        return normalise_parameters(params, field, fixes)
    properties, required = {}, []
    for name, spec in params.items():
        pfield = f"{field}.{name}"
        if isinstance(spec, str):
            spec = {"type": spec}
        expect(spec, dict, pfield, "an object {'type', 'description', 'default'}")
        unknown: list[str] = []
        schema, optional = python_type_schema(spec.get("type", "Any"), unknown)
        if unknown:
            fixes.append(f"{pfield}.type: unknown type {spec.get('type')!r}, left unconstrained")
        schema = dict(schema)
        for key, value in spec.items():
            if key not in ("type", "required", "optional"):
                schema[key] = value
        explicit = spec.get("required")
        if explicit is True or (explicit is None and not optional and "default" not in spec
                                and spec.get("optional") is not True):
            required.append(name)
        properties[name] = schema
    out = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def to_canonical(row: Row) -> Record:
    fixes: list[str] = []
    query = expect(row.get("query"), str, "query", "the user's query as a string")
    raw_tools = maybe_json(row.get("tools") or [], "tools", "tools")
    expect(raw_tools, list, "tools", "a list of function definitions")
    defs = []
    for i, fn in enumerate(raw_tools):
        expect(fn, dict, f"tools[{i}]", "a function definition object")
        params = xlam_parameters(fn.get("parameters"), f"tools[{i}].parameters", fixes)
        defs.append({"name": fn.get("name"), "description": fn.get("description"), "parameters": params})
    tools = normalise_tools(defs, "tools", fixes)
    answers = maybe_json(row.get("answers") if row.get("answers") is not None else [], "answers", "answers")
    if isinstance(answers, dict):
        answers = [answers]
    expect(answers, list, "answers", "a list of calls")
    calls = [parse_call(a, f"answers[{k}]") for k, a in enumerate(answers)]
    messages = [{"role": "user", "content": query}]
    if calls:
        messages.append({"role": "assistant", "content": "", "tool_calls": calls})
    return make_record(messages, tools, leftover_meta(row, {"query", "tools", "answers"}), fixes)


def _function(tool: dict, field: str) -> dict:
    fn = tool["function"]
    params = fn.get("parameters") or {"type": "object", "properties": {}}
    extra = set(params) - {"type", "properties", "required"}
    if extra:
        raise DataError(f"xLAM parameters cannot state {sorted(extra)}", field=f"{field}.parameters")
    required = set(params.get("required") or [])
    out = {}
    for name, schema in (params.get("properties") or {}).items():
        pfield = f"{field}.parameters.properties.{name}"
        type_str = schema_python_type({k: v for k, v in schema.items() if k not in ("description", "default")})
        if type_str is None:
            raise DataError("this schema cannot be written as an xLAM type string", field=pfield)
        if name in required and "default" in schema:
            raise DataError("xLAM cannot state a required parameter with a default", field=pfield)
        if name not in required and "default" not in schema:
            type_str += ", optional"
        spec = {k: schema[k] for k in ("description",) if k in schema}
        spec["type"] = type_str
        if "default" in schema:
            spec["default"] = schema["default"]
        out[name] = spec
    return {"name": fn["name"], "description": fn.get("description", ""), "parameters": out}


def from_canonical(record: Record) -> Row:
    """One query and the calls that answer it; anything more cannot be written as xLAM."""
    system, messages = split_system(record)
    if system is not None:
        raise DataError("xLAM has no system prompt", field="messages[0]")
    if not messages or messages[0]["role"] != "user" or len(messages) > 2:
        raise DataError("xLAM holds one user query and (optionally) one assistant message with calls",
                        field="messages")
    calls = []
    if len(messages) == 2:
        reply = messages[1]
        if reply["role"] != "assistant" or not reply.get("tool_calls") or reply.get("content"):
            raise DataError("xLAM's answer is an assistant message with only tool_calls", field="messages[1]")
        calls = [{"name": c["name"], "arguments": c["arguments"]} for c in reply["tool_calls"]]
    functions = [_function(t, f"tools[{i}].function") for i, t in enumerate(record.get("tools") or [])]
    row = {"query": messages[0]["content"], "tools": json.dumps(functions, ensure_ascii=False),
           "answers": json.dumps(calls, ensure_ascii=False)}
    return with_meta(row, record)
