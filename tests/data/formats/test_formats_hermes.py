"""Hermes conversations: <tools> in the system turn, <tool_call> / <tool_response> tags."""

from __future__ import annotations

import pytest
from helpers.format_samples import hermes_row

from fc_finetune.data.formats import convert_row, to_format
from fc_finetune.data.formats.hermes import split_tools
from fc_finetune.data.schema import validate_record
from fc_finetune.errors import DataError


def test_sample_converts():
    record = convert_row(hermes_row(), "hermes")
    assert validate_record(record) == record
    system = record["messages"][0]["content"]
    assert "<tools> </tools> XML tags" in system and "get_stock_price" not in system
    assert "Here are the available tools: For each function call" in system
    assert [t["function"]["name"] for t in record["tools"]] == ["get_stock_price", "get_weather"]
    assert record["messages"][2] == {"role": "assistant", "content": "", "tool_calls": [
        {"name": "get_stock_price", "arguments": {"symbol": "AAPL"}},
        {"name": "get_weather", "arguments": {"city": "Paris"}}]}
    assert record["messages"][3:5] == [{"role": "tool", "name": "get_stock_price", "content": "{\"price\": 150.2}"},
                                       {"role": "tool", "name": "get_weather", "content": "{\"temp_c\": 21}"}]
    assert record["meta"] == {"id": "h-1", "category": "Finance", "subcategory": "Stocks", "task": "prices"}


def test_json_tools_one_per_line_text_around_calls_and_untagged_results():
    row = {"conversations": [
        {"from": "system", "value": "Tools:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"a\", "
                                    "\"parameters\": {\"type\": \"object\", \"properties\": {}}}}\n"
                                    "{\"name\": \"b\", \"parameters\": {\"type\": \"object\", \"properties\": {}}}\n"
                                    "</tools>"},
        {"from": "human", "value": "Do a."},
        {"from": "gpt", "value": "Calling a.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>"},
        {"from": "tool", "value": "done"},
        {"from": "gpt", "value": "Done."}]}
    record = validate_record(convert_row(row, "hermes"))
    assert record["messages"][0] == {"role": "system", "content": "Tools:"}
    assert [t["function"]["name"] for t in record["tools"]] == ["a", "b"]
    assert record["messages"][2]["content"] == "Calling a."
    assert record["messages"][3] == {"role": "tool", "name": "a", "content": "done"}


def test_split_tools_without_a_block():
    assert split_tools("You are helpful.", "x") == ("You are helpful.", None)


@pytest.mark.parametrize("turns, field, reason", [
    ([("human", "hi"), ("gpt", "<tool_call>\n{'name': 'get_weather', 'arguments': {'city': }\n</tool_call>")],
     "conversations[1].value", "<tool_call> 1 is neither valid JSON"),
    ([("human", "hi"), ("tool", "<tool_response>\n{}\n</tool_response>")], "conversations[1].value",
     "a tool response that follows no <tool_call>"),
    ([("human", "hi"), ("gpt", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}")],
     "conversations[1].value", "an unclosed <tool_call> tag"),
    ([("human", "hi"), ("function_call", "{}")], "conversations[1].from", "a 'function_call' turn is not part"),
])
def test_errors_name_the_raw_field(turns, field, reason):
    row = {"conversations": [{"from": f, "value": v} for f, v in turns]}
    with pytest.raises(DataError) as info:
        convert_row(row, "hermes")
    assert (info.value.field, info.value.reason[: len(reason)]) == (field, reason)


def test_bad_tools_block():
    row = {"conversations": [{"from": "system", "value": "<tools> [{'name': } </tools>"}]}
    with pytest.raises(DataError, match=r"^conversations\[0\]\.value: the <tools> block is neither valid JSON"):
        convert_row(row, "hermes")


def test_written_row_tags_calls_and_results():
    row = to_format(convert_row(hermes_row(), "hermes"), "hermes")
    turns = row["conversations"]
    assert turns[0]["value"].endswith("</tools>") and "<tools>\n[{\"type\": \"function\"" in turns[0]["value"]
    assert turns[2] == {"from": "gpt", "value": "<tool_call>\n{\"name\": \"get_stock_price\", \"arguments\": "
                                                "{\"symbol\": \"AAPL\"}}\n</tool_call>\n<tool_call>\n{\"name\": "
                                                "\"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"}
    assert turns[3]["value"].count("<tool_response>") == 2
