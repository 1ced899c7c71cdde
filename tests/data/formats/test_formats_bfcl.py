"""BFCL question rows -> prompt records; possible answers joined by id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.format_samples import bfcl_answers, bfcl_rows

from fc_finetune.data.formats import FORMATS, attach_possible_answers, category_of, convert_row, to_format
from fc_finetune.data.schema import validate_record
from fc_finetune.errors import DataError
from fc_finetune.evaluation.bfcl_fetch import BFCL_VERSION
from fc_finetune.utils.cache import cache_root

# The user's real cache, read at import: fast tests get a private empty cache later.
BFCL_CACHE = cache_root() / "bfcl" / BFCL_VERSION


def test_simple_row_keeps_dotted_name_and_meta():
    record = convert_row(bfcl_rows()[0], "bfcl")
    assert validate_record(record, require_final_assistant=False) == record
    assert record["messages"] == [{"role": "user", "content": "Calculate the factorial of 5 using math functions."}]
    assert record["tools"][0]["function"]["name"] == "math.factorial"
    assert record["tools"][0]["function"]["parameters"]["type"] == "object"
    assert record["meta"] == {"id": "simple_python_1", "category": "simple_python", "language": "python"}


def test_types_are_normalised_to_json_schema():
    record = convert_row(bfcl_rows()[1], "bfcl")
    validate_record(record, require_final_assistant=False)
    area = record["tools"][0]["function"]["parameters"]
    assert area["properties"]["dims"] == {"type": "array", "items": {"type": "number"}, "description": "Sides."}
    assert area["properties"]["extra"] == {"description": "Anything.", "default": None}
    assert area["properties"]["opts"] == {"type": "object", "properties": {"round": {"type": "boolean"}}}
    assert record["tools"][1]["function"]["parameters"]["properties"]["values"]["items"] == {"type": "number"}
    assert record["messages"][0] == {"role": "system", "content": "Answer with calls."}
    assert "schema_fixes" not in record["meta"]


def test_java_parameters_are_source_strings():
    record = convert_row(bfcl_rows()[2], "bfcl")
    props = record["tools"][0]["function"]["parameters"]["properties"]
    assert {p["type"] for p in props.values()} == {"string"}
    assert props["entries"]["description"] == ("Initial entries. This is Java HashMap type parameter in string "
                                               "representation.")
    assert record["meta"]["language"] == "java"


def test_possible_answers_join_by_id():
    records = [convert_row(row, "bfcl") for row in bfcl_rows()]
    joined = attach_possible_answers(records, bfcl_answers())
    assert joined[0]["meta"]["possible_answers"] == [{"math.factorial": {"number": [5]}}]
    assert "possible_answers" not in joined[2]["meta"] and "possible_answers" not in records[0]["meta"]
    with pytest.raises(DataError, match="no possible answer for id 'simple_java_4'"):
        attach_possible_answers(records, bfcl_answers(), strict=True)
    with pytest.raises(DataError, match=r"answers\[0\]: expected"):
        attach_possible_answers(records, [{"id": 1}])


def test_ground_truth_in_the_row_is_kept():
    row = {**bfcl_rows()[0], "ground_truth": [{"math.factorial": {"number": [5]}}]}
    assert convert_row(row, "bfcl")["meta"]["possible_answers"] == [{"math.factorial": {"number": [5]}}]


@pytest.mark.parametrize("row_id, category", [("simple_python_12", "simple_python"),
                                              ("live_multiple_3-1-0", "live_multiple"),
                                              ("irrelevance_9", "irrelevance"), ("multi_turn_base_17", "multi_turn_base")])
def test_category_of(row_id, category):
    assert category_of(row_id) == category


@pytest.mark.parametrize("row, field, reason", [
    ({"id": "multi_turn_base_0", "question": [[{"role": "user", "content": "cd"}]], "involved_classes": ["X"]},
     "function", "no function docs (tools come from involved_classes ['X'])"),
    ({"id": "simple_python_0", "question": [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]],
      "function": []}, "question", "2 turns: multi-turn questions"),
    ({"id": "simple_python_0", "question": [[{"role": "robot", "content": "a"}]], "function": []},
     "question[0][0].role", "unexpected role 'robot'"),
    ({"id": "simple_python_0", "question": [[{"role": "user", "content": "a"}]],
      "function": [{"name": "f", "parameters": {"type": "string"}}]}, "function[0].parameters.type",
     "the parameters schema must be an object schema"),
])
def test_errors_name_the_raw_field(row, field, reason):
    with pytest.raises(DataError) as info:
        convert_row(row, "bfcl")
    assert (info.value.field, info.value.reason[: len(reason)]) == (field, reason)


def test_bfcl_is_read_only():
    assert FORMATS["bfcl"].from_canonical is None
    with pytest.raises(DataError, match="cannot be written as 'bfcl'"):
        to_format(convert_row(bfcl_rows()[0], "bfcl"), "bfcl")


SINGLE_TURN = ["simple_python", "simple_java", "simple_javascript", "multiple", "parallel", "parallel_multiple",
               "irrelevance", "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple",
               "live_irrelevance", "live_relevance"]
# Rows of live_irrelevance whose question holds two user messages in a row: they convert,
# and the validator rejects them as the data's own defect.
CONSECUTIVE_USERS = {"live_irrelevance": 3}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("category", SINGLE_TURN)
def test_real_bfcl_single_turn_categories(category):
    path = BFCL_CACHE / f"BFCL_v4_{category}.json"
    if not path.is_file():
        pytest.skip(f"BFCL data absent: {path} (run `fc-finetune data fetch-bfcl`)")
    records = [convert_row(row, "bfcl") for row in _jsonl(path)]
    answers = BFCL_CACHE / "possible_answer" / path.name
    if answers.is_file():
        records = attach_possible_answers(records, _jsonl(answers), strict=True)
    invalid = 0
    for record in records:
        assert record["meta"]["category"] == category
        assert "schema_fixes" not in record["meta"]
        try:
            validate_record(record, require_final_assistant=False)
        except DataError as exc:
            assert "two user messages in a row" in str(exc)
            invalid += 1
        offered = {t["function"]["name"] for t in record["tools"]}
        for answer in record["meta"].get("possible_answers", []):
            assert set(answer) <= offered
    assert invalid == CONSECUTIVE_USERS.get(category, 0)
