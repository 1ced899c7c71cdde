"""Glaive v2 raw text (glaiveai/glaive-function-calling-v2): ``system`` + ``chat`` strings.

Reads::

    {"system": "SYSTEM: You are a helpful assistant with access to the following functions. Use them if required -\\n{\\n    \\"name\\": \\"get_news\\", ...}\\n\\n{...}\\n",
     "chat": "USER: Any news?\\n\\n\\nASSISTANT: <functioncall> {\\"name\\": \\"get_news\\", \\"arguments\\": '{\\"country\\": \\"US\\"}'} <|endoftext|>\\n\\n\\nFUNCTION RESPONSE: {\\"headlines\\": [...]}\\n\\n\\nASSISTANT: Here they are ... <|endoftext|>"}

- ``system``: ``SYSTEM:`` then prose, then zero or more JSON function definitions, one
  after another. The prose (verbatim, e.g. "You are a helpful assistant, with no access
  to external functions.") becomes the system message; the definitions become ``tools``.
- ``chat``: ``USER:``, ``ASSISTANT:`` and ``FUNCTION RESPONSE:`` turns; ``<|endoftext|>``
  markers are dropped. An assistant turn may hold text then one ``<functioncall>``.
- The call's ``arguments`` is usually a *single-quoted* JSON string
  (``'{"a": 1}'``), which is not JSON. It is read without eval: the text between the quote
  after ``"arguments":`` and the first later ``'}`` that leaves valid JSON inside (so
  apostrophes inside values, escaped or not, survive). Plain JSON calls work too.
- A result takes the name of the call before it. Text after the call JSON is an error
  (the record cannot say it), as is a response that follows no call.

:func:`from_canonical` writes one call per assistant turn (the format has no parallel
calls) and, when the record has no system message, Glaive's stock prose.
"""

from __future__ import annotations

import json
import re

from ...errors import DataError
from ...utils import safe_json
from .common import (
    Record,
    Row,
    bare_functions,
    decode_prefix,
    expect,
    leftover_meta,
    make_record,
    normalise_tools,
    parse_arguments,
    parse_call,
    split_system,
    with_meta,
)

WITH_FUNCTIONS = "You are a helpful assistant with access to the following functions. Use them if required -"
WITHOUT_FUNCTIONS = "You are a helpful assistant, with no access to external functions."
EOT = "<|endoftext|>"
CALL_TAG = "<functioncall>"
_TURN = re.compile(r"(?:^|\n)[ \t]*(USER|ASSISTANT|FUNCTION RESPONSE):[ \t]?")
_DEF_START = re.compile(r"^[ \t]*\{", re.MULTILINE)
_QUOTED_CALL = re.compile(r"\{\s*\"name\"\s*:\s*(?P<name>\"(?:[^\"\\]|\\.)*\")\s*,\s*\"arguments\"\s*:\s*'")
_CLOSE = re.compile(r"'\s*\}")


def parse_system(text: object, field: str = "system") -> tuple[str, list]:
    """(prose, function definitions) of a Glaive ``system`` string."""
    expect(text, str, field, "a string starting with 'SYSTEM:'")
    body = re.sub(r"^\s*SYSTEM:[ \t]?", "", text)
    start = _DEF_START.search(body)
    if start is None:
        return body.strip(), []
    prose, rest, defs = body[: start.start()].strip(), body[start.start():], []
    pos = 0
    while True:
        while pos < len(rest) and rest[pos].isspace():
            pos += 1
        if pos >= len(rest):
            return prose, defs
        try:
            obj, pos = decode_prefix(rest, pos)
        except safe_json.JSONLimitError as exc:
            raise DataError(f"function definition {len(defs) + 1} is over a limit: {exc}", field=field) from None
        except json.JSONDecodeError as exc:
            raise DataError(f"function definition {len(defs) + 1} is not valid JSON ({exc.msg} at char "
                            f"{start.start() + exc.pos} after 'SYSTEM:')", field=field) from None
        defs.append(obj)


