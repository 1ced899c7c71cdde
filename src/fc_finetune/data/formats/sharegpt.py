"""ShareGPT / LLaMA-Factory format: ``conversations`` with ``function_call`` / ``observation``.

Reads (LLaMA-Factory's ``glaive_toolcall_*_demo.json`` layout)::

    {"conversations": [{"from": "human", "value": "..."},
                       {"from": "function_call", "value": "{\\"name\\": \\"f\\", \\"arguments\\": {...}}"},
                       {"from": "observation", "value": "{\\"result\\": 1}"},
                       {"from": "gpt", "value": "..."}],
     "tools": "[{\\"name\\": \\"f\\", \\"description\\": \\"...\\", \\"parameters\\": {...}}]",
     "system": "optional system prompt"}

- Turn keys ``from``/``value`` or ``role``/``content``; speakers ``human``/``user``,
  ``gpt``/``assistant``/``model``, ``function_call``, ``observation``/``tool``/``function``,
  ``system`` (only first).
- A ``function_call`` turn holds one call ``{"name", "arguments"}`` (arguments an object or
  a JSON string) or a list of calls (parallel). Consecutive ``function_call`` turns join
  into one parallel call, and a ``function_call`` right after a ``gpt`` turn joins that
  turn (text, then calls), which is how :func:`from_canonical` writes such a message.
- Results: one ``observation`` turn per call. A single observation answering N > 1 calls
  must be a JSON list of N results. An observation that follows no call is an error
  (the data holds a call written as prose: nothing can be trained from it faithfully).
- ``tools``: a JSON string or a list, of bare function definitions or OpenAI-style tools;
  ``""`` / ``"[]"`` / absent means no tools.
"""

from __future__ import annotations

import json

from ...errors import DataError
from ...utils import safe_json
from .common import (
    Record,
    Row,
    bare_functions,
    expect,
    leftover_meta,
    make_record,
    maybe_json,
    normalise_tools,
    parse_call,
    result_text,
    split_system,
    with_meta,
)

SPEAKERS = {
    "human": "user", "user": "user",
    "gpt": "assistant", "assistant": "assistant", "model": "assistant", "chatgpt": "assistant", "bot": "assistant",
    "function_call": "call", "tool_call": "call",
    "observation": "result", "tool": "result", "function": "result", "function_response": "result",
    "system": "system",
}


def turn_parts(turn: object, field: str) -> tuple[str, str, str, str]:
    """(speaker, text, speaker key, text key) of one turn, accepting from/value or role/content."""
    expect(turn, dict, field, "a turn object with 'from' and 'value'")
    speaker_key = "from" if "from" in turn else "role"
    text_key = "value" if "value" in turn else "content"
    speaker = turn.get(speaker_key)
    if not isinstance(speaker, str) or speaker.lower() not in SPEAKERS:
        raise DataError(f"unknown speaker {speaker!r} (expected one of {sorted(set(SPEAKERS))})",
                        field=f"{field}.{speaker_key}")
    text = turn.get(text_key)
    if text is None:
        text = ""
    if speaker.lower() not in ("function_call", "tool_call", "observation", "tool", "function",
                               "function_response") and not isinstance(text, str):
        raise DataError(f"expected a string, got {type(text).__name__}", field=f"{field}.{text_key}")
    return SPEAKERS[speaker.lower()], text, speaker_key, text_key


def _read_calls(text: object, field: str) -> list[dict]:
    obj = maybe_json(text, field, "function_call")
    items = obj if isinstance(obj, list) else [obj]
    if not items:
        raise DataError("an empty list of calls", field=field)
    return [parse_call(item, f"{field}[{k}]" if isinstance(obj, list) else field) for k, item in enumerate(items)]


