"""OpenAI messages + tools (and the legacy functions / function_call form)."""

from __future__ import annotations

import pytest
from helpers.format_samples import WEATHER_FN, openai_legacy_row, openai_row

from fc_finetune.data.formats import convert_row, to_format
from fc_finetune.data.schema import validate_record
from fc_finetune.errors import DataError


def test_tool_calls_become_canonical_and_ids_map_back_to_names():
    record = convert_row(openai_row(), "openai")
    assert validate_record(record) == record
    call = record["messages"][2]
    assert call["content"] == ""
    assert call["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_a"},
                                  {"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"},
                                   "id": "call_b"}]
    assert record["messages"][3] == {"role": "tool", "name": "get_weather", "content": "{\"temp_c\": 24}",
                                     "tool_call_id": "call_b"}
    assert "meta" not in record


def test_ids_resolve_different_functions():
    row = openai_row()
    row["tools"].append({"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}})
    row["messages"][2]["tool_calls"][1]["function"] = {"name": "get_time", "arguments": "{}"}
    row["messages"][3]["tool_call_id"] = "call_b"
    record = convert_row(row, "openai")
    assert [m.get("name") for m in record["messages"][3:5]] == ["get_time", "get_weather"]


def test_legacy_functions_and_function_call():
    record = convert_row(openai_legacy_row(), "openai")
    assert validate_record(record) == record
    assert record["tools"][0]["function"] == WEATHER_FN
    assert record["messages"][1]["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Oslo"}}]
    assert record["messages"][2] == {"role": "tool", "name": "get_weather", "content": "{\"temp_c\": 3}"}


def test_content_parts_developer_and_extra_keys():
    row = {"messages": [{"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                        {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
                        {"role": "assistant", "content": "Hello", "weight": 0}],
           "tools": [], "split": "train"}
    record = convert_row(row, "openai")
    assert record["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},
                                  {"role": "assistant", "content": "Hello", "weight": 0}]
    assert record["meta"] == {"split": "train"}


@pytest.mark.parametrize("mutate, field, reason", [
    (lambda r: r["messages"][2]["tool_calls"][0]["function"].update(arguments="{'city': 'Paris'}"),
     "messages[2].tool_calls[0].function.arguments", "arguments is not valid JSON"),
    (lambda r: r["messages"][2]["tool_calls"][0]["function"].update(arguments="[1, 2]"),
     "messages[2].tool_calls[0].function.arguments", "expected arguments as an object, got array"),
    (lambda r: r["messages"][3].update(tool_call_id="call_zzz"),
     "messages[3].tool_call_id", "tool_call_id 'call_zzz' matches no earlier tool call"),
    (lambda r: r["messages"][1].update(role="narrator"), "messages[1].role", "unknown role 'narrator'"),
    (lambda r: r.update(tools="[{"), "tools", "tools is not valid JSON"),
])
def test_errors_name_the_raw_field(mutate, field, reason):
    row = openai_row()
    mutate(row)
    with pytest.raises(DataError) as info:
        convert_row(row, "openai")
    assert info.value.field == field
    assert info.value.reason.startswith(reason)


def test_written_rows_have_string_arguments_and_ids():
    record = convert_row(openai_row(), "openai")
    for call in record["messages"][2]["tool_calls"]:
        del call["id"]
    for msg in record["messages"][3:5]:
        del msg["tool_call_id"]
    row = to_format(record, "openai")
    calls = row["messages"][2]["tool_calls"]
    assert calls[0] == {"id": "call_2_0", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}
    assert [m["tool_call_id"] for m in row["messages"][3:5]] == ["call_2_0", "call_2_1"]
    assert convert_row(openai_row(), "openai") == convert_row(to_format(convert_row(openai_row(), "openai"),
                                                                        "openai"), "openai")
