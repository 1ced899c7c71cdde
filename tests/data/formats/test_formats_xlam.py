"""xLAM rows: Python-style parameter types, defaults, JSON-string tools and answers."""

from __future__ import annotations

import json

import pytest
from helpers.format_samples import xlam_row

from fc_finetune.data.formats import convert_row, to_format
from fc_finetune.data.schema import validate_record
from fc_finetune.errors import DataError


def test_query_then_one_assistant_message_with_the_calls():
    record = convert_row(xlam_row(), "xlam")
    assert validate_record(record) == record
    assert record["messages"] == [
        {"role": "user", "content": xlam_row()["query"]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"name": "live_giveaways_by_type", "arguments": {"type": "beta"}},
            {"name": "find_max_subarray_sum", "arguments": {"nums": [1, -2, 3]}}]}]
    assert record["meta"] == {"id": 7}


def test_parameter_maps_become_json_schema():
    tools = {t["function"]["name"]: t["function"]["parameters"] for t in convert_row(xlam_row(), "xlam")["tools"]}
    assert tools["live_giveaways_by_type"] == {"type": "object", "properties": {"type": {
        "type": "string", "description": "The type of giveaways to retrieve (e.g., game, loot, beta).",
        "default": "game"}}}  # a default makes it optional: no "required"
    assert tools["find_max_subarray_sum"]["required"] == ["nums"]
    distance = tools["calculate_distance"]
    assert distance["required"] == ["point1", "point2"]  # "int, optional" and Optional[...] are not
    assert distance["properties"]["point2"] == {"type": "array", "prefixItems": [{"type": "number"}] * 2,
                                                "description": "Second point."}
    assert distance["properties"]["options"] == {"type": "object", "description": "Extra options."}


def test_mismatching_call_is_reported_by_the_validator_not_fixed():
    row = xlam_row()
    row["answers"] = json.dumps([{"name": "find_max_subarray_sum", "arguments": {"nums": "1,2"}}])
    record = convert_row(row, "xlam")
    assert record["messages"][1]["tool_calls"][0]["arguments"] == {"nums": "1,2"}
    with pytest.raises(DataError, match=r"messages\[1\]\.tool_calls\[0\]\.arguments\.nums: '1,2' is not of type"):
        validate_record(record)


def test_unknown_types_are_unconstrained_and_noted():
    row = {"query": "Run it", "answers": "[]",
           "tools": json.dumps([{"name": "run", "description": "Run.",
                                 "parameters": {"fn": {"type": "Callable", "description": "A function."}}}])}
    record = convert_row(row, "xlam")
    assert record["tools"][0]["function"]["parameters"]["properties"]["fn"] == {"description": "A function."}
    assert record["meta"]["schema_fixes"] == ["tools[0].parameters.fn.type: unknown type 'Callable', left unconstrained"]
    assert record["messages"] == [{"role": "user", "content": "Run it"}]  # no answer: ends with the query


def test_json_schema_parameters_are_accepted():
    row = {"query": "q", "answers": [{"name": "f", "arguments": {"a": 1}}],
           "tools": [{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}]}
    assert convert_row(row, "xlam")["tools"][0]["function"]["parameters"] == {
        "type": "object", "properties": {"a": {"type": "integer"}}}


@pytest.mark.parametrize("key, value, field, reason", [
    ("answers", "[{\"name\": \"f\", \"arguments\": {]", "answers", "answers is not valid JSON"),
    ("answers", "[{\"arguments\": {}}]", "answers[0].name", "a call needs a non-empty 'name'"),
    ("tools", "[{\"name\": \"f\", \"parameters\": {\"a\": 3}}]", "tools[0].parameters.a", "expected an object"),
    ("query", None, "query", "expected the user's query as a string"),
])
def test_errors_name_the_raw_field(key, value, field, reason):
    row = xlam_row()
    row[key] = value
    with pytest.raises(DataError) as info:
        convert_row(row, "xlam")
    assert (info.value.field, info.value.reason[: len(reason)]) == (field, reason)


def test_written_rows_use_python_type_names():
    row = to_format(convert_row(xlam_row(), "xlam"), "xlam")
    tools = {t["name"]: t["parameters"] for t in json.loads(row["tools"])}
    assert tools["calculate_distance"]["precision"] == {"description": "Decimals.", "type": "int, optional"}
    assert tools["find_max_subarray_sum"]["nums"]["type"] == "List[int]"
    assert tools["live_giveaways_by_type"]["type"]["default"] == "game"
    assert json.loads(row["answers"])[1] == {"name": "find_max_subarray_sum", "arguments": {"nums": [1, -2, 3]}}


@pytest.mark.parametrize("messages, reason", [
    ([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}], "xLAM has no system prompt"),
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "just text"}],
     "xLAM's answer is an assistant message with only tool_calls"),
])
def test_records_xlam_cannot_hold(messages, reason):
    with pytest.raises(DataError, match=reason):
        to_format({"messages": messages, "tools": []}, "xlam")


def test_schemas_xlam_cannot_hold():
    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"u": {"type": "string", "enum": ["c", "f"]}}}}}
    with pytest.raises(DataError) as info:
        to_format({"messages": [{"role": "user", "content": "q"}], "tools": [tool]}, "xlam")
    assert info.value.field == "tools[0].function.parameters.properties.u"
