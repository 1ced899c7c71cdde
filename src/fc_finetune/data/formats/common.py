"""Helpers every converter shares: parsing embedded JSON, tools, calls, records, meta.

Converters raise :class:`~fc_finetune.errors.DataError` whose ``field`` is a path in the
*raw* row (``conversations[3].value``), so a user can find the bad input. Schema repairs
that change nothing a call may send (see :mod:`.params`) are not errors; they are listed
in the record's ``meta["schema_fixes"]`` so nothing is changed silently.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import DataError
from ...utils import safe_json
from .params import normalise_parameters

Row = dict[str, Any]
Record = dict[str, Any]


@dataclass(frozen=True)
class Converter:
    """One dataset format: how to read a raw row, and (where possible) how to write one."""

    name: str
    description: str
    to_canonical: Callable[[Row], Record]
    from_canonical: Callable[[Record], Row] | None = None


def check_row_limits(row: Row) -> None:
    """Refuse, as a DataError, a row that :func:`fc_finetune.utils.safe_json.loads` would not have
    produced: nested deeper than its limit, or holding an integer too long to print (a row built
    in Python rather than read from a file), so no converter meets a RecursionError or a number
    whose ``repr`` in an error message fails."""
    if safe_json.depth(row, safe_json.MAX_DEPTH) > safe_json.MAX_DEPTH:
        raise DataError(f"the row is nested deeper than {safe_json.MAX_DEPTH} levels")
    limit = sys.get_int_max_str_digits()
    too_big = 10 ** limit if limit else None
    stack = [row]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif too_big is not None and isinstance(item, int) and not -too_big < item < too_big:
            raise DataError(f"the row holds a number with too many digits (over {limit:,})")


def type_name(value: Any) -> str:
    """JSON's name for a Python value's type (for error messages)."""
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def expect(value: Any, kind: type | tuple[type, ...], field: str, what: str) -> Any:
    """Return ``value`` if it is a ``kind``; otherwise raise 'expected <what>, got <type>'."""
    if not isinstance(value, kind):
        raise DataError(f"expected {what}, got {type_name(value)}", field=field)
    return value


def parse_json(text: Any, field: str, what: str = "value") -> Any:
    """Parse a JSON-encoded string, naming the field and the position of a syntax error.
    Text over the safe reader's limits (nesting, digits, size) is a DataError too."""
    expect(text, str, field, f"{what} as a JSON string")
    try:
        return safe_json.loads(text)
    except safe_json.JSONLimitError as exc:
        raise DataError(f"{what} is over a limit: {exc}", field=field) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{what} is not valid JSON ({exc.msg} at char {exc.pos})", field=field) from None


_DECODER = json.JSONDecoder()


def decode_prefix(text: str, pos: int = 0) -> tuple[Any, int]:
    """``json.JSONDecoder.raw_decode`` (one JSON value at ``pos``, and where it ends) with the
    safe reader's limits: :class:`json.JSONDecodeError` for malformed text as usual,
    :class:`~fc_finetune.utils.safe_json.JSONLimitError` for nesting or integers over the limits."""
    try:
        value, end = _DECODER.raw_decode(text, pos)
    except RecursionError:
        raise safe_json.JSONLimitError(f"JSON nested deeper than {safe_json.MAX_DEPTH} levels") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # int() of a number over sys.get_int_max_str_digits()
        raise safe_json.JSONLimitError("JSON holds an integer with too many digits") from None
    return safe_json.check_depth(value), end


def parse_json_or_python(text: str, field: str, what: str = "value") -> Any:
    """JSON, or else a Python literal (``{'a': True}``) as Hermes data writes it; never eval.
    A literal must hold only JSON's types (no sets, bytes or complex numbers) within its limits."""
    try:
        return safe_json.loads(text)
    except safe_json.JSONLimitError as exc:
        raise DataError(f"{what} is over a limit: {exc}", field=field) from None
    except json.JSONDecodeError as exc:
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            value = _NOT_JSON
        if value is _NOT_JSON or not _json_like(value):
            raise DataError(f"{what} is neither valid JSON ({exc.msg} at char {exc.pos}) nor a "
                            "Python literal of JSON values", field=field) from None
        return value


_NOT_JSON = object()


def _json_like(value: Any) -> bool:
    """True for values made only of dicts with string keys, lists, tuples, strings, numbers,
    booleans and None, nested no deeper than the safe reader allows (checked without recursion)."""
    if safe_json.depth(value, safe_json.MAX_DEPTH) > safe_json.MAX_DEPTH:
        return False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif not (item is None or isinstance(item, str | bool | int | float)):
            return False
    return True


def maybe_json(value: Any, field: str, what: str) -> Any:
    """``value`` itself, or its parsed form when it is a JSON-encoded string."""
    return parse_json(value, field, what) if isinstance(value, str) else value


