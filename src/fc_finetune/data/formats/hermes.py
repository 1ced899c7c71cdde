"""Hermes format (NousResearch hermes-function-calling): ShareGPT turns with XML-ish tags.

Reads::

    {"conversations": [
        {"from": "system", "value": "You are a function calling AI model. ... <tools> [{...}] </tools> ..."},
        {"from": "human", "value": "..."},
        {"from": "gpt", "value": "<tool_call>\\n{'arguments': {'city': 'Paris'}, 'name': 'get_weather'}\\n</tool_call>"},
        {"from": "tool", "value": "<tool_response>\\n{\\"name\\": \\"get_weather\\", \\"content\\": {...}}\\n</tool_response>"},
        {"from": "gpt", "value": "..."}]}

- ``<tools>`` holds a JSON (or Python-literal, as the dataset writes it) list of OpenAI-style
  tools or bare functions, or one definition per line. The system message keeps the text
  around the block; the block itself becomes ``tools``. A top-level ``tools`` key also works.
- A ``gpt`` turn may hold text and several ``<tool_call>`` blocks (``{"name", "arguments"}``,
  JSON or a Python literal; parsed with ``json``/``ast.literal_eval``, never eval).
- A ``tool`` turn holds one ``<tool_response>`` per call, in order; a response written as
  ``{"name": ..., "content": ...}`` is unwrapped (its content JSON-encoded unless a string).
  Without tags the whole turn is one result.
"""

from __future__ import annotations

import json
import re

from ...errors import DataError
from ...utils import safe_json
from .common import (
    Record,
    Row,
    leftover_meta,
    make_record,
    normalise_tools,
    parse_call,
    parse_json_or_python,
    result_text,
    split_system,
    with_meta,
)
from .sharegpt import turn_parts

TOOLS_BLOCK = re.compile(r"\s*<tools>(?P<body>.*?)</tools>\s*", re.DOTALL)
CALL_BLOCK = re.compile(r"<tool_call>(?P<body>.*?)</tool_call>", re.DOTALL)
RESPONSE_BLOCK = re.compile(r"<tool_response>(?P<body>.*?)</tool_response>", re.DOTALL)
SPEAKER = {"user": "human", "assistant": "gpt", "tool": "tool", "system": "system"}


def _tools_from_block(body: str, field: str) -> list:
    body = body.strip()
    if not body:
        return []
    try:
        parsed = parse_json_or_python(body, field, "the <tools> block")
    except DataError:
        lines = [ln for ln in body.splitlines() if ln.strip()]
        if len(lines) < 2:
            raise
        parsed = [parse_json_or_python(ln, field, f"<tools> line {k + 1}") for k, ln in enumerate(lines)]
    return parsed if isinstance(parsed, list) else [parsed]


def _join(before: str, after: str) -> str:
    before, after = before.rstrip(), after.lstrip()
    return f"{before} {after}".strip() if before and after else (before or after)


def split_tools(system: str, field: str) -> tuple[str, list | None]:
    """(system text without the ``<tools>`` block, the block's definitions or None)."""
    # Skip empty mentions such as "signatures within <tools> </tools> XML tags".
    match = next((m for m in TOOLS_BLOCK.finditer(system) if m["body"].strip()), None)
    if match is None:
        return system, None
    tools = _tools_from_block(match["body"], field)
    return _join(system[: match.start()], system[match.end():]), tools


def _assistant(text: str, field: str) -> dict:
    calls = []
    for k, match in enumerate(CALL_BLOCK.finditer(text)):
        obj = parse_json_or_python(match["body"].strip(), field, f"<tool_call> {k + 1}")
        calls.append(parse_call(obj, f"{field}<tool_call {k + 1}>"))
    if "<tool_call>" in CALL_BLOCK.sub("", text):
        raise DataError("an unclosed <tool_call> tag", field=field)
    msg = {"role": "assistant", "content": CALL_BLOCK.sub("", text).strip() if calls else text}
    if calls:
        msg["tool_calls"] = calls
    return msg


