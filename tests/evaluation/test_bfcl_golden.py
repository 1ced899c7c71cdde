"""Golden AST-matching cases on BFCL entries.

The real entries are read from the fetched BFCL data (``fc-finetune data fetch-bfcl``),
where it lies in the cache; they are never copied into the repository. Where the data is
absent those tests skip. The ``INLINE_*`` rows below are short hand-written rows in the
style of BFCL (not BFCL data), so the golden path (converter -> matcher) always runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fc_finetune.data.formats.bfcl import attach_possible_answers, to_canonical
from fc_finetune.evaluation.ast_match import match_calls
from fc_finetune.evaluation.bfcl_fetch import BFCL_VERSION, bfcl_dir

# Resolved at import, before the autouse fixture points FC_FINETUNE_CACHE at an empty folder.
BFCL_ROOT: Path = bfcl_dir(BFCL_VERSION)


def concrete(answer):
    """A model output made of the first allowed values of a possible answer (nested form too)."""
    if isinstance(answer, dict) and all(isinstance(v, list) for v in answer.values()):
        return {key: concrete(allowed[0]) for key, allowed in answer.items() if allowed and allowed[0] != ""}
    if isinstance(answer, list):
        return [concrete(item) for item in answer]
    return answer


def correct_calls(record: dict) -> list[dict]:
    calls = []
    for entry in record["meta"].get("possible_answers") or []:
        (name, params), = entry.items()
        calls.append({"name": name, "arguments": {p: concrete(v[0]) for p, v in params.items() if v and v[0] != ""}})
    return calls


def load_real(row_id: str) -> dict:
    category = row_id.rsplit("_", 1)[0]
    questions = BFCL_ROOT / f"BFCL_v4_{category}.json"
    if not questions.is_file():
        pytest.skip(f"BFCL {BFCL_VERSION} data is not in {BFCL_ROOT}: run `fc-finetune data fetch-bfcl`")
    row = next(json.loads(line) for line in questions.open(encoding="utf-8") if f'"{row_id}"' in line[:80])
    record = to_canonical(row)
    answers = BFCL_ROOT / "possible_answer" / questions.name
    if answers.is_file():
        wanted = [json.loads(line) for line in answers.open(encoding="utf-8") if f'"{row_id}"' in line[:80]]
        record = attach_possible_answers([record], wanted)[0]
    return record


def edit(calls: list[dict], index: int, **changes) -> list[dict]:
    """A copy of ``calls`` with arguments of call ``index`` changed (None deletes)."""
    out = json.loads(json.dumps(calls))
    for key, value in changes.items():
        if key == "name":
            out[index]["name"] = value
        elif value is None:
            out[index]["arguments"].pop(key)
        else:
            out[index]["arguments"][key] = value
    return out


# (row id, [(wrong calls builder, expected reason)])
REAL_CASES = {
    "simple_python_0": [(lambda c: edit(c, 0, base=10.0), "wrong_type"),
                        (lambda c: edit(c, 0, height=None), "missing_required"),
                        (lambda c: edit(c, 0, unit="inches"), "wrong_value")],
    "simple_python_89": [(lambda c: edit(c, 0, conditions={"department": "Science", "school": "Bluebird HS"}), "correct"),
                         (lambda c: edit(c, 0, conditions={"department": "Arts", "school": "Bluebird HS"}),
                          "wrong_value"),
                         (lambda c: edit(c, 0, fetch_limit=10), "wrong_value")],
    "simple_python_96": [(lambda c: edit(c, 0, conditions=c[0]["arguments"]["conditions"][::-1]), "wrong_value"),
                         (lambda c: edit(c, 0, conditions="age > 25 and job = engineer"), "wrong_type")],
    "multiple_0": [(lambda c: edit(c, 0, get_area=True, get_angles=True), "correct"),
                   (lambda c: edit(c, 0, get_area=1), "wrong_type"),
                   (lambda c: edit(c, 0, name="circle_properties.get"), "wrong_function")],
    "parallel_0": [(lambda c: c[::-1], "correct"),
                   (lambda c: c[:1], "wrong_count"),
                   (lambda c: edit(c, 1, artist="Taylor Swift"), "wrong_value")],
    "parallel_29": [(lambda c: edit(c[::-1], 0, location="nyc"), "correct"),
                    (lambda c: edit(c, 0, population={"adults": 2, "children": 2}), "wrong_value")],
    "parallel_multiple_0": [(lambda c: c[::-1], "correct"),
                            (lambda c: edit(c, 0, multiples=[3, "5"]), "wrong_type"),
                            (lambda c: edit(c, 1, name="math_toolkit.sum_of_multiples"), "wrong_function")],
    "irrelevance_0": [(lambda c: [{"name": "determine_body_mass_index", "arguments": {"weight": 10, "height": 5}}],
                       "unexpected_call")],
}


@pytest.mark.parametrize("row_id", sorted(REAL_CASES))
def test_real_bfcl_rows(row_id):
    record = load_real(row_id)
    answers = record["meta"].get("possible_answers")
    assert record["meta"]["language"] == "python"
    right = correct_calls(record)
    assert match_calls(right, answers, record["tools"]).ok
    for build, reason in REAL_CASES[row_id]:
        result = match_calls(build(right), answers, record["tools"])
        assert result.reason == reason, (row_id, reason, result)


def test_no_call_on_a_real_row():
    record = load_real("simple_python_0")
    assert match_calls([], record["meta"]["possible_answers"], record["tools"]).reason == "no_call"


# ---- Hand-written rows in BFCL's format (not BFCL data), so the path always runs in CI ----

INLINE_SIMPLE = {
    "id": "simple_python_9001",
    "question": [[{"role": "user", "content": "How long is a 12 km walk at 4.5 km/h, in hours?"}]],
    "function": [{"name": "travel.walk_time", "description": "Hours needed to walk a distance.",
                  "parameters": {"type": "dict", "properties": {
                      "distance_km": {"type": "integer", "description": "Distance."},
                      "speed_kmh": {"type": "float", "description": "Walking speed."},
                      "rounding": {"type": "integer", "description": "Decimals. Default 2."},
                      "waypoints": {"type": "tuple", "items": {"type": "string"}, "description": "Stops."}},
                      "required": ["distance_km", "speed_kmh"]}}],
}
INLINE_SIMPLE_ANSWER = {"id": "simple_python_9001",
                        "ground_truth": [{"travel.walk_time": {"distance_km": [12], "speed_kmh": [4.5],
                                                               "rounding": ["", 2], "waypoints": ["", []]}}]}

INLINE_PARALLEL = {
    "id": "parallel_9001",
    "question": [[{"role": "user", "content": "Convert 10 USD to EUR and 20 GBP to JPY."}]],
    "function": [{"name": "fx.convert", "description": "Convert an amount between currencies.",
                  "parameters": {"type": "dict", "properties": {
                      "amount": {"type": "float", "description": "Amount."},
                      "pair": {"type": "dict", "description": "{'from': code, 'to': code}"}},
                      "required": ["amount", "pair"]}}],
}
INLINE_PARALLEL_ANSWER = {"id": "parallel_9001", "ground_truth": [
    {"fx.convert": {"amount": [10.0], "pair": [{"from": ["USD"], "to": ["EUR"]}]}},
    {"fx.convert": {"amount": [20.0], "pair": [{"from": ["GBP"], "to": ["JPY", "yen"]}]}}]}


def inline(row: dict, answer: dict) -> dict:
    return attach_possible_answers([to_canonical(row)], [answer], strict=True)[0]


def test_inline_simple_row():
    record = inline(INLINE_SIMPLE, INLINE_SIMPLE_ANSWER)
    answers, tools = record["meta"]["possible_answers"], record["tools"]
    assert tools[0]["function"]["parameters"]["properties"]["waypoints"]["type"] == "array"
    right = correct_calls(record)
    assert right == [{"name": "travel.walk_time", "arguments": {"distance_km": 12, "speed_kmh": 4.5}}]
    assert match_calls(right, answers, tools).ok
    assert match_calls(edit(right, 0, speed_kmh=4.5, rounding=2, waypoints=[]), answers, tools).ok
    assert match_calls(edit(right, 0, distance_km=12.0), answers, tools).reason == "wrong_type"
    assert match_calls(edit(right, 0, speed_kmh=5), answers, tools).reason == "wrong_value"
    assert match_calls(edit(right, 0, waypoints=["Inn"]), answers, tools).reason == "wrong_value"
    assert match_calls(edit(right, 0, pace="fast"), answers, tools).reason == "unexpected_parameter"


def test_inline_parallel_row():
    record = inline(INLINE_PARALLEL, INLINE_PARALLEL_ANSWER)
    answers, tools = record["meta"]["possible_answers"], record["tools"]
    right = correct_calls(record)
    assert right[1] == {"name": "fx.convert", "arguments": {"amount": 20.0, "pair": {"from": "GBP", "to": "JPY"}}}
    assert match_calls(right, answers, tools).ok
    assert match_calls(edit(right[::-1], 0, amount=20, pair={"from": "gbp", "to": "Yen"}), answers, tools).ok
    assert match_calls(edit(right, 0, pair={"from": "USD", "to": "GBP"}), answers, tools).reason == "wrong_value"
    assert match_calls(right + right[:1], answers, tools).reason == "wrong_count"
    assert match_calls(edit(right, 1, name="fx.rates"), answers, tools).reason == "wrong_function"
