"""The canonical format itself (docs/data-format.md): read as-is, lightly normalised.

Normalisation only: tools given as bare function definitions are wrapped
(``{"type": "function", "function": {...}}``) and their ``parameters`` repaired as for
every format (:mod:`.params`); call ``arguments`` given as a JSON string are parsed; a
tool-calling assistant message without ``content`` gets ``""``. Everything else,
``meta`` included, is kept. Full checking is :func:`fc_finetune.data.schema.validate_record`.
"""

from __future__ import annotations

import copy

from .common import Record, Row, expect, make_record, normalise_tools, parse_call


def to_canonical(row: Row) -> Record:
    fixes: list[str] = []
    tools = normalise_tools(row.get("tools"), "tools", fixes)
    messages = []
    for i, msg in enumerate(expect(row.get("messages"), list, "messages", "a list of messages")):
        field = f"messages[{i}]"
        msg = copy.deepcopy(expect(msg, dict, field, "a message object with 'role' and 'content'"))
        if msg.get("role") == "assistant" and msg.get("tool_calls"):
            calls = expect(msg["tool_calls"], list, f"{field}.tool_calls", "a list of calls")
            parsed = []
            for j, call in enumerate(calls):
                out = parse_call(call, f"{field}.tool_calls[{j}]")
                out.update((k, v) for k, v in call.items() if k not in out and k != "parameters")
                parsed.append(out)
            msg["tool_calls"] = parsed
            if msg.get("content") is None:
                msg["content"] = ""
        messages.append(msg)
    meta = copy.deepcopy(row["meta"]) if isinstance(row.get("meta"), dict) else None
    for key, value in row.items():
        if key not in ("messages", "tools", "meta"):
            meta = meta if meta is not None else {}
            meta.setdefault(key, copy.deepcopy(value))
    return make_record(messages, tools, meta, fixes)


def from_canonical(record: Record) -> Row:
    return copy.deepcopy(record)
