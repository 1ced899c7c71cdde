"""Executor fault injection: every failure becomes a ToolResult, the loop keeps going.

These run in thread mode, where the functions' side effects (``executor.calls``) are seen by the
test; process mode (the default) and hostile tools: test_executor_hardening.py and
test_executor_adversarial.py."""

import dataclasses
import enum
import json
import logging
import threading
import time
from typing import Literal

import pytest

from fc_finetune.tools.executor import Executor, ToolResult, loggable_arguments, to_content
from fc_finetune.tools.registry import FunctionRegistry


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


@dataclasses.dataclass
class Report:
    city: str
    temperature: float
    unit: Unit


@pytest.fixture
def release():
    event = threading.Event()
    yield event
    event.set()  # lets the abandoned "hanging" thread finish


@pytest.fixture
def executor(release):
    registry = FunctionRegistry()
    calls = []

    @registry.register
    def get_weather(city: str, unit: Unit = Unit.CELSIUS, days: int = 1) -> Report:
        """Weather."""
        calls.append(("get_weather", city, unit))
        return Report(city, 21.5, unit)

    @registry.register
    def boom(reason: str) -> None:
        """Raises."""
        calls.append(("boom", reason))
        raise ValueError(f"cannot do {reason}")

    @registry.register
    def hang() -> str:
        """Hangs until the test ends."""
        release.wait(10)
        return "late"

    @registry.register
    def garbage(kind: Literal["object", "set", "nan", "none", "text"]):
        """Returns something."""
        return {"object": object(), "set": {1, 2}, "nan": {"v": float("nan")}, "none": None, "text": "plain"}[kind]

    @registry.register
    def distance(a: Point, b: Point) -> float:
        """Distance."""
        calls.append(("distance", a, b))
        return ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5

    ex = Executor(registry, timeout_s=0.2, isolation="thread")
    ex.calls = calls
    return ex


def test_ok_result_is_json_of_the_return_value(executor):
    result = executor.execute({"name": "get_weather", "arguments": {"city": "Oslo", "unit": "fahrenheit"}})
    assert result.status == "ok" and result.ok and result.error is None
    assert json.loads(result.content) == {"city": "Oslo", "temperature": 21.5, "unit": "fahrenheit"}
    assert executor.calls == [("get_weather", "Oslo", Unit.FAHRENHEIT)]  # the Enum member, not the string
    assert result.message("call_1") == {"role": "tool", "name": "get_weather", "content": result.content,
                                        "tool_call_id": "call_1"}


def test_arguments_as_json_string(executor):
    result = executor.execute({"name": "get_weather", "arguments": '{"city": "Rome"}'})
    assert result.status == "ok" and result.arguments == {"city": "Rome"}
    bad = executor.execute({"name": "get_weather", "arguments": "{'city': __import__('os')}"})
    assert bad.status == "invalid_arguments" and "not valid JSON" in bad.content
    assert len(executor.calls) == 1


def test_dataclass_arguments_are_constructed(executor):
    result = executor.execute({"name": "distance", "arguments": {"a": {"x": 0, "y": 0}, "b": {"x": 3, "y": 4}}})
    assert (result.status, result.content) == ("ok", "5.0")
    assert executor.calls == [("distance", Point(0, 0), Point(3, 4))]


def test_pydantic_arguments_are_constructed():
    pydantic = pytest.importorskip("pydantic")

    class Order(pydantic.BaseModel):
        item: str
        quantity: int = pydantic.Field(1, ge=1)

    registry = FunctionRegistry()
    seen = []

    def place(order: Order) -> dict:
        """Place an order."""
        seen.append(order)
        return order

    registry.register(place)
    executor = Executor(registry, timeout_s=1, isolation="thread")
    result = executor.execute({"name": "place", "arguments": {"order": {"item": "tea", "quantity": 2}}})
    assert result.status == "ok" and json.loads(result.content) == {"item": "tea", "quantity": 2}
    assert seen == [Order(item="tea", quantity=2)]
    refused = executor.execute({"name": "place", "arguments": {"order": {"item": "tea", "quantity": 0}}})
    assert refused.status == "invalid_arguments" and "greater than or equal to 1" in refused.content
    assert len(seen) == 1


def test_exception_becomes_error_message(executor):
    result = executor.execute({"name": "boom", "arguments": {"reason": "that"}})
    assert result.status == "error"
    assert result.content == "Error: boom failed: ValueError: cannot do that"
    assert result.error == "ValueError: cannot do that"


def test_hanging_tool_times_out_fast_and_the_loop_goes_on(executor):
    start = time.perf_counter()
    result = executor.execute({"name": "hang", "arguments": {}})
    elapsed = time.perf_counter() - start
    assert result.status == "timeout" and elapsed < 1.0 and 0.15 < result.duration_s < 1.0
    assert "did not finish within 0.2 s" in result.content and executor.abandoned == 1
    again = executor.execute({"name": "hang", "arguments": {}})  # a hung thread does not block later calls
    assert again.status == "timeout" and executor.abandoned == 2
    assert executor.execute({"name": "get_weather", "arguments": {"city": "Oslo"}}).status == "ok"


