"""Repair loose ``parameters`` schemas into JSON Schema (Draft 2020-12) objects.

Datasets write function signatures loosely. Type names of other dialects are
translated quietly (that is their documented meaning); the *repairs* marked (noted)
below are each reported in ``fixes``, which converters keep in ``meta["schema_fixes"]``:

- missing/``null`` parameters become ``{"type": "object", "properties": {}}``; a missing
  top-level ``type`` becomes ``"object"`` (noted), missing ``properties`` ``{}``;
- type names from other languages map to JSON types (:data:`TYPE_ALIASES`: ``dict`` ->
  ``object``, ``float`` -> ``number``, ``tuple``/``list`` -> ``array``, ``bool`` ->
  ``boolean``, ...); ``any``, ``""`` and unknown names drop the type constraint;
- ``required`` entries naming absent properties are dropped (noted: they name nothing a
  caller is told about); a property's own ``"required": true`` (draft-3 style) moves into
  its parent's ``required`` list (noted); a single name as ``required`` becomes a list (noted);
- a list-valued ``items`` (tuple, draft 4) becomes ``prefixItems`` (noted).

Nothing here touches call arguments: a call that does not match its (repaired) schema is
reported by :func:`fc_finetune.data.schema.validate_record`, never fixed.
"""

from __future__ import annotations

from typing import Any

from ...errors import DataError

JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
TYPE_ALIASES = {
    "str": "string", "text": "string", "char": "string", "int": "integer", "long": "integer",
    "short": "integer", "byte": "integer", "float": "number", "double": "number", "decimal": "number",
    "bool": "boolean", "list": "array", "tuple": "array", "set": "array", "dict": "object",
    "map": "object", "hashmap": "object", "none": "null",
}
UNCONSTRAINED = ("any", "", "unknown")
EMPTY_PARAMETERS = {"type": "object", "properties": {}}


def json_type(name: str) -> str | None:
    """The JSON-schema type for a type name; None means 'no constraint' (``any``, unknown).

    >>> json_type("float"), json_type("Dict"), json_type("any")
    ('number', 'object', None)
    """
    low = name.strip().lower()
    if low in JSON_TYPES:
        return low
    return TYPE_ALIASES.get(low)


def _fix_type(node: dict, path: str, fixes: list[str]) -> None:
    kind = node.get("type")
    if isinstance(kind, str):
        mapped = json_type(kind)
        if mapped is None:
            del node["type"]
            if kind.strip().lower() not in UNCONSTRAINED:
                fixes.append(f"{path}.type: unknown type {kind!r}, left unconstrained")
        elif mapped != kind:
            node["type"] = mapped
    elif isinstance(kind, list):
        mapped_list = [json_type(k) if isinstance(k, str) else None for k in kind]
        if None in mapped_list:
            del node["type"]
            fixes.append(f"{path}.type: {kind!r} includes an unknown type, left unconstrained")
        elif mapped_list != kind:
            node["type"] = list(dict.fromkeys(mapped_list))
    elif kind is not None:
        raise DataError(f"a type must be a string or a list of strings, got {kind!r}", field=f"{path}.type")


def _fix_required(node: dict, path: str, fixes: list[str], *, is_property: bool) -> None:
    props = node.get("properties")
    required = node.get("required")
    if isinstance(required, bool) and is_property:
        return  # draft-3 style "required": true on a property: its parent lifts it
    if isinstance(required, bool):  # on a schema that is no property: meaningless
        del node["required"]
        fixes.append(f"{path}.required: boolean {required} removed")
        required = None
    lifted = []
    if isinstance(props, dict):
        for key, sub in props.items():
            if isinstance(sub, dict) and isinstance(sub.get("required"), bool):
                if sub.pop("required"):
                    lifted.append(key)
                fixes.append(f"{path}.properties.{key}.required: boolean moved to {path}.required")
    if required is None and not lifted:
        return
    if isinstance(required, str):  # one name where a list was due
        fixes.append(f"{path}.required: the name {required!r} turned into a list")
        required = [required]
    if required is not None and not isinstance(required, list):
        raise DataError(f"'required' must be a list of property names, got {required!r}", field=f"{path}.required")
    required = list(required or [])
    if not all(isinstance(r, str) for r in required):
        raise DataError(f"'required' must list property names, got {required!r}", field=f"{path}.required")
    required = list(dict.fromkeys(required + lifted))
    if isinstance(props, dict):
        absent = [r for r in required if r not in props]
        if absent:
            fixes.append(f"{path}.required: dropped {absent} (not in properties)")
            required = [r for r in required if r in props]
    node["required"] = required


def normalise_schema(node: Any, path: str, fixes: list[str], *, is_property: bool = False) -> dict:
    """A repaired copy of one (sub)schema; see the module docstring for the rules."""
    if isinstance(node, str):  # a bare type name where a schema was expected
        fixes.append(f"{path}: type name {node!r} turned into a schema")
        node = {"type": node}
    if isinstance(node, bool):
        return node  # true/false are valid schemas
    if not isinstance(node, dict):
        raise DataError(f"expected a JSON-schema object, got {type(node).__name__}", field=path)
    node = dict(node)
    _fix_type(node, path, fixes)
    if isinstance(node.get("properties"), dict):
        node["properties"] = {k: normalise_schema(v, f"{path}.properties.{k}", fixes, is_property=True)
                              for k, v in node["properties"].items()}
    elif "properties" in node:
        raise DataError("expected an object of property schemas", field=f"{path}.properties")
    _fix_required(node, path, fixes, is_property=is_property)
    items = node.get("items")
    if isinstance(items, list):
        node["prefixItems"] = [normalise_schema(s, f"{path}.items[{i}]", fixes) for i, s in enumerate(items)]
        del node["items"]
        fixes.append(f"{path}.items: list form -> prefixItems")
    elif items is not None:
        node["items"] = normalise_schema(items, f"{path}.items", fixes)
    if isinstance(node.get("prefixItems"), list) and "items" not in node:
        node["prefixItems"] = [normalise_schema(s, f"{path}.prefixItems[{i}]", fixes)
                               for i, s in enumerate(node["prefixItems"])]
    if isinstance(node.get("additionalProperties"), dict | str):
        node["additionalProperties"] = normalise_schema(node["additionalProperties"],
                                                        f"{path}.additionalProperties", fixes)
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(node.get(key), list):
            node[key] = [normalise_schema(s, f"{path}.{key}[{i}]", fixes) for i, s in enumerate(node[key])]
    return node


def normalise_parameters(params: Any, path: str, fixes: list[str]) -> dict:
    """A function's ``parameters`` as a JSON-schema object (``"type": "object"``)."""
    if params is None:
        return {"type": "object", "properties": {}}
    if not isinstance(params, dict):
        raise DataError(f"expected a JSON-schema object, got {type(params).__name__}", field=path)
    kind = params.get("type")
    if kind is None or (isinstance(kind, str) and json_type(kind) == "object"):
        if kind is None:
            fixes.append(f"{path}.type: missing, set to 'object'")
        params = {**params, "type": "object"}
    else:
        raise DataError(f"the parameters schema must be an object schema, got type {kind!r}", field=f"{path}.type")
    params = normalise_schema(params, path, fixes)
    if "properties" not in params:
        params["properties"] = {}
    return params
