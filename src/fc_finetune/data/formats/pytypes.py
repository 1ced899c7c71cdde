"""Python-style type names (as xLAM writes them) <-> JSON schema.

xLAM describes each parameter with a type string such as ``"str"``, ``"List[int]"``,
``"Optional[Dict[str, Any]]"``, ``"Tuple[float, float]"`` or ``"int, optional"``. This
module turns one into a JSON schema plus an "optional" flag, and back:

>>> python_type_schema("List[int]")
({'type': 'array', 'items': {'type': 'integer'}}, False)
>>> python_type_schema("str, optional")
({'type': 'string'}, True)
>>> python_type_schema("Optional[float]")
({'type': 'number'}, True)
>>> schema_python_type({'type': 'array', 'items': {'type': 'integer'}})
'List[int]'

Rules: ``str`` -> string, ``int`` -> integer, ``float`` -> number, ``bool`` -> boolean,
``List[X]``/``Set[X]``/``Sequence[X]`` -> array of X, ``Tuple[A, B]`` -> array with
``prefixItems`` (``Tuple[X, ...]`` -> array of X), ``Dict``/``dict`` -> object
(``Dict[str, X]`` -> object whose values are X), ``Optional[X]`` and ``X | None`` -> X and
optional, ``Union[A, B]`` -> ``anyOf``, ``Any`` and unknown names (``Callable``,
``datetime``, ...) -> no constraint (unknown names are reported through ``unknown``).
"""

from __future__ import annotations

import re
from typing import Any

from .params import json_type

_OPTIONAL_SUFFIX = re.compile(r"^(?P<type>.*?)\s*(?:,\s*|\(\s*|\s+)optional\s*\)?\s*$", re.IGNORECASE)
_DEFAULT_SUFFIX = re.compile(r"^(?P<type>.*?)\s*,\s*default\b.*$", re.IGNORECASE)
_ARRAYS = {"list", "sequence", "iterable", "set", "frozenset", "array", "collection"}
_OBJECTS = {"dict", "mapping", "object", "map", "json"}
_ANY = {"any", "", "object_any"}


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split at ``separator`` outside brackets: ``"int, Dict[str, int]"`` -> two parts."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == separator and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _split_args(text: str) -> list[str]:
    """Split ``"int, Dict[str, int]"`` at top-level commas."""
    return [p for p in _split_top_level(text, ",") if p]


def _split_union(text: str) -> list[str]:
    """Split ``"int | None"`` at top-level bars (a single part when there are none)."""
    return _split_top_level(text, "|")


def _union(members: list[str], unknown: list[str]) -> tuple[dict, bool]:
    optional = any(m.lower() in ("none", "nonetype") for m in members)
    schemas = [_parse(m, unknown)[0] for m in members if m.lower() not in ("none", "nonetype")]
    schemas = [s for i, s in enumerate(schemas) if s not in schemas[:i]]
    if not schemas or any(s == {} for s in schemas):
        return {}, optional
    if len(schemas) == 1:
        return schemas[0], optional
    if all(set(s) == {"type"} and isinstance(s["type"], str) for s in schemas):
        return {"type": [s["type"] for s in schemas]}, optional
    return {"anyOf": schemas}, optional


def _parse(text: str, unknown: list[str]) -> tuple[dict, bool]:
    text = text.strip().strip("'\"")
    members = _split_union(text)
    if len(members) > 1:
        return _union(members, unknown)
    match = re.fullmatch(r"(?P<name>[A-Za-z_][\w.]*)\s*(?:\[(?P<args>.*)\])?", text, re.DOTALL)
    if match is None:
        if text.lower() not in _ANY:
            unknown.append(text)
        return {}, False
    name = match["name"].split(".")[-1]
    low = name.lower()
    args = _split_args(match["args"]) if match["args"] is not None else []
    if low == "optional":
        return (_parse(args[0], unknown)[0] if args else {}), True
    if low == "union":
        return _union(args, unknown)
    if low == "tuple":
        if len(args) == 2 and args[1] == "...":
            items = _parse(args[0], unknown)[0]
            return ({"type": "array", "items": items} if items else {"type": "array"}), False
        if not args:
            return {"type": "array"}, False
        return {"type": "array", "prefixItems": [_parse(a, unknown)[0] for a in args]}, False
    if low in _ARRAYS:
        items = _parse(args[0], unknown)[0] if args else {}
        return ({"type": "array", "items": items} if items else {"type": "array"}), False
    if low in _OBJECTS:
        values = _parse(args[1], unknown)[0] if len(args) == 2 else {}
        return ({"type": "object", "additionalProperties": values} if values else {"type": "object"}), False
    if low in ("literal",):
        return {"enum": [_literal(a) for a in args]}, False
    mapped = json_type(low)
    if mapped is not None:
        return {"type": mapped}, False
    if low not in _ANY:
        unknown.append(text)
    return {}, False


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


def python_type_schema(text: Any, unknown: list[str] | None = None) -> tuple[dict, bool]:
    """(JSON schema, optional) for a Python-style type string; see the module docstring."""
    unknown = [] if unknown is None else unknown
    if not isinstance(text, str):
        unknown.append(repr(text))
        return {}, False
    text, optional = text.strip(), False
    for pattern in (_OPTIONAL_SUFFIX, _DEFAULT_SUFFIX):
        match = pattern.match(text)
        if match:
            text, optional = match["type"], True
    schema, inner_optional = _parse(text, unknown)
    return schema, optional or inner_optional


_BACK = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def schema_python_type(schema: dict) -> str | None:
    """The Python-style type string for a schema :func:`python_type_schema` can produce;
    None when the schema says more than a type string can (enum, properties, ...)."""
    keys = set(schema) - {"description", "default"}
    if not keys:
        return "Any"
    kind = schema.get("type")
    if keys == {"type"} and isinstance(kind, str) and kind in _BACK:
        return _BACK[kind]
    if keys == {"type"} and isinstance(kind, list) and all(k in _BACK for k in kind):
        return "Union[" + ", ".join(_BACK[k] for k in kind) + "]"
    if kind == "array" and keys <= {"type", "items"}:
        if "items" not in schema:
            return "list"
        inner = schema_python_type(schema["items"])
        return None if inner is None else f"List[{inner}]"
    if kind == "array" and keys == {"type", "prefixItems"}:
        inner = [schema_python_type(s) for s in schema["prefixItems"]]
        return None if None in inner else "Tuple[" + ", ".join(inner) + "]"
    if kind == "object" and keys <= {"type", "additionalProperties"}:
        if "additionalProperties" not in schema:
            return "dict"
        inner = schema_python_type(schema["additionalProperties"])
        return None if inner is None else f"Dict[str, {inner}]"
    return None
