"""FunctionRegistry: schemas derived from hints and docstrings, explicit schemas, errors."""

import dataclasses
import enum
from typing import Any, Literal, Optional

import pytest
from helpers.fc_records import WEATHER
from jsonschema import Draft202012Validator

from fc_finetune.data.schema import validate_tools
from fc_finetune.errors import DataError, FcFinetuneError
from fc_finetune.tools.registry import FunctionRegistry, RegistryError, UnknownFunctionError


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0
    label: str | None = None


@dataclasses.dataclass
class Box:
    """An axis-aligned box."""

    corner: Point
    size: list[float]
    tags: dict[str, int] = dataclasses.field(default_factory=dict, metadata={"description": "Counts."})


POINT = {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"},
                                          "label": {"type": ["string", "null"]}},
         "required": ["x"], "additionalProperties": False}


def params(props: dict, required: list[str] | None = None) -> dict:
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    return out


def schema_of(func, **kwargs) -> dict:
    registry = FunctionRegistry()
    registry.register(func, **kwargs)
    return registry.tools()[0]["function"]["parameters"]


def test_docstring_and_basic_types():
    registry = FunctionRegistry()

    @registry.register
    def get_weather(city: str, days: int, precise: bool, threshold: float = 0.5) -> dict:
        """Get the weather forecast.

        More detail, kept in the description as transformers does.

        Args:
            city: The city name.
            days: How many days
                to forecast.
        """
        return {}

    assert get_weather("x", 1, True) == {}  # the decorator returns the function unchanged
    assert registry.tools() == [{"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the weather forecast.\n\nMore detail, kept in the description as transformers does.",
        "parameters": params({"city": {"type": "string", "description": "The city name."},
                              "days": {"type": "integer", "description": "How many days to forecast."},
                              "precise": {"type": "boolean"}, "threshold": {"type": "number"}},
                             ["city", "days", "precise"])}}]


@pytest.mark.parametrize("hint, expected", [
    (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
    (Literal[1, "x"], {"type": ["integer", "string"], "enum": [1, "x"]}),
    (Unit, {"type": "string", "enum": ["celsius", "fahrenheit"]}),
    (list[int], {"type": "array", "items": {"type": "integer"}}),
    (list, {"type": "array"}),
    (tuple[str, ...], {"type": "array", "items": {"type": "string"}}),
    (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
    (dict, {"type": "object"}),
    (Any, {}),
    (int | str, {"type": ["integer", "string"]}),
    (list[int] | str, {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "string"}]}),
    (Point, POINT),
    (list[Point], {"type": "array", "items": POINT}),
    (Box, {"type": "object", "description": "An axis-aligned box.", "properties": {
        "corner": POINT, "size": {"type": "array", "items": {"type": "number"}},
        "tags": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "Counts."}},
        "required": ["corner", "size"], "additionalProperties": False}),
])
def test_required_hint_schemas(hint, expected):
    def f(v):
        """F."""
    f.__annotations__ = {"v": hint}
    assert schema_of(f) == params({"v": expected}, ["v"])


@pytest.mark.parametrize("hint, expected", [
    (Optional[int], {"type": ["integer", "null"]}),  # noqa: UP045 - both spellings are supported
    (int | None, {"type": ["integer", "null"]}),
    (Literal["a", "b"] | None, {"type": ["string", "null"], "enum": ["a", "b", None]}),
    (Unit | None, {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None]}),
    (Point | None, {**POINT, "type": ["object", "null"]}),
    (list[int] | str | None, {"anyOf": [{"anyOf": [{"type": "array", "items": {"type": "integer"}},
                                                   {"type": "string"}]}, {"type": "null"}]}),
])
def test_optional_hints_are_nullable_and_not_required(hint, expected):
    def f(v):
        """F."""
    f.__annotations__ = {"v": hint}
    assert schema_of(f) == params({"v": expected})


def test_defaults_make_parameters_optional_and_methods_skip_self():
    class Tools:
        def search(self, query: str, limit: int = 10, exact: bool = False) -> list:
            """Search."""
            return []

    assert schema_of(Tools().search) == params({"query": {"type": "string"}, "limit": {"type": "integer"},
                                                "exact": {"type": "boolean"}}, ["query"])


def test_pydantic_models_are_nested_objects():
    pydantic = pytest.importorskip("pydantic")

    class Address(pydantic.BaseModel):
        """A postal address."""

        street: str = pydantic.Field(description="Street and number.")
        zip_code: str | None = None

    def ship(to: Address, copies: int = 1) -> str:
        """Ship a parcel."""
        return ""

    assert schema_of(ship) == params({"to": {
        "type": "object", "description": "A postal address.",
        "properties": {"street": {"type": "string", "description": "Street and number."},
                       "zip_code": {"type": ["string", "null"]}},
        "required": ["street"], "additionalProperties": False}, "copies": {"type": "integer"}}, ["to"])


