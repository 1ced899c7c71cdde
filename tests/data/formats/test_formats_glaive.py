"""Glaive v2 raw text: SYSTEM prose + JSON definitions, USER/ASSISTANT/FUNCTION RESPONSE turns."""

from __future__ import annotations

import pytest
from helpers.format_samples import glaive_row

from fc_finetune.data.formats import convert_row, to_format
from fc_finetune.data.formats.glaive import WITHOUT_FUNCTIONS, parse_functioncall
from fc_finetune.data.schema import validate_record
from fc_finetune.errors import DataError


def test_sample_converts():
    record = convert_row(glaive_row(), "glaive")
    assert validate_record(record) == record
    roles = [m["role"] for m in record["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"]
    assert record["messages"][0]["content"].endswith("Use them if required -")
    assert record["messages"][2]["tool_calls"] == [{"name": "get_news_headlines",
                                                    "arguments": {"country": "United States"}}]
    assert record["messages"][3]["name"] == "get_news_headlines"
    assert record["messages"][4]["content"].endswith("2. Hurricane Ida devastates Louisiana")
    # text before the call is kept; the apostrophe inside the single-quoted arguments survives
    assert record["messages"][6] == {"role": "assistant", "content": "Sure.", "tool_calls": [
        {"name": "send_message", "arguments": {"text": "I'm reading the news."}}]}
    assert [t["function"]["name"] for t in record["tools"]] == ["get_news_headlines", "send_message"]


def test_no_functions():
    row = {"system": f"SYSTEM: {WITHOUT_FUNCTIONS}",
           "chat": "USER: Tell me a joke.\n\n\nASSISTANT: Why did the chicken cross the road? <|endoftext|>\n\n\n"}
    record = validate_record(convert_row(row, "glaive"))
    assert record["tools"] == []
    assert record["messages"] == [{"role": "system", "content": WITHOUT_FUNCTIONS},
                                  {"role": "user", "content": "Tell me a joke."},
                                  {"role": "assistant", "content": "Why did the chicken cross the road?"}]


@pytest.mark.parametrize("text, call, rest", [
    ("{\"name\": \"f\", \"arguments\": '{\"a\": 1}'} <|endoftext|>", {"name": "f", "arguments": {"a": 1}}, " <|endoftext|>"),
    ("{\"name\": \"f\", \"arguments\": '{\"q\": \"it\\'s\"}'}", {"name": "f", "arguments": {"q": "it's"}}, ""),
    ("{\"name\": \"f\", \"arguments\": '{\"q\": \"a'}b\"}'}", {"name": "f", "arguments": {"q": "a'}b"}}, ""),
    ("{\"name\": \"f\", \"arguments\": {\"a\": [1, 2]}}", {"name": "f", "arguments": {"a": [1, 2]}}, ""),
    ("{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}", {"name": "f", "arguments": {"a": 1}}, ""),
    ("{\"name\": \"f\", \"arguments\": ''}", {"name": "f", "arguments": {}}, ""),
])
def test_functioncall_parsing_without_eval(text, call, rest):
    assert parse_functioncall(text, "chat") == (call, rest)


@pytest.mark.parametrize("chat, field, reason", [
    ("USER: hi\n\n\nASSISTANT: <functioncall> {\"name\": \"get_news_headlines\", \"arguments\": '{\"country\": }'}",
     "chat<turn 2: ASSISTANT>", "function_call arguments are not valid JSON"),
    ("USER: hi\n\n\nASSISTANT: <functioncall> get_news(country='US')", "chat<turn 2: ASSISTANT>",
     "function_call is not valid JSON"),
    ("USER: hi\n\n\nFUNCTION RESPONSE: {}", "chat<turn 2: FUNCTION RESPONSE>", "a FUNCTION RESPONSE that follows no"),
    ("hello there", "chat", "no 'USER:' / 'ASSISTANT:' turns found"),
])
def test_errors_name_the_turn(chat, field, reason):
    with pytest.raises(DataError) as info:
        convert_row({"system": glaive_row()["system"], "chat": chat}, "glaive")
    assert (info.value.field, info.value.reason[: len(reason)]) == (field, reason)


def test_bad_function_definition_in_system():
    with pytest.raises(DataError) as info:
        convert_row({"system": "SYSTEM: You have functions -\n{\"name\": \"f\",}\n", "chat": "USER: hi"}, "glaive")
    assert info.value.field == "system"
    assert info.value.reason.startswith("function definition 1 is not valid JSON")


def test_written_text_matches_the_dataset_layout():
    row = to_format(convert_row(glaive_row(), "glaive"), "glaive")
    assert row["system"] == glaive_row()["system"]
    assert row["chat"].startswith("USER: Can you tell me the latest news headlines for the United States?\n\n\n"
                                  "ASSISTANT: <functioncall> {\"name\": \"get_news_headlines\", \"arguments\": "
                                  "'{\"country\": \"United States\"}'} <|endoftext|>\n\n\nFUNCTION RESPONSE: ")


def test_parallel_calls_cannot_be_written():
    record = convert_row(glaive_row(), "glaive")
    record["messages"][2]["tool_calls"].append({"name": "send_message", "arguments": {"text": "x"}})
    with pytest.raises(DataError, match="one call per assistant turn") as info:
        to_format(record, "glaive")
    assert info.value.field == "messages[2].tool_calls"
