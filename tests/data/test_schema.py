"""The canonical-record validator: every rule of docs/data-format.md, one bad input each."""

from __future__ import annotations

import copy
import json

import pytest
from helpers.data_samples import (
    good_records,
    multi_turn_record,
    no_call_record,
    parallel_record,
    weather_tool,
)

from fc_finetune.data.schema import (
    KIND_ARGS,
    KIND_ARGS_TYPE,
    KIND_EMPTY,
    KIND_FINAL,
    KIND_NOT_OFFERED,
    KIND_ORDER,
    KIND_SHAPE,
    KIND_TOOLS,
    KINDS,
    error_kind,
    field_path,
    tool_names,
    validate_record,
    validate_tools,
)
from fc_finetune.errors import DataError


def _error(record, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        validate_record(record, **kwargs)
    return info.value


@pytest.mark.parametrize("record", good_records(), ids=["parallel", "no_call", "multi_turn"])
def test_good_records_pass_unchanged(record):
    assert validate_record(record) == record


def test_result_is_a_copy():
    record = parallel_record()
    out = validate_record(record)
    out["messages"][2]["tool_calls"][0]["arguments"]["city"] = "Oslo"
    out["tools"][0]["function"]["parameters"]["required"].append("unit")
    assert record == parallel_record()


def test_normalisation():
    record = parallel_record()
    del record["messages"][2]["content"]
    del record["messages"][3]["name"]
    del record["tools"][0]["type"]
    record["tools"][1]["function"]["description"] = None
    record["messages"][5]["tool_calls"] = []
    out = validate_record(record)
    assert out["messages"][2]["content"] == ""
    assert out["messages"][3]["name"] == "get_weather"
    assert out["tools"][0]["type"] == "function"
    assert list(out["tools"][0]) == ["type", "function"]
    assert out["tools"][1]["function"]["description"] == ""
    assert "tool_calls" not in out["messages"][5]
    assert validate_record(out) == out


def test_key_order_of_schemas_is_kept():
    record = no_call_record()
    props = {"zeta": {"type": "string"}, "alpha": {"type": "integer"}}
    record["tools"][0]["function"]["parameters"]["properties"] = props
    record["tools"][0]["function"]["parameters"]["required"] = []
    out = validate_record(record)
    assert list(out["tools"][0]["function"]["parameters"]["properties"]) == ["zeta", "alpha"]


def test_arguments_failing_schema_name_the_deepest_field():
    record = parallel_record()
    record["messages"][2]["tool_calls"][1]["arguments"]["unit"] = "kelvin"
    err = _error(record)
    assert err.field == "messages[2].tool_calls[1].arguments.unit"
    assert str(err) == ("messages[2].tool_calls[1].arguments.unit: "
                        "'kelvin' is not one of ['celsius', 'fahrenheit']")


def test_nested_argument_path():
    tool = {"type": "function", "function": {"name": "book", "description": "", "parameters": {
        "type": "object", "properties": {"guests": {"type": "array", "items": {
            "type": "object", "properties": {"age": {"type": "integer"}}}}}}}}
    record = {"tools": [tool], "messages": [
        {"role": "user", "content": "Book"},
        {"role": "assistant", "tool_calls": [{"name": "book", "arguments": {"guests": [{"age": 3}, {"age": "x"}]}}]}]}
    assert _error(record).field == "messages[1].tool_calls[0].arguments.guests[1].age"


def test_missing_required_argument():
    record = parallel_record()
    del record["messages"][2]["tool_calls"][0]["arguments"]["city"]
    err = _error(record)
    assert (err.field, err.reason) == ("messages[2].tool_calls[0].arguments", "'city' is a required property")


def test_arguments_as_json_string_is_an_error():
    record = parallel_record()
    call = record["messages"][2]["tool_calls"][0]
    call["arguments"] = json.dumps(call["arguments"])
    err = _error(record)
    assert err.field == "messages[2].tool_calls[0].arguments" and "JSON-encoded string" in err.reason


def test_call_to_a_tool_not_offered():
    record = parallel_record()
    record["messages"][2]["tool_calls"][0]["name"] = "get_forecast"
    err = _error(record)
    assert err.field == "messages[2].tool_calls[0].name"
    assert "'get_forecast' is not an offered tool (offered: get_weather, get_time)" in err.reason


@pytest.mark.parametrize("mutate, field, words", [
    (lambda m: m.insert(2, {"role": "user", "content": "and?"}), "messages[2].role", "two user messages"),
    (lambda m: m.pop(4), "messages[4].role", "1 tool result(s) missing"),
    (lambda m: m.insert(0, {"role": "assistant", "content": "Hi"}), "messages[0].role", "previous: nothing"),
    (lambda m: m.append({"role": "assistant", "content": "again"}), "messages[6].role", "previous: assistant"),
    (lambda m: m.insert(3, {"role": "system", "content": "late"}), "messages[3].role", "only allowed as the first"),
    (lambda m: m.insert(2, {"role": "tool", "name": "get_weather", "content": "x"}), "messages[2].role",
     "must follow an assistant message with tool_calls"),
    (lambda m: m.__setitem__(4, {"role": "user", "content": "hm"}), "messages[4].role", "tool result(s) missing"),
    (lambda m: m.insert(5, {"role": "user", "content": "hm"}), "messages[5].role", "follows tool results"),
    (lambda m: m.__setitem__(3, {"role": "tool", "name": "get_time", "content": "x"}), "messages[3].name",
     "does not match the call"),
    (lambda m: m.__setitem__(1, {"role": "robot", "content": "x"}), "messages[1].role", "expected one of"),
    (lambda m: m.pop(), "messages[4].role", "must end with an assistant message"),
    (lambda m: m[1].__setitem__("content", "  "), "messages[1].content", "empty"),
    (lambda m: m[1].__setitem__("content", ["a"]), "messages[1].content", "expected a string, got array"),
    (lambda m: m[5].__setitem__("content", ""), "messages[5].content", "needs content or tool_calls"),
    (lambda m: m[2].__setitem__("tool_calls", {"name": "x"}), "messages[2].tool_calls", "expected a list"),
    (lambda m: m[3].__setitem__("content", {"temp_c": 21}), "messages[3].content", "expected a string"),
    (lambda m: m[2]["tool_calls"][0].pop("arguments"), "messages[2].tool_calls[0].arguments", "missing"),
    (lambda m: m[2]["tool_calls"][0].__setitem__("arguments", [1]), "messages[2].tool_calls[0].arguments",
     "expected an object, got array"),
    (lambda m: m.__setitem__(2, "hello"), "messages[2]", "expected an object"),
    (lambda m: m[:] and m.__setitem__(slice(None), [{"role": "system", "content": "only"}]), "messages[0]",
     "no user message"),
], ids=lambda v: v if isinstance(v, str) and "[" in v else None)
def test_wrong_role_order_and_message_shapes(mutate, field, words):
    record = parallel_record()
    mutate(record["messages"])
    err = _error(record)
    assert err.field == field and words in err.reason, str(err)


def test_empty_conversation():
    record = no_call_record()
    record["messages"] = []
    err = _error(record)
    assert err.field == "messages" and "empty conversation" in err.reason


def test_missing_top_level_fields():
    assert _error({"tools": []}).field == "messages"
    assert _error({"messages": [{"role": "user", "content": "x"}]}).field == "tools"
    assert "expected a JSON object" in str(_error([1, 2]))
    assert _error({**no_call_record(), "meta": "x"}).field == "meta"
    assert "not JSON-serialisable" in str(_error({**no_call_record(), "meta": {"x": {1, 2}}}))
    assert "not JSON-serialisable" in str(_error({**no_call_record(), "meta": {"x": float("nan")}}))


def test_final_assistant_rule_and_eval_prompts():
    prompt = {"tools": [weather_tool()], "messages": [{"role": "user", "content": "Weather in Oslo?"}]}
    assert _error(prompt).field == "messages[0].role"
    assert validate_record(prompt, require_final_assistant=False) == prompt
    record = parallel_record()
    del record["messages"][5]
    assert validate_record(record, require_final_assistant=False)["messages"][-1]["role"] == "tool"
    del record["messages"][4]
    assert "tool result(s) missing" in _error(record, require_final_assistant=False).reason


def test_record_may_end_with_calls_and_no_results():
    record = parallel_record()
    del record["messages"][3:]
    assert validate_record(record)["messages"][-1]["tool_calls"]


@pytest.mark.parametrize("mutate, field, words", [
    (lambda t: t.append(weather_tool()), "tools[2].function.name", "duplicate tool name 'get_weather' (also tools[0])"),
    (lambda t: t[0].__setitem__("type", "code_interpreter"), "tools[0].type", "only tools of type 'function'"),
    (lambda t: t[0].pop("function"), "tools[0].function", "expected an object"),
    (lambda t: t[0]["function"].__setitem__("name", ""), "tools[0].function.name", "non-empty string"),
    (lambda t: t[1]["function"]["parameters"].__setitem__("type", "dict"), "tools[1].function.parameters.type",
     "must have \"type\": \"object\""),
    (lambda t: t[0]["function"]["parameters"]["properties"]["unit"].__setitem__("type", "str"),
     "tools[0].function.parameters.properties.unit.type", "not a valid JSON schema"),
    (lambda t: t[0]["function"]["parameters"].__setitem__("required", "city"),
     "tools[0].function.parameters.required", "not a valid JSON schema"),
    (lambda t: t.__setitem__(0, "get_weather"), "tools[0]", "expected an object"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("tools") else None)
def test_bad_tools(mutate, field, words):
    record = parallel_record()
    mutate(record["tools"])
    err = _error(record)
    assert err.field == field and words in err.reason, str(err)


def test_tools_not_a_list():
    record = no_call_record()
    record["tools"] = json.dumps(record["tools"])
    err = _error(record)
    assert err.field == "tools" and "expected a list of tools, got string" in err.reason


def test_validate_tools_and_tool_names():
    tools = validate_tools([{"function": {"name": "now"}}, weather_tool()])
    assert tools[0]["function"]["parameters"] == {"type": "object", "properties": {}}
    assert tool_names({"tools": tools}) == ["now", "get_weather"]
    assert tool_names(multi_turn_record()) == ["get_time", "get_weather"]
    with pytest.raises(DataError, match=r"^x\[1\]\.function\.name: duplicate"):
        validate_tools([weather_tool(), weather_tool()], field="x")


def test_field_path():
    assert field_path("a", ["b", 0, "c d"]) == 'a.b[0]["c d"]'
    assert field_path("", ["b"]) == "b"


def test_errors_locate_with_source_and_index():
    record = parallel_record()
    record["messages"][2]["tool_calls"][0]["arguments"]["unit"] = "kelvin"
    located = _error(record).located(source="data.jsonl", index=17)
    assert str(located).startswith("data.jsonl record 17: messages[2].tool_calls[0].arguments.unit: 'kelvin'")


def test_same_tools_many_records_is_fast():
    import time

    records = [copy.deepcopy(parallel_record()) for _ in range(2000)]
    start = time.perf_counter()
    for record in records:
        validate_record(record)
    rate = len(records) / (time.perf_counter() - start)
    assert rate > 1000, f"validation too slow: {rate:.0f} records/s"


def test_nulls_from_arrow_rows_mean_absent():
    record = parallel_record()
    for msg in record["messages"]:
        msg.setdefault("tool_calls", None)
        msg.setdefault("name", None)
        msg.setdefault("tool_call_id", None)
    record["messages"][2]["content"] = None
    record["messages"][2]["tool_calls"][0]["id"] = None
    assert validate_record(record) == parallel_record()
    assert "meta" not in validate_record({**no_call_record(), "meta": None})


@pytest.mark.parametrize("mutate, kind", [
    (lambda r: r["messages"][2]["tool_calls"][0]["arguments"].update(unit="kelvin"), KIND_ARGS),
    (lambda r: r["messages"][2]["tool_calls"][0].update(arguments="{}"), KIND_ARGS_TYPE),
    (lambda r: r["messages"][2]["tool_calls"][0].update(name="nope"), KIND_NOT_OFFERED),
    (lambda r: r["messages"].pop(4), KIND_ORDER),
    (lambda r: r["messages"].pop(), KIND_FINAL),
    (lambda r: r.update(messages=[]), KIND_EMPTY),
    (lambda r: r["tools"].append(r["tools"][0]), KIND_TOOLS),
    (lambda r: r["messages"][1].update(content=3), KIND_SHAPE),
])
def test_error_kinds(mutate, kind):
    record = parallel_record()
    mutate(record)
    assert error_kind(_error(record)) == kind
    assert kind in KINDS


def test_error_kind_fallback_for_other_data_errors():
    assert error_kind(DataError("bad", field="conversations[3].value")) == "invalid conversations[].value"
    assert error_kind(DataError("bad")) == "invalid record"