@pytest.mark.parametrize("kind, status, content", [
    ("object", "bad_result", "garbage returned object, which cannot be written as JSON"),
    ("set", "bad_result", "garbage returned set, which cannot be written as JSON"),
    ("nan", "bad_result", "garbage returned dict, which cannot be written as JSON (Out of range float"),
    ("none", "ok", "null"),
    ("text", "ok", "plain"),
])
def test_results_that_are_not_json(executor, kind, status, content):
    result = executor.execute({"name": "garbage", "arguments": {"kind": kind}})
    assert result.status == status and content in result.content


def test_unknown_function_is_never_run(executor):
    result = executor.execute({"name": "rm_rf", "arguments": {"path": "/"}})
    assert result.status == "unknown_function" and result.duration_s == 0
    assert result.content == ("Error: there is no function named rm_rf. Available functions: "
                              "get_weather, boom, hang, garbage, distance.")
    assert executor.execute({"arguments": {}}).status == "unknown_function"  # no name at all
    assert executor.calls == []


@pytest.mark.parametrize("arguments, message", [
    ({"city": 3}, "city: 3 is not of type 'string'"),
    ({}, "arguments: 'city' is a required property"),
    ({"city": "Oslo", "unit": "kelvin"}, "unit: 'kelvin' is not one of ['celsius', 'fahrenheit']"),
    ({"city": "Oslo", "days": True}, "days: True is not of type 'integer'"),
    ({"city": "Oslo", "country": "NO"}, "Additional properties are not allowed ('country' was unexpected)"),
    (["Oslo"], "arguments must be a JSON object, got list"),
])
def test_invalid_arguments_are_rejected_before_the_call(executor, arguments, message):
    result = executor.execute({"name": "get_weather", "arguments": arguments})
    assert result.status == "invalid_arguments" and message in result.content
    assert result.content.startswith("Error: invalid arguments for get_weather: ")
    assert result.content.endswith("Fix the arguments and call it again.")
    assert executor.calls == []


def test_nan_arguments_are_rejected(executor):
    result = executor.execute({"name": "distance", "arguments": '{"a": {"x": NaN}, "b": {"x": 1}}'})
    assert result.status == "invalid_arguments" and "NaN and infinity are not valid JSON numbers" in result.content
    assert executor.calls == []


def test_every_outcome_in_one_loop(executor):
    calls = [{"name": "boom", "arguments": {"reason": "x"}}, {"name": "nope", "arguments": {}},
             {"name": "garbage", "arguments": {"kind": "set"}}, {"name": "get_weather", "arguments": {}},
             {"name": "hang", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]
    results = executor.execute_all(calls)
    assert all(isinstance(r, ToolResult) for r in results)
    assert [r.status for r in results] == ["error", "unknown_function", "bad_result", "invalid_arguments",
                                           "timeout", "ok"]


def test_calls_are_logged_with_name_duration_status_and_no_secrets(executor, caplog):
    caplog.set_level(logging.DEBUG, logger="fc_finetune.tools.executor")
    executor.execute({"name": "get_weather", "arguments": {"city": "Oslo"}})
    executor.execute({"name": "boom", "arguments": {"reason": "x" * 1000}})
    executor.execute({"name": "nope", "arguments": {"api_key": "sk-123", "nested": [{"password": "hunter2"}]}})
    records = [r for r in caplog.records if r.name == "fc_finetune.tools.executor" and hasattr(r, "tool_name")]
    assert [(r.tool_name, r.tool_status) for r in records] == [("get_weather", "ok"), ("boom", "error"),
                                                               ("nope", "unknown_function")]
    assert all(r.levelno == logging.DEBUG and isinstance(r.tool_duration_s, float) for r in records)
    text = [r.getMessage() for r in records]
    assert text[0].startswith('tool call get_weather({"city": "Oslo"}) -> ok in ')
    assert len(text[1]) < 300 and "chars)" in text[1]  # truncated arguments
    assert "sk-123" not in text[2] and "hunter2" not in text[2] and '"api_key": "***"' in text[2]


def test_helpers():
    assert loggable_arguments({"q": "abc"}, 100) == '{"q": "abc"}'
    assert loggable_arguments({"q": "a" * 50}, 10) == '{"q": "aaa...(+49 chars)'
    assert to_content(Unit.CELSIUS) == '"celsius"' and to_content([1, "é"]) == '[1, "é"]'
    with pytest.raises(ValueError):
        to_content(float("inf"))
    with pytest.raises(ValueError, match="positive"):
        Executor(FunctionRegistry(), timeout_s=0)