def parse_functioncall(text: str, field: str) -> tuple[dict, str]:
    """(canonical call, the text after it) for the text following ``<functioncall>``."""
    s = text.lstrip()
    try:
        obj, end = decode_prefix(s)
    except safe_json.JSONLimitError as exc:
        raise DataError(f"function_call is over a limit: {exc}", field=field) from None
    except json.JSONDecodeError:
        pass
    else:
        return parse_call(obj, field), s[end:]
    match = _QUOTED_CALL.match(s)
    if match is None:
        raise DataError("function_call is not valid JSON: expected {\"name\": ..., \"arguments\": '{...}'} "
                        f"after {CALL_TAG}, got {s[:80]!r}", field=field)
    name, start = json.loads(match["name"]), match.end()
    for close in _CLOSE.finditer(s, start):
        inner = s[start: close.start()]
        for candidate in (inner or "{}", inner.replace("\\'", "'")):
            try:
                args = safe_json.loads(candidate)
            except ValueError:  # malformed, or over the reader's limits
                continue
            if not (isinstance(name, str) and name):
                raise DataError(f"a call needs a non-empty 'name', got {name!r}", field=field)
            return {"name": name, "arguments": parse_arguments(args, f"{field}.arguments")}, s[close.end():]
    raise DataError("function_call arguments are not valid JSON inside the single quotes", field=field)


def _turns(chat: str, field: str) -> list[tuple[str, str]]:
    marks = list(_TURN.finditer(chat))
    if not marks:
        raise DataError("no 'USER:' / 'ASSISTANT:' turns found", field=field)
    head = chat[: marks[0].start()].replace(EOT, "").strip()
    if head:
        raise DataError(f"text before the first turn marker: {head[:60]!r}", field=field)
    out = []
    for k, mark in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(chat)
        out.append((mark.group(1), chat[mark.end(): end].replace(EOT, "").strip()))
    return out


def to_canonical(row: Row) -> Record:
    fixes: list[str] = []
    prose, defs = parse_system(row.get("system", ""))
    tools = normalise_tools(defs, "system<functions>", fixes)
    chat = expect(row.get("chat"), str, "chat", "the conversation as a string")
    messages: list[dict] = [{"role": "system", "content": prose}] if prose else []
    last_call: str | None = None
    for k, (speaker, text) in enumerate(_turns(chat, "chat")):
        field = f"chat<turn {k + 1}: {speaker}>"
        if speaker == "USER":
            messages.append({"role": "user", "content": text})
            last_call = None
        elif speaker == "FUNCTION RESPONSE":
            if last_call is None:
                raise DataError("a FUNCTION RESPONSE that follows no <functioncall>", field=field)
            messages.append({"role": "tool", "name": last_call, "content": text})
            last_call = None
        elif CALL_TAG in text:
            before, _, after = text.partition(CALL_TAG)
            call, rest = parse_functioncall(after, field)
            if rest.strip():
                raise DataError(f"text after the {CALL_TAG} JSON: {rest.strip()[:60]!r}", field=field)
            prev = messages[-1] if messages else None
            if prev is not None and prev["role"] == "assistant" and not prev.get("tool_calls") and not before.strip():
                prev["tool_calls"] = [call]  # "ASSISTANT: text" then "ASSISTANT: <functioncall>"
            else:
                messages.append({"role": "assistant", "content": before.strip(), "tool_calls": [call]})
            last_call = call["name"]
        else:
            messages.append({"role": "assistant", "content": text})
            last_call = None
    return make_record(messages, tools, leftover_meta(row, {"system", "chat"}), fixes)


def from_canonical(record: Record) -> Row:
    system, messages = split_system(record)
    tools = record.get("tools") or []
    prose = system if system is not None else (WITH_FUNCTIONS if tools else WITHOUT_FUNCTIONS)
    defs = "".join("\n" + json.dumps(fn, indent=4, ensure_ascii=False) + "\n" for fn in bare_functions(tools))
    turns = []
    for i, msg in enumerate(messages):
        if msg["role"] == "user":
            turns.append(f"USER: {msg['content']}")
        elif msg["role"] == "tool":
            turns.append(f"FUNCTION RESPONSE: {msg['content']}")
        else:
            calls = msg.get("tool_calls") or []
            if len(calls) > 1:
                raise DataError("Glaive text holds one call per assistant turn (this one has "
                                f"{len(calls)})", field=f"messages[{i + (system is not None)}].tool_calls")
            parts = [msg.get("content") or ""]
            for call in calls:
                args = json.dumps(call["arguments"], ensure_ascii=False)
                parts.append(f"{CALL_TAG} {json.dumps({'name': call['name']}, ensure_ascii=False)[:-1]}, "
                             f"\"arguments\": '{args}'}}")
            turns.append("ASSISTANT: " + " ".join(p for p in parts if p) + f" {EOT}")
    row = {"system": f"SYSTEM: {prose}{defs}", "chat": "\n\n\n".join(turns)}
    return with_meta(row, record)