def test_prepare_converts_dicts_enums_and_fills_optional_none():
    registry = FunctionRegistry()

    @registry.register
    def draw(box: Box, unit: Unit, points: list[Point], note: str | None, scale: float = 1.0):
        """Draw."""

    kwargs = registry.get("draw").prepare({"box": {"corner": {"x": 1}, "size": [2, 3]}, "unit": "celsius",
                                           "points": [{"x": 0, "y": 1}]})
    assert kwargs == {"box": Box(Point(1), [2, 3]), "unit": Unit.CELSIUS, "points": [Point(0, 1)], "note": None}


def test_explicit_schema_and_names():
    registry = FunctionRegistry()
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}

    @registry.register(name="web_search", description="Search the web.", schema=schema)
    def search(**kwargs):
        return kwargs

    registry.register(lambda a: a, schema={"type": "function", "function": {
        "name": "echo", "description": "Echo.", "parameters": {"type": "object", "properties": {}}}})
    assert registry.names() == ["web_search", "echo"] == list(registry)
    assert "web_search" in registry and "search" not in registry and len(registry) == 2
    assert registry.get("web_search").tool() == {"type": "function", "function": {
        "name": "web_search", "description": "Search the web.", "parameters": schema}}
    assert registry.get("echo").description == "Echo."


def test_tools_export_is_valid_openai_shape():
    registry = FunctionRegistry()

    @registry.register
    def f(box: Box, unit: Unit | None = None, mode: Literal["x", "y"] = "x") -> None:
        """F."""

    tool_schema = {"type": "object", "required": ["type", "function"], "properties": {
        "type": {"const": "function"},
        "function": {"type": "object", "required": ["name", "description", "parameters"],
                     "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                                    "parameters": {"type": "object"}}}}}
    for tool in registry.tools():
        Draft202012Validator(tool_schema).validate(tool)
        Draft202012Validator.check_schema(tool["function"]["parameters"])


def test_registration_errors_name_function_and_parameter():
    registry = FunctionRegistry()

    @registry.register
    def lookup(key: str) -> str:
        """Look up."""
        return key

    with pytest.raises(RegistryError, match=r"'lookup' is already registered.*pass name="):
        registry.register(lookup)

    def untyped(a: int, b):
        """No hint."""
    with pytest.raises(RegistryError, match=r"'.*untyped'.*parameter 'b' has no type hint"):
        registry.register(untyped)

    class Opaque:
        pass

    def odd(x: Opaque):
        """Opaque."""
    with pytest.raises(RegistryError, match=r"odd'.*parameter 'x'.*cannot be written as JSON.*schema="):
        registry.register(odd)

    def keyed(x: dict[int, str]):
        """Int keys."""
    with pytest.raises(RegistryError, match=r"parameter 'x'.*dict\[str, X\]"):
        registry.register(keyed)

    def star(*args: int):
        """Varargs."""
    with pytest.raises(RegistryError, match=r"parameter 'args' is \*args"):
        registry.register(star)

    with pytest.raises(RegistryError, match=r"'bad'.*not a valid JSON schema"):
        registry.register(lambda: None, name="bad", schema={"type": "object", "properties": 3})

    async def slow(x: int):
        """Async."""
    with pytest.raises(RegistryError, match="is async"):
        registry.register(slow)

    with pytest.raises(UnknownFunctionError, match=r"'nope'.*registered: lookup") as info:
        registry.get("nope")
    assert isinstance(info.value, KeyError) and isinstance(info.value, FcFinetuneError)
    assert len(registry) == 1  # failed registrations leave nothing behind


@pytest.mark.parametrize("name", ["f</tool_call><tool_call>", "x" * 65, "has space", "tab\t", "name\n", "",
                                  "café", "a/b", "<lambda>"])
def test_names_that_could_break_the_prompt_are_refused(name):
    schema = {"type": "object", "properties": {}}
    with pytest.raises(RegistryError, match=r"is not a valid tool name: use 1 to 64 letters, digits"):
        FunctionRegistry().add(lambda: None, name=name or None, schema=schema)
    with pytest.raises(DataError) as info:
        validate_tools([WEATHER, {"function": {"name": "ok"}}, {"function": {"name": name or "<>"}}])
    assert info.value.field == "tools[2].function.name" and "not a valid tool name" in info.value.reason


def test_bfcl_style_names_pass():
    registry = FunctionRegistry()
    for name in ("math.factorial", "get-weather_v2", "A" * 64, "spotify.play", "x"):
        registry.add(lambda: None, name=name, schema={"type": "object", "properties": {}})
    assert validate_tools(registry.tools())[0]["function"]["name"] == "math.factorial"


def test_recursive_dataclass_is_refused():
    def walk(tree: Node):
        """Walk."""
    with pytest.raises(RegistryError, match=r"parameter 'tree'.*Node refers to itself"):
        FunctionRegistry().register(walk)


@dataclasses.dataclass
class Node:
    value: int
    children: list["Node"]
