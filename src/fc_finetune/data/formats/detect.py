"""Tell a dataset's format from the keys (and a little content) of its first rows.

Each row yields the set of formats it is compatible with; the sets of the first rows are
intersected and the most specific survivor wins (a plain chat with no calls reads the
same as canonical or OpenAI, as ShareGPT or Hermes). No survivor, or an unknown row, is a
:class:`~fc_finetune.errors.DataError` that names the keys seen and the ``--format`` flag.
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import DataError
from .common import check_row_limits, type_name

ROWS_CHECKED = 5
# Preference when several formats fit every row (the first wins).
PREFERENCE = ("canonical", "openai", "sharegpt", "hermes", "xlam", "glaive", "bfcl")
HINTS = {
    "canonical": "messages + tools, calls as {name, arguments: object}",
    "openai": "messages + tools/functions, tool_calls[].function",
    "sharegpt": "conversations with from: function_call/observation, tools",
    "hermes": "conversations with <tools>/<tool_call>/<tool_response> tags",
    "xlam": "query + tools + answers",
    "glaive": "system + chat text with USER:/ASSISTANT:",
    "bfcl": "id + question + function",
}
_HERMES_TAGS = ("<tool_call>", "<tools>", "<tool_response>")


def _turn_formats(turns: list) -> set[str]:
    text = json.dumps(turns, ensure_ascii=False)
    if any(tag in text for tag in _HERMES_TAGS):
        return {"hermes"}
    speakers = {str(t.get("from", t.get("role", ""))).lower() for t in turns if isinstance(t, dict)}
    if speakers & {"function_call", "observation", "tool_call", "function_response"}:
        return {"sharegpt"}
    return {"sharegpt", "hermes"}


def _role(message: dict) -> str:
    """A message's role when it is a string ('' otherwise: a list or object is no role)."""
    role = message.get("role")
    return role if isinstance(role, str) else ""


def _message_formats(row: dict) -> set[str]:
    messages = row["messages"]
    if not isinstance(messages, list):
        return set()
    sharegpt_roles = {"human", "gpt", "function_call", "observation"}
    if any(isinstance(m, dict) and ("from" in m or _role(m) in sharegpt_roles) for m in messages):
        return _turn_formats(messages)
    if "functions" in row:
        return {"openai"}
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        if msg.get("function_call") or msg.get("role") in ("function", "developer"):
            return {"openai"}
        if msg.get("role") == "tool" and "tool_call_id" in msg and "name" not in msg:
            return {"openai"}
        calls = msg.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                return {"openai"}
            if isinstance(call, dict) and "name" in call:
                return {"canonical"}
    return {"canonical", "openai"}


def row_formats(row: Any) -> set[str]:
    """The formats one row is compatible with (empty: none, also for a row over the reader's limits)."""
    if not isinstance(row, dict):
        return set()
    try:
        check_row_limits(row)
    except DataError:
        return set()
    if "query" in row and ("answers" in row or "tools" in row):
        return {"xlam"}
    if isinstance(row.get("chat"), str) and "system" in row:
        return {"glaive"}
    if "question" in row and ("function" in row or "id" in row):
        return {"bfcl"}
    if isinstance(row.get("conversations"), list):
        return _turn_formats(row["conversations"])
    if "messages" in row:
        return _message_formats(row)
    return set()


def _keys(row: Any) -> str:
    return f"keys {sorted(row)}" if isinstance(row, dict) else f"a {type(row).__name__}, not an object"


def detect_format(rows: list[dict], *, source: str | None = None) -> str:
    """The format name (a key of ``FORMATS``) that fits the first rows; see the module doc."""
    sample = list(rows[:ROWS_CHECKED])
    if not sample:
        raise DataError("no rows to detect the format from", source=source)
    options = set(PREFERENCE)
    for k, row in enumerate(sample):
        if isinstance(row, dict):
            try:
                check_row_limits(row)
            except DataError as exc:
                raise DataError(exc.reason, source=source, index=k) from None
        fits = row_formats(row)
        if not fits:
            for key, what in (("messages", "messages"), ("conversations", "turns")):
                if isinstance(row, dict) and key in row and not isinstance(row[key], list):
                    raise DataError(f"expected a list of {what}, got {type_name(row[key])}", source=source,
                                    index=k, field=key)
            if isinstance(row, dict) and set(row) >= {"id", "ground_truth"}:
                raise DataError("these are BFCL possible-answer rows, not questions: join them to the questions "
                                "with attach_possible_answers", source=source, index=k)
            known = "; ".join(f"{name} ({hint})" for name, hint in HINTS.items())
            raise DataError(f"cannot tell the format: row {k} has {_keys(row)}. Known formats: {known}. "
                            "Pass --format NAME to choose one", source=source, index=k)
        if not options & fits:
            raise DataError(f"rows look like different formats: rows 0-{k - 1} fit {sorted(options)}, row {k} "
                            f"({_keys(row)}) fits {sorted(fits)}. Pass --format NAME to choose one",
                            source=source, index=k)
        options &= fits
    return next(name for name in PREFERENCE if name in options)
