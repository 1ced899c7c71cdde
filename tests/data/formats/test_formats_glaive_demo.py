"""The real LLaMA-Factory glaive demo files (600 rows): every row converts or is explained.

The data lives outside the project (``../shared/data/external`` or
``$FC_FINETUNE_EXTERNAL_DATA``); these tests skip where it is absent.

Known defects of the data, asserted exactly so that a change in behaviour shows:

- zh rows 197 and 293: the call is written as prose inside a ``gpt`` turn (with
  translated argument names) and an ``observation`` follows it: no ``function_call``
  to attach the result to, so the row cannot be converted faithfully.
- converted rows whose calls break their tool's schema (reported by the validator,
  not fixed): en 259 (a list for a number), zh 5 and 108 (``dimensions`` lacks
  properties its schema requires), zh 21 and 144 (``keywords`` missing), zh 102 and
  239 (a Chinese value for an English enum).
"""

from __future__ import annotations

import json

import pytest
from helpers.format_samples import external_dir

from fc_finetune.data.formats import convert_rows, detect_format
from fc_finetune.data.schema import validate_record
from fc_finetune.errors import DataError

FILES = {"en": "glaive_toolcall_en_demo.json", "zh": "glaive_toolcall_zh_demo.json"}
CONVERT_FAILURES = {"zh": {197: ("conversations[2].value", "an observation that follows no function_call"),
                           293: ("conversations[2].value", "an observation that follows no function_call")}}
INVALID = {"en": {259: "messages[3].tool_calls[0].arguments.calories_per_item: [150, 350, 800] is not of type "
                       "'number'"},
           "zh": {5: "messages[1].tool_calls[0].arguments.dimensions: 'radius' is a required property",
                  21: "messages[5].tool_calls[0].arguments: 'keywords' is a required property",
                  102: "messages[1].tool_calls[0].arguments.cuisine: '意大利' is not one of ['Italian', 'Mexican', "
                       "'Indian', 'Chinese']",
                  108: "messages[1].tool_calls[0].arguments.dimensions: 'radius' is a required property",
                  144: "messages[5].tool_calls[0].arguments: 'keywords' is a required property",
                  239: "messages[1].tool_calls[0].arguments.cuisine: '意大利' is not one of ['Italian', 'Mexican', "
                       "'Indian', 'Chinese']"}}


def _rows(lang: str) -> list[dict]:
    path = external_dir() / FILES[lang]
    if not path.is_file():
        pytest.skip(f"external data absent: {path} (set FC_FINETUNE_EXTERNAL_DATA to the folder holding it)")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", sorted(FILES))
def test_every_row_converts_or_fails_for_its_known_reason(lang):
    rows = _rows(lang)
    assert len(rows) == 300
    assert detect_format(rows) == "sharegpt"
    result = convert_rows(rows, "sharegpt", source=FILES[lang])
    failures = {e.index: (e.field, e.reason) for e in result.errors}
    expected = CONVERT_FAILURES.get(lang, {})
    assert {i: (f, r[: len(expected[i][1])]) for i, (f, r) in failures.items()} == expected
    assert len(result.records) == 300 - len(expected)

    invalid = {}
    for index, record in zip(result.indices, result.records, strict=True):
        try:
            validate_record(record)
        except DataError as exc:
            invalid[index] = str(exc)
    assert invalid == INVALID[lang]


@pytest.mark.parametrize("lang", sorted(FILES))
def test_converted_rows_keep_every_turn(lang):
    rows = _rows(lang)
    result = convert_rows(rows, "sharegpt")
    calls = results = with_tools = 0
    for index, record in zip(result.indices, result.records, strict=True):
        turns = rows[index]["conversations"]
        messages = record["messages"]
        assert sum(m["role"] == "user" for m in messages) == sum(t["from"] == "human" for t in turns)
        assert sum(m["role"] == "tool" for m in messages) == sum(t["from"] == "observation" for t in turns)
        calls += sum(len(m.get("tool_calls", [])) for m in messages)
        results += sum(m["role"] == "tool" for m in messages)
        with_tools += bool(record["tools"])
        assert "meta" not in record  # no schema repairs were needed in these files
    assert calls == results == {"en": 211, "zh": 216}[lang]
    assert with_tools == {"en": 191, "zh": 198}[lang]
