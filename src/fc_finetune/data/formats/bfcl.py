"""BFCL (Berkeley Function Calling Leaderboard) question rows -> evaluation records.

Reads one JSON line of ``BFCL_v4_<category>.json``::

    {"id": "simple_python_1",
     "question": [[{"role": "user", "content": "Calculate the factorial of 5."}]],
     "function": [{"name": "math.factorial", "description": "...",
                   "parameters": {"type": "dict", "properties": {"number": {"type": "integer"}},
                                  "required": ["number"]}}]}

into a prompt record that ends with the user's message (validate it with
``require_final_assistant=False``). ``meta`` keeps ``id``, ``category`` (the id without
its trailing index: ``live_multiple_0-0-0`` -> ``live_multiple``), ``language`` and, when
the row has them, ``possible_answers`` (BFCL's ``ground_truth``: a list of
``{function: {param: [allowed values]}}``). :func:`attach_possible_answers` joins the
separate ``possible_answer/`` rows by id.

Parameter types are BFCL's Python-flavoured names: ``dict`` -> ``object``, ``float`` ->
``number``, ``tuple`` -> ``array``, ``any`` -> unconstrained (see :mod:`.params`). The
Java and JavaScript categories pass every argument as source code in a string, so, as
BFCL itself does for them, each parameter becomes ``{"type": "string"}`` and its
description says which Java/JavaScript type the string must denote. Function names keep
their dots (``math.factorial``).

Multi-turn and agentic categories (rows without ``function``; their tools come from
``involved_classes`` and need BFCL's execution environment) are not supported here.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable

from ...errors import DataError
from .common import Record, Row, content_text, expect, leftover_meta, make_record, normalise_tools

_CATEGORY = re.compile(r"^(?P<cat>[a-z_]+?)_\d+(?:[-_].*)?$")


def category_of(row_id: str) -> str:
    """``simple_python_12`` -> ``simple_python``; ``live_multiple_3-1-0`` -> ``live_multiple``.

    >>> category_of("memory_0-customer-0"), category_of("multi_turn_base_17")
    ('memory', 'multi_turn_base')
    """
    match = _CATEGORY.match(row_id)
    return match["cat"] if match else row_id


def language_of(category: str) -> str:
    return "java" if category.endswith("_java") else "javascript" if category.endswith("_javascript") else "python"


def _as_strings(fn: dict, language: str) -> dict:
    """BFCL's Java/JavaScript treatment: every parameter is source text in a string."""
    fn = copy.deepcopy(fn)
    label = "Java" if language == "java" else "JavaScript"
    params = fn.get("parameters") if isinstance(fn.get("parameters"), dict) else {}
    for prop in (params.get("properties") or {}).values():
        if not isinstance(prop, dict):
            continue
        kind = str(prop.get("type") or "any")
        note = (f" This parameter can be of any type of {label} object in string representation." if kind == "any"
                else f" This is {label} {kind} type parameter in string representation.")
        items = prop.get("items")
        if isinstance(items, dict) and items.get("type"):
            note += f" The list elements are of type {items['type']}; they are not in string representation."
        if isinstance(prop.get("properties"), dict):
            note += (" The dictionary entries have the following schema; they are not in string representation. "
                     + json.dumps(prop["properties"], ensure_ascii=False))
        prop["description"] = (prop.get("description") or "") + note
        for key in ("items", "properties", "required"):
            prop.pop(key, None)
        prop["type"] = "string"
    return fn


def _messages(question: object) -> list[dict]:
    expect(question, list, "question", "a list of turns (each a list of messages)")
    if not question:
        raise DataError("no turns", field="question")
    if len(question) > 1:
        raise DataError(f"{len(question)} turns: multi-turn questions need BFCL's execution environment "
                        "and are not supported", field="question")
    turn = expect(question[0], list, "question[0]", "a list of messages")
    if not turn:
        raise DataError("an empty turn", field="question[0]")
    messages = []
    for j, msg in enumerate(turn):
        field = f"question[0][{j}]"
        expect(msg, dict, field, "a message object with 'role' and 'content'")
        role = msg.get("role")
        if role not in ("system", "user", "assistant"):
            raise DataError(f"unexpected role {role!r}", field=f"{field}.role")
        messages.append({"role": role, "content": content_text(msg.get("content"), f"{field}.content")})
    return messages


def to_canonical(row: Row) -> Record:
    row_id = row.get("id")
    if not isinstance(row_id, str):
        raise DataError(f"expected the question id as a string, got {row_id!r}", field="id")
    category = category_of(row_id)
    if "function" not in row:
        hint = f" (tools come from involved_classes {row['involved_classes']})" if "involved_classes" in row else ""
        raise DataError(f"no function docs{hint}: the {category!r} category needs BFCL's execution "
                        "environment and is not supported", field="function")
    language = language_of(category)
    functions = expect(row["function"], list, "function", "a list of function docs")
    if language != "python":
        functions = [_as_strings(fn, language) if isinstance(fn, dict) else fn for fn in functions]
    fixes: list[str] = []
    tools = normalise_tools(functions, "function", fixes)
    meta = {"id": row_id, "category": category, "language": language}
    meta.update(leftover_meta(row, {"id", "question", "function", "ground_truth"}))
    if "ground_truth" in row:
        meta["possible_answers"] = row["ground_truth"]
    return make_record(_messages(row.get("question")), tools, meta, fixes)


def attach_possible_answers(records: Iterable[Record], answers_rows: Iterable[Row], *,
                            strict: bool = False) -> list[Record]:
    """Copies of ``records`` with ``meta["possible_answers"]`` from the answer row of the same
    ``meta["id"]``. Records without an answer row stay as they are (BFCL's irrelevance
    categories have none), unless ``strict``: then a missing answer is an error.
    """
    by_id: dict[str, object] = {}
    for k, row in enumerate(answers_rows):
        if not (isinstance(row, dict) and isinstance(row.get("id"), str) and "ground_truth" in row):
            raise DataError("expected {'id': str, 'ground_truth': [...]}", field=f"answers[{k}]")
        by_id[row["id"]] = row["ground_truth"]
    out = []
    for k, record in enumerate(records):
        record_id = (record.get("meta") or {}).get("id")
        record = {**record, "meta": dict(record.get("meta") or {})}
        if record_id in by_id:
            record["meta"]["possible_answers"] = by_id[record_id]
        elif strict:
            raise DataError(f"no possible answer for id {record_id!r}", index=k, field="meta.id")
        out.append(record)
    return out
