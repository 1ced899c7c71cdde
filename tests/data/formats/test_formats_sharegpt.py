"""ShareGPT / LLaMA-Factory conversations with function_call / observation turns."""

from __future__ import annotations

import json

import pytest
from helpers.format_samples import WEATHER_FN, sharegpt_row

from fc_finetune.data.formats import convert_row, to_format
from fc_finetune.data.schema import validate_record
from fc_finetune.errors import DataError

TIME_FN = {"name": "get_time", "description": "Local time.",
           "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}


def test_single_call_conversation():
    record = convert_row(sharegpt_row(), "sharegpt")
    assert validate_record(record) == record
    assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant", "tool", "assistant", "user",
                                                       "assistant"]
    assert record["messages"][2] == {"role": "assistant", "content": "",
                                     "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
    assert record["messages"][3] == {"role": "tool", "name": "get_weather", "content": "{\"temp_c\": 21}"}
    assert record["tools"] == [{"type": "function", "function": WEATHER_FN}]


def test_parallel_calls_as_a_list_with_one_observation_each():
    row = {"conversations": [
        {"from": "human", "value": "Weather in Paris, time in Tokyo?"},
        {"from": "function_call", "value": json.dumps([{"name": "get_weather", "arguments": {"city": "Paris"}},
                                                       {"name": "get_time", "arguments": "{\"tz\": \"Asia/Tokyo\"}"}])},
        {"from": "observation", "value": "{\"temp_c\": 21}"},
        {"from": "observation", "value": "{\"time\": \"09:00\"}"},
        {"from": "gpt", "value": "21 °C; 09:00."}],
        "tools": [WEATHER_FN, TIME_FN]}
    record = validate_record(convert_row(row, "sharegpt"))
    assert record["messages"][1]["tool_calls"][1] == {"name": "get_time", "arguments": {"tz": "Asia/Tokyo"}}
    assert [(m["name"], m["content"]) for m in record["messages"][2:4]] == [
        ("get_weather", "{\"temp_c\": 21}"), ("get_time", "{\"time\": \"09:00\"}")]


def test_one_observation_list_answers_parallel_calls():
    row = {"conversations": [
        {"from": "human", "value": "Weather in Paris and Rome?"},
        {"from": "function_call", "value": json.dumps([{"name": "get_weather", "arguments": {"city": "Paris"}},
                                                       {"name": "get_weather", "arguments": {"city": "Rome"}}])},
        {"from": "observation", "value": "[{\"temp_c\": 21}, \"24 C\"]"},
        {"from": "gpt", "value": "21 and 24."}], "tools": json.dumps([WEATHER_FN])}
    record = validate_record(convert_row(row, "sharegpt"))
    assert [m["content"] for m in record["messages"][2:4]] == ["{\"temp_c\": 21}", "24 C"]


def test_text_then_call_and_consecutive_call_turns_join():
    row = {"conversations": [
        {"from": "human", "value": "Weather in Paris, time in Tokyo?"},
        {"from": "gpt", "value": "Let me check."},
        {"from": "function_call", "value": "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"},
        {"from": "function_call", "value": "{\"name\": \"get_time\", \"arguments\": {\"tz\": \"Asia/Tokyo\"}}"},
        {"from": "observation", "value": "sunny"}, {"from": "observation", "value": "09:00"},
        {"from": "gpt", "value": "Sunny, 09:00."}], "tools": [WEATHER_FN, TIME_FN]}
    record = validate_record(convert_row(row, "sharegpt"))
    assert record["messages"][1]["content"] == "Let me check."
    assert [c["name"] for c in record["messages"][1]["tool_calls"]] == ["get_weather", "get_time"]


def test_role_content_keys_system_turn_and_openai_style_tools():
    row = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                        {"role": "assistant", "content": "Hello"}],
           "tools": json.dumps([{"type": "function", "function": WEATHER_FN}]), "source": "x"}
    record = convert_row(row, "sharegpt")
    assert record["messages"][0] == {"role": "system", "content": "Be brief."}
    assert record["tools"][0]["function"]["name"] == "get_weather"
    assert record["meta"] == {"source": "x"}


def test_no_tools_and_empty_tools_string():
    for tools in ("", "[]", None):
        row = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}], "tools": tools}
        assert convert_row(row, "sharegpt")["tools"] == []


@pytest.mark.parametrize("turns, field, reason", [
    ([("human", "Hi"), ("function_call", "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"")],
     "conversations[1].value", "function_call is not valid JSON"),
    ([("human", "Hi"), ("function_call", "{\"arguments\": {}}")], "conversations[1].value.name",
     "a call needs a non-empty 'name'"),
    ([("human", "Hi"), ("function_call", "{\"name\": \"get_weather\", \"arguments\": \"{bad\"}")],
     "conversations[1].value.arguments", "arguments is not valid JSON"),
    ([("human", "Hi"), ("gpt", "AI calls: {\"city\": 1}"), ("observation", "{}")], "conversations[2].value",
     "an observation that follows no function_call"),
    ([("human", "Hi"), ("function_call", "[{\"name\": \"get_weather\", \"arguments\": {}}, "
                                         "{\"name\": \"get_weather\", \"arguments\": {}}]"),
      ("observation", "{}"), ("gpt", "ok")], "conversations[2].value", "1 observation(s) for 2 call(s)"),
    ([("human", "Hi"), ("function_call", "{\"name\": \"get_weather\", \"arguments\": {}}"), ("human", "?")],
     "conversations[2]", "1 function_call(s) have no observation"),
    ([("narrator", "Hi")], "conversations[0].from", "unknown speaker 'narrator'"),
])
def test_errors_name_the_raw_field(turns, field, reason):
    row = {"conversations": [{"from": f, "value": v} for f, v in turns], "tools": [WEATHER_FN]}
    with pytest.raises(DataError) as info:
        convert_row(row, "sharegpt")
    assert (info.value.field, info.value.reason[: len(reason)]) == (field, reason)


def test_a_record_may_end_with_its_calls():
    row = {"conversations": [{"from": "human", "value": "Weather in Paris?"},
                             {"from": "function_call", "value": "{\"name\": \"get_weather\", \"arguments\": "
                                                                "{\"city\": \"Paris\"}}"}], "tools": [WEATHER_FN]}
    record = validate_record(convert_row(row, "sharegpt"))
    assert record["messages"][-1]["tool_calls"][0]["arguments"] == {"city": "Paris"}


def test_written_row_is_llama_factory_layout():
    row = to_format(convert_row(sharegpt_row(), "sharegpt"), "sharegpt")
    assert row["system"] == "You are a weather bot."
    assert json.loads(row["tools"]) == [WEATHER_FN]
    assert row["conversations"][1] == {"from": "function_call",
                                       "value": "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"}
