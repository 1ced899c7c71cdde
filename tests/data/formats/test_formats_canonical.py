"""The canonical format read through the converters: identity, lightly normalised."""

from __future__ import annotations

from helpers.format_samples import WEATHER_FN

from fc_finetune.data.formats import convert_row, to_format
from fc_finetune.data.schema import validate_record


def test_valid_records_are_unchanged():
    record = {"messages": [{"role": "user", "content": "Weather in Oslo?"},
                           {"role": "assistant", "content": "", "tool_calls": [
                               {"name": "get_weather", "arguments": {"city": "Oslo"}}]},
                           {"role": "tool", "name": "get_weather", "content": "3 C"},
                           {"role": "assistant", "content": "3 °C."}],
              "tools": [{"type": "function", "function": WEATHER_FN}], "meta": {"source": "x.jsonl", "index": 2}}
    assert convert_row(record, "canonical") == record
    assert to_format(record, "canonical") == record and to_format(record, "canonical") is not record


def test_bare_tools_string_arguments_and_extra_keys_are_normalised():
    row = {"messages": [{"role": "user", "content": "Weather in Oslo?"},
                        {"role": "assistant", "content": None, "tool_calls": [
                            {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}", "id": "c1"}]}],
           "tools": [{"name": "get_weather", "parameters": {"properties": {"city": {"type": "str"}}}}],
           "split": "test"}
    record = convert_row(row, "canonical")
    assert record["messages"][1] == {"role": "assistant", "content": "", "tool_calls": [
        {"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "c1"}]}
    assert record["tools"] == [{"type": "function", "function": {"name": "get_weather", "description": "", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    assert record["meta"] == {"split": "test",
                              "schema_fixes": ["tools[0].parameters.type: missing, set to 'object'"]}
    assert validate_record(record, require_final_assistant=False)["messages"] == record["messages"]