def parse_arguments(args: Any, field: str) -> dict:
    """Call arguments as an object: a dict, a JSON string of one, or None/"" (no arguments)."""
    if args is None or (isinstance(args, str) and not args.strip()):
        return {}
    if isinstance(args, str):
        args = parse_json(args, field, "arguments")
    return expect(args, dict, field, "arguments as an object")


def parse_call(obj: Any, field: str) -> dict:
    """A ``{"name", "arguments"}`` object (arguments possibly a JSON string) as a canonical call."""
    expect(obj, dict, field, "a call object {'name', 'arguments'}")
    name = obj.get("name")
    if not (isinstance(name, str) and name.strip()):
        raise DataError(f"a call needs a non-empty 'name', got {name!r}", field=f"{field}.name")
    key = "arguments" if "arguments" in obj else "parameters" if "parameters" in obj else "arguments"
    return {"name": name, "arguments": parse_arguments(obj.get(key), f"{field}.{key}")}


def content_text(content: Any, field: str) -> str:
    """Message content as a string: None is '', OpenAI content parts are joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, part in enumerate(content):
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type") in ("text", None) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                raise DataError("only text content parts are supported", field=f"{field}[{i}]")
        return "".join(parts)
    raise DataError(f"expected a string, got {type_name(content)}", field=field)


def result_text(value: Any) -> str:
    """A tool result as a string: strings stay, structured results are JSON-encoded."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def normalise_tool(tool: Any, field: str, fixes: list[str]) -> dict:
    """An OpenAI-style tool from either ``{"type": "function", "function": {...}}`` or a bare
    function definition ``{"name", "description", "parameters"}``."""
    expect(tool, dict, field, "a function definition object")
    fn, ffield = tool, field
    if isinstance(tool.get("function"), dict):
        fn, ffield = tool["function"], f"{field}.function"
        kind = tool.get("type", "function")
        if kind != "function":
            raise DataError(f"only tools of type 'function' are supported, got {kind!r}", field=f"{field}.type")
    name = fn.get("name")
    if not (isinstance(name, str) and name.strip()):
        raise DataError(f"a function needs a non-empty 'name', got {name!r}", field=f"{ffield}.name")
    description = fn.get("description")
    description = "" if description is None else expect(description, str, f"{ffield}.description", "a string")
    params = normalise_parameters(fn.get("parameters"), f"{ffield}.parameters", fixes)
    return {"type": "function", "function": {"name": name, "description": description, "parameters": params}}


def normalise_tools(tools: Any, field: str, fixes: list[str]) -> list[dict]:
    """A list of tools (possibly a JSON string, possibly empty or missing); names unique."""
    if tools is None or (isinstance(tools, str) and not tools.strip()):
        return []
    tools = maybe_json(tools, field, "tools")
    if isinstance(tools, dict):
        tools = [tools]
    expect(tools, list, field, "a list of function definitions")
    out, seen = [], {}
    for i, tool in enumerate(tools):
        norm = normalise_tool(tool, f"{field}[{i}]", fixes)
        name = norm["function"]["name"]
        if name in seen:
            raise DataError(f"duplicate function name {name!r} (also {field}[{seen[name]}])", field=f"{field}[{i}]")
        seen[name] = i
        out.append(norm)
    return out


def bare_functions(tools: list[dict]) -> list[dict]:
    """Canonical tools as bare ``{"name", "description", "parameters"}`` definitions."""
    return [dict(tool["function"]) for tool in tools]


def make_record(messages: list[dict], tools: list[dict], meta: dict | None = None,
                fixes: list[str] | None = None) -> Record:
    """Assemble a canonical record; ``meta`` only when there is something to keep."""
    record: Record = {"messages": messages, "tools": tools}
    meta = dict(meta or {})
    if fixes:
        meta["schema_fixes"] = list(dict.fromkeys(meta.get("schema_fixes", []) + fixes))
    if meta:
        record["meta"] = meta
    return record


def leftover_meta(row: Row, consumed: set[str]) -> dict:
    """The row's own ``meta`` dict plus every top-level key no converter step consumed."""
    meta = dict(row["meta"]) if isinstance(row.get("meta"), dict) else {}
    for key, value in row.items():
        if key not in consumed and key != "meta":
            meta.setdefault(key, value)
    return meta


def with_meta(row: Row, record: Record) -> Row:
    """Put the record's ``meta`` back on a written row (so round trips keep it)."""
    if record.get("meta"):
        row["meta"] = dict(record["meta"])
    return row


def split_system(record: Record) -> tuple[str | None, list[dict]]:
    """(system content or None, the remaining messages)."""
    messages = record.get("messages") or []
    if messages and messages[0].get("role") == "system":
        return messages[0].get("content") or "", messages[1:]
    return None, list(messages)
