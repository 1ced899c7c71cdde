"""OpenAI chat format: ``messages`` + ``tools`` (and the legacy ``functions``/``function_call``).

Reads::

    {"messages": [{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": null, "tool_calls": [
                      {"id": "call_1", "type": "function",
                       "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "{\\"temp_c\\": 21}"},
                  {"role": "assistant", "content": "21 °C."}],
     "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {...}}}]}

Call ids are kept (``tool_calls[i].id`` and the tool message's ``tool_call_id``) and tool
results get the name of the call their id points to. The legacy form (top-level
``functions``, assistant ``function_call``, ``role: "function"`` results with ``name``) reads
the same way. ``developer`` messages count as ``system``. Content given as text parts is
joined. Other message keys (e.g. OpenAI's ``weight``) are kept on the message.
"""

from __future__ import annotations

import json

from ...errors import DataError
from .common import (
    Record,
    Row,
    content_text,
    expect,
    leftover_meta,
    make_record,
    normalise_tools,
    parse_arguments,
    result_text,
    with_meta,
)

_CONSUMED_MSG = {"role", "content", "tool_calls", "function_call", "tool_call_id", "name"}


def _calls(msg: dict, field: str) -> list[dict]:
    calls = []
    if msg.get("tool_calls"):
        for j, tc in enumerate(expect(msg["tool_calls"], list, f"{field}.tool_calls", "a list of tool calls")):
            cfield = f"{field}.tool_calls[{j}]"
            expect(tc, dict, cfield, "a tool call object")
            fn = tc.get("function") if isinstance(tc.get("function"), dict) else tc
            ffield = f"{cfield}.function" if fn is not tc else cfield
            name = fn.get("name")
            if not (isinstance(name, str) and name):
                raise DataError(f"a call needs a non-empty 'name', got {name!r}", field=f"{ffield}.name")
            call = {"name": name, "arguments": parse_arguments(fn.get("arguments"), f"{ffield}.arguments")}
            if tc.get("id") is not None:
                call["id"] = str(tc["id"])
            calls.append(call)
    if msg.get("function_call"):
        fc = expect(msg["function_call"], dict, f"{field}.function_call", "an object {'name', 'arguments'}")
        name = fc.get("name")
        if not (isinstance(name, str) and name):
            raise DataError(f"a call needs a non-empty 'name', got {name!r}", field=f"{field}.function_call.name")
        calls.append({"name": name, "arguments": parse_arguments(fc.get("arguments"), f"{field}.function_call.arguments")})
    return calls


class _Results:
    """Which call a tool result answers: by id, else the next unanswered call in order."""

    def __init__(self) -> None:
        self.by_id: dict[str, str] = {}
        self.pending: list[dict] = []

    def called(self, calls: list[dict]) -> None:
        self.pending = list(calls)
        self.by_id.update((c["id"], c["name"]) for c in calls if "id" in c)

    def name_for(self, msg: dict, field: str) -> str:
        call_id = msg.get("tool_call_id")
        if call_id is not None and str(call_id) in self.by_id:
            name = self.by_id[str(call_id)]
        elif isinstance(msg.get("name"), str) and msg["name"]:
            name = msg["name"]
        elif call_id is not None:
            raise DataError(f"tool_call_id {call_id!r} matches no earlier tool call", field=f"{field}.tool_call_id")
        elif self.pending:
            name = self.pending[0]["name"]
        else:
            raise DataError("a tool result with neither tool_call_id nor name follows no tool call", field=field)
        for k, call in enumerate(self.pending):
            if call["name"] == name and (call_id is None or call.get("id") in (None, str(call_id))):
                del self.pending[k]
                break
        return name


def to_canonical(row: Row) -> Record:
    fixes: list[str] = []
    tools = normalise_tools(row.get("tools"), "tools", fixes)
    if row.get("functions"):
        if tools:
            raise DataError("give either 'tools' or the legacy 'functions', not both", field="functions")
        tools = normalise_tools(row["functions"], "functions", fixes)
    raw = expect(row.get("messages"), list, "messages", "a list of messages")
    results, messages = _Results(), []
    for i, msg in enumerate(raw):
        field = f"messages[{i}]"
        expect(msg, dict, field, "a message object with 'role' and 'content'")
        role = msg.get("role")
        extra = {k: v for k, v in msg.items() if k not in _CONSUMED_MSG}
        if role in ("system", "developer", "user"):
            out = {"role": "system" if role == "developer" else role,
                   "content": content_text(msg.get("content"), f"{field}.content")}
            if role == "user" and isinstance(msg.get("name"), str):
                extra["name"] = msg["name"]
        elif role == "assistant":
            out = {"role": "assistant", "content": content_text(msg.get("content"), f"{field}.content")}
            calls = _calls(msg, field)
            if calls:
                out["tool_calls"] = calls
                results.called(calls)
        elif role in ("tool", "function"):
            content = msg.get("content")
            text = content_text(content, f"{field}.content") if isinstance(content, list) else result_text(content)
            out = {"role": "tool", "name": results.name_for(msg, field), "content": "" if content is None else text}
            if msg.get("tool_call_id") is not None:
                out["tool_call_id"] = str(msg["tool_call_id"])
        else:
            raise DataError(f"unknown role {role!r} (expected system, user, assistant, tool or function)",
                            field=f"{field}.role")
        out.update(extra)
        messages.append(out)
    meta = leftover_meta(row, {"messages", "tools", "functions"})
    return make_record(messages, tools, meta, fixes)


def from_canonical(record: Record) -> Row:
    """OpenAI messages + tools; calls without ids get ``call_<message>_<k>`` ids."""
    messages, pending = [], []
    for i, msg in enumerate(record["messages"]):
        out = {k: v for k, v in msg.items() if k not in ("tool_calls", "name", "tool_call_id")}
        if msg["role"] == "user" and "name" in msg:
            out["name"] = msg["name"]
        if msg["role"] == "assistant" and msg.get("tool_calls"):
            out["tool_calls"], pending = [], []
            for k, call in enumerate(msg["tool_calls"]):
                call_id = call.get("id") or f"call_{i}_{k}"
                pending.append(call_id)
                out["tool_calls"].append({"id": call_id, "type": "function", "function": {
                    "name": call["name"], "arguments": json.dumps(call["arguments"], ensure_ascii=False)}})
        elif msg["role"] == "tool":
            call_id = msg.get("tool_call_id") or (pending.pop(0) if pending else None)
            if call_id in pending:
                pending.remove(call_id)
            out = {"role": "tool", "tool_call_id": call_id, "content": msg.get("content", "")}
        messages.append(out)
    return with_meta({"messages": messages, "tools": [dict(t) for t in record.get("tools") or []]}, record)