def _results(text: str, owed: list[str], field: str) -> list[dict]:
    bodies = [m["body"].strip() for m in RESPONSE_BLOCK.finditer(text)] or [text.strip()]
    if len(bodies) > len(owed):
        raise DataError(f"{len(bodies)} tool response(s) but only {len(owed)} call(s) await one", field=field)
    out = []
    for body in bodies:
        name, content = owed.pop(0), body
        try:
            obj = safe_json.loads(body)
        except ValueError:  # not JSON (or over the reader's limits): the body is the result text
            obj = None
        if isinstance(obj, dict) and set(obj) == {"name", "content"} and isinstance(obj["name"], str):
            name, content = obj["name"], result_text(obj["content"])
        out.append({"role": "tool", "name": name, "content": content})
    return out


def to_canonical(row: Row) -> Record:
    fixes: list[str] = []
    key = "conversations" if "conversations" in row else "messages"
    turns = row.get(key)
    if not isinstance(turns, list):
        raise DataError("expected a list of turns", field=key)
    raw_tools = row.get("tools")
    messages: list[dict] = []
    owed: list[str] = []
    for i, turn in enumerate(turns):
        field = f"{key}[{i}]"
        role, text, speaker_key, text_key = turn_parts(turn, field)
        tfield = f"{field}.{text_key}"
        if role == "system":
            if messages:
                raise DataError("a system turn is only allowed first", field=field)
            text, block = split_tools(text, tfield)
            if block is not None:
                if raw_tools:
                    raise DataError("tools given both as a 'tools' field and in the system <tools> block",
                                    field=tfield)
                raw_tools = block
            if text:
                messages.append({"role": "system", "content": text})
        elif role == "user":
            messages.append({"role": "user", "content": text})
        elif role == "assistant":
            msg = _assistant(text, tfield)
            owed = [c["name"] for c in msg.get("tool_calls", [])]
            messages.append(msg)
        elif role == "result":
            if not owed:
                raise DataError("a tool response that follows no <tool_call>", field=tfield)
            messages.extend(_results(text if isinstance(text, str) else result_text(text), owed, tfield))
        else:
            raise DataError(f"a {turn[speaker_key]!r} turn is not part of the Hermes format (calls go in "
                            "<tool_call> tags of a gpt turn)", field=f"{field}.{speaker_key}")
    tools = normalise_tools(raw_tools, "tools" if row.get("tools") else f"{key}[0].value<tools>", fixes)
    meta = leftover_meta(row, {key, "tools"})
    return make_record(messages, tools, meta, fixes)


def format_calls(calls: list[dict]) -> str:
    return "\n".join("<tool_call>\n" + json.dumps({"name": c["name"], "arguments": c["arguments"]},
                                                  ensure_ascii=False) + "\n</tool_call>" for c in calls)


def from_canonical(record: Record) -> Row:
    """Tools in the system turn's ``<tools>`` block (JSON), calls and results tagged; the
    results of one call batch share one ``tool`` turn."""
    system, messages = split_system(record)
    tools = record.get("tools") or []
    turns: list[dict] = []
    if system is not None or tools:
        value = system or ""
        if tools:
            value = (value + "\n\n" if value else "") + "<tools>\n" + json.dumps(tools, ensure_ascii=False) + "\n</tools>"
        turns.append({"from": "system", "value": value})
    for msg in messages:
        if msg["role"] == "assistant":
            parts = [msg.get("content") or ""] + ([format_calls(msg["tool_calls"])] if msg.get("tool_calls") else [])
            turns.append({"from": "gpt", "value": "\n".join(p for p in parts if p)})
        elif msg["role"] == "tool":
            block = "<tool_response>\n" + msg["content"] + "\n</tool_response>"
            if turns and turns[-1]["from"] == "tool":
                turns[-1]["value"] += "\n" + block
            else:
                turns.append({"from": "tool", "value": block})
        else:
            turns.append({"from": SPEAKER[msg["role"]], "value": msg["content"]})
    return with_meta({"conversations": turns}, record)
