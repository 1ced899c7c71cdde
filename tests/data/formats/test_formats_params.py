"""Schema repairs (params.py) and Python-style type names (pytypes.py)."""

from __future__ import annotations

import pytest

from fc_finetune.data.formats.params import normalise_parameters
from fc_finetune.data.formats.pytypes import python_type_schema, schema_python_type
from fc_finetune.errors import DataError


@pytest.mark.parametrize("text, schema, optional", [
    ("str", {"type": "string"}, False),
    ("int", {"type": "integer"}, False),
    ("float", {"type": "number"}, False),
    ("bool", {"type": "boolean"}, False),
    ("List[int]", {"type": "array", "items": {"type": "integer"}}, False),
    ("List[List[str]]", {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}, False),
    ("list", {"type": "array"}, False),
    ("Dict", {"type": "object"}, False),
    ("dict", {"type": "object"}, False),
    ("Dict[str, int]", {"type": "object", "additionalProperties": {"type": "integer"}}, False),
    ("Dict[str, Any]", {"type": "object"}, False),
    ("Tuple[int, str]", {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]}, False),
    ("Tuple[float, ...]", {"type": "array", "items": {"type": "number"}}, False),
    ("tuple", {"type": "array"}, False),
    ("Optional[str]", {"type": "string"}, True),
    ("str, optional", {"type": "string"}, True),
    ("int, optional", {"type": "integer"}, True),
    ("List[int], optional", {"type": "array", "items": {"type": "integer"}}, True),
    ("str (optional)", {"type": "string"}, True),
    ("float, default=0.5", {"type": "number"}, True),
    ("int | None", {"type": "integer"}, True),
    ("Union[int, float]", {"type": ["integer", "number"]}, False),
    ("Union[int, List[int]]", {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}, False),
    ("Literal['a', 'b']", {"enum": ["a", "b"]}, False),
    ("Any", {}, False),
    ("typing.List[str]", {"type": "array", "items": {"type": "string"}}, False),
])
def test_python_type_schema(text, schema, optional):
    unknown: list[str] = []
    assert python_type_schema(text, unknown) == (schema, optional)
    assert unknown == []


def test_unknown_python_types_are_unconstrained_and_reported():
    unknown: list[str] = []
    assert python_type_schema("Callable", unknown) == ({}, False)
    assert python_type_schema("List[datetime]", unknown) == ({"type": "array"}, False)
    assert unknown == ["Callable", "datetime"]


@pytest.mark.parametrize("text", ["str", "int", "float", "bool", "List[int]", "List[List[str]]", "dict", "list",
                                  "Dict[str, int]", "Tuple[int, str]", "Union[int, float]"])
def test_type_strings_round_trip(text):
    assert schema_python_type(python_type_schema(text)[0]) == text


def test_schema_python_type_refuses_what_it_cannot_say():
    assert schema_python_type({"type": "string", "enum": ["a"]}) is None
    assert schema_python_type({"type": "object", "properties": {"a": {"type": "string"}}}) is None


def test_loose_glaive_schema_is_repaired_and_noted():
    fixes: list[str] = []
    params = {"properties": {"a": {"type": "string", "required": True}, "b": {"type": "int"}},
              "required": ["b", "ghost"]}
    out = normalise_parameters(params, "tools[0].parameters", fixes)
    assert out == {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                   "required": ["b", "a"]}
    assert fixes == ["tools[0].parameters.type: missing, set to 'object'",
                     "tools[0].parameters.properties.a.required: boolean moved to tools[0].parameters.required",
                     "tools[0].parameters.required: dropped ['ghost'] (not in properties)"]
    assert params["required"] == ["b", "ghost"]  # the input is not modified


def test_bfcl_type_names_translate_quietly():
    fixes: list[str] = []
    params = {"type": "dict", "properties": {
        "x": {"type": "float"}, "t": {"type": "tuple", "items": {"type": "float"}}, "any": {"type": "any"},
        "d": {"type": "dict", "properties": {"k": {"type": "bool"}}}, "n": {"type": "Hashtable"}}}
    out = normalise_parameters(params, "function[0].parameters", fixes)
    assert out["type"] == "object"
    assert out["properties"] == {"x": {"type": "number"}, "t": {"type": "array", "items": {"type": "number"}},
                                 "any": {}, "d": {"type": "object", "properties": {"k": {"type": "boolean"}}},
                                 "n": {}}
    assert fixes == ["function[0].parameters.properties.n.type: unknown type 'Hashtable', left unconstrained"]


def test_missing_parameters_and_list_items():
    fixes: list[str] = []
    assert normalise_parameters(None, "p", fixes) == {"type": "object", "properties": {}}
    out = normalise_parameters({"type": "object", "properties": {"p": {"type": "array", "items": [{"type": "int"}]}}},
                               "p", fixes)
    assert out["properties"]["p"] == {"type": "array", "prefixItems": [{"type": "integer"}]}
    assert fixes == ["p.properties.p.items: list form -> prefixItems"]


def test_non_object_parameters_are_an_error():
    with pytest.raises(DataError, match=r"^tools\[0\]\.parameters\.type: the parameters schema must be an object"):
        normalise_parameters({"type": "string"}, "tools[0].parameters", [])