class _Builder:
    """Accumulate canonical messages while walking the turns."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.owed: list[str] = []  # names of calls whose results are still to come

    def call(self, calls: list[dict]) -> None:
        last = self.messages[-1] if self.messages else None
        if last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).extend(calls)  # text then calls, or several call turns
            self.owed.extend(c["name"] for c in calls)
        else:
            self.messages.append({"role": "assistant", "content": "", "tool_calls": calls})
            self.owed = [c["name"] for c in calls]

    def results(self, texts: list[object], fields: list[str]) -> None:
        """A run of consecutive observation turns."""
        if not self.owed:
            raise DataError("an observation that follows no function_call (is the call written as text "
                            "in the previous turn?)", field=fields[0])
        if len(texts) == 1 and len(self.owed) > 1:
            parsed = texts[0]
            if isinstance(parsed, str) and parsed.lstrip().startswith("["):
                try:
                    parsed = safe_json.loads(parsed)
                except ValueError:  # not JSON (or over the reader's limits): one text result
                    pass
            if isinstance(parsed, list) and len(parsed) == len(self.owed):
                texts = parsed
        if len(texts) != len(self.owed):
            raise DataError(f"{len(texts)} observation(s) for {len(self.owed)} call(s) (give one observation "
                            f"turn per call, or one JSON list of {len(self.owed)} results)", field=fields[-1])
        for value in texts:
            self.messages.append({"role": "tool", "name": self.owed.pop(0), "content": result_text(value)})

    def close(self, field: str) -> None:
        """Before a user/assistant turn: calls with no results may only end the conversation."""
        if self.owed:
            raise DataError(f"{len(self.owed)} function_call(s) have no observation before this turn", field=field)


def to_canonical(row: Row) -> Record:
    fixes: list[str] = []
    key = "conversations" if "conversations" in row else "messages"
    turns = expect(row.get(key), list, key, "a list of turns")
    tools = normalise_tools(row.get("tools"), "tools", fixes)
    build = _Builder()
    system = row.get("system")
    if system:
        build.messages.append({"role": "system", "content": expect(system, str, "system", "a string")})
    parsed = [(turn_parts(turn, f"{key}[{i}]"), f"{key}[{i}]") for i, turn in enumerate(turns)]
    i = 0
    while i < len(parsed):
        (role, text, _, text_key), field = parsed[i]
        if role == "call":
            build.call(_read_calls(text, f"{field}.{text_key}"))
        elif role == "result":
            run = i
            while run < len(parsed) and parsed[run][0][0] == "result":
                run += 1
            build.results([p[0][1] for p in parsed[i:run]], [f"{p[1]}.{p[0][3]}" for p in parsed[i:run]])
            i = run
            continue
        else:
            build.close(field)
            if role == "system" and build.messages:
                raise DataError("a system turn is only allowed first (and not beside a 'system' field)",
                                field=field)
            build.messages.append({"role": role, "content": text})
        i += 1
    meta = leftover_meta(row, {key, "tools", "system"})
    return make_record(build.messages, tools, meta, fixes)


def from_canonical(record: Record) -> Row:
    """LLaMA-Factory layout: calls as ``function_call`` turns (a list when parallel), one
    ``observation`` per result, ``tools`` as a JSON string, ``system`` as a field."""
    system, messages = split_system(record)
    turns: list[dict] = []
    for msg in messages:
        role = msg["role"]
        if role == "user":
            turns.append({"from": "human", "value": msg["content"]})
        elif role == "assistant":
            if msg.get("content") or not msg.get("tool_calls"):
                turns.append({"from": "gpt", "value": msg.get("content", "")})
            calls = [{"name": c["name"], "arguments": c["arguments"]} for c in msg.get("tool_calls") or []]
            if calls:
                value = calls[0] if len(calls) == 1 else calls
                turns.append({"from": "function_call", "value": json.dumps(value, ensure_ascii=False)})
        elif role == "tool":
            turns.append({"from": "observation", "value": msg["content"]})
    row: Row = {"conversations": turns,
                "tools": json.dumps(bare_functions(record.get("tools") or []), ensure_ascii=False)}
    if system is not None:
        row["system"] = system
    return with_meta(row, record)
