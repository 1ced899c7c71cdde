"""Format auto-detection from the keys and content of the first rows."""

from __future__ import annotations

import pytest
from helpers.format_samples import all_rows, bfcl_answers, hermes_row, openai_legacy_row, sharegpt_row

from fc_finetune.data.formats import FORMATS, convert_row, convert_rows, detect_format
from fc_finetune.errors import DataError


@pytest.mark.parametrize("fmt", sorted(all_rows()))
def test_each_sample_is_detected(fmt):
    assert detect_format([all_rows()[fmt]]) == fmt


def test_formats_has_every_name():
    assert set(FORMATS) == {"canonical", "openai", "sharegpt", "xlam", "glaive", "hermes", "bfcl"}


def test_legacy_openai_and_role_content_sharegpt():
    assert detect_format([openai_legacy_row()]) == "openai"
    row = sharegpt_row()
    row["messages"] = [{"role": t["from"], "content": t["value"]} for t in row.pop("conversations")]
    assert detect_format([row]) == "sharegpt"
    assert convert_row(row, "sharegpt")["messages"][2]["tool_calls"][0]["name"] == "get_weather"


def test_plain_chats_fit_the_specific_format_of_later_rows():
    plain = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}], "tools": "[]"}
    assert detect_format([plain, plain]) == "sharegpt"
    assert detect_format([plain, hermes_row()]) == "hermes"
    assert detect_format([plain, sharegpt_row()]) == "sharegpt"
    chat = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}], "tools": []}
    assert detect_format([chat]) == "canonical"
    assert detect_format([chat, all_rows()["openai"]]) == "openai"


def test_unknown_keys_name_what_was_seen_and_the_flag():
    with pytest.raises(DataError) as info:
        detect_format([{"prompt": "x", "completion": "y"}], source="data.jsonl")
    text = str(info.value)
    assert text.startswith("data.jsonl record 0: cannot tell the format")
    assert "['completion', 'prompt']" in text and "--format" in text


def test_mixed_formats_are_ambiguous():
    with pytest.raises(DataError, match=r"rows look like different formats.*--format"):
        detect_format([sharegpt_row(), hermes_row()])


def test_possible_answer_rows_are_named():
    with pytest.raises(DataError, match="possible-answer rows"):
        detect_format(bfcl_answers())


def test_no_rows():
    with pytest.raises(DataError, match="no rows"):
        detect_format([])


def test_unknown_format_name():
    with pytest.raises(DataError, match="unknown format 'csv'"):
        convert_row({}, "csv")


def test_convert_rows_collects_located_errors():
    bad = sharegpt_row()
    bad["conversations"][1]["value"] = "{not json"
    result = convert_rows([sharegpt_row(), bad, "oops"], "sharegpt", source="x.json")
    assert len(result.records) == 1 and result.indices == [0]
    assert [e.index for e in result.errors] == [1, 2]
    assert str(result.errors[0]).startswith("x.json record 1: conversations[1].value: function_call is not valid JSON")
