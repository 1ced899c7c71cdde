"""The BFCL-style AST matcher: one right and one wrong case per rule."""

from __future__ import annotations

import pytest

from fc_finetune.evaluation.ast_match import (
    REASONS,
    Match,
    match_calls,
    possible_answers_from_calls,
    standardize,
)


def tool(name: str, properties: dict, required: list[str] | None = None) -> dict:
    params = {"type": "object", "properties": properties, "required": required or []}
    return {"type": "function", "function": {"name": name, "description": name, "parameters": params}}


AREA = tool("calc_area", {"base": {"type": "integer"}, "height": {"type": "number"},
                          "unit": {"type": "string"}, "exact": {"type": "boolean"}}, ["base", "height"])
WEATHER = tool("get_weather", {"city": {"type": "string"}, "days": {"type": "integer"}}, ["city"])
MATRIX = tool("mean", {"values": {"type": "array", "items": {"type": "number"}},
                       "grid": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
                       "names": {"type": "array", "items": {"type": "string"}}})
QUERY = tool("query", {"budget": {"type": "object"},
                       "conditions": {"type": "array", "items": {"type": "object"}},
                       "anything": {}})
TOOLS = [AREA, WEATHER, MATRIX, QUERY]

AREA_ANSWER = [{"calc_area": {"base": [10], "height": [5.0], "unit": ["units", "", "cm"], "exact": ["", True]}}]


def call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def check(calls, answers, tools=TOOLS) -> Match:
    result = match_calls(calls, answers, tools)
    assert result.reason in REASONS
    assert result.ok == (result.reason == "correct")
    assert result.ok or result.detail, "a failure must say why"
    return result


def test_correct_call_and_optional_params_given_or_omitted():
    assert check([call("calc_area", base=10, height=5.0)], AREA_ANSWER) == Match(True, "correct")
    assert check([call("calc_area", base=10, height=5.0, unit="cm", exact=True)], AREA_ANSWER).ok


def test_wrong_function_name():
    result = check([call("get_weather", city="Paris")], AREA_ANSWER)
    assert result.reason == "wrong_function" and "'calc_area'" in result.detail


def test_unknown_function_is_wrong_function():
    result = check([call("launch_rocket", base=10, height=5.0)], AREA_ANSWER)
    assert result.reason == "wrong_function" and "not an offered tool" in result.detail


def test_missing_required_parameter():
    result = check([call("calc_area", base=10)], AREA_ANSWER)
    assert result.reason == "missing_required" and "'height'" in result.detail


def test_omitted_param_needs_empty_string_in_allowed_values():
    # 'days' is optional in the schema, but the possible answer does not allow omitting it
    answers = [{"get_weather": {"city": ["Paris"], "days": [3]}}]
    result = check([call("get_weather", city="Paris")], answers)
    assert result.reason == "missing_required" and "'days'" in result.detail
    assert check([call("get_weather", city="Paris")], [{"get_weather": {"city": ["Paris"], "days": [3, ""]}}]).ok


def test_unexpected_parameter():
    # 'days' exists in the schema but not in the possible answer
    result = check([call("get_weather", city="Paris", days=2)], [{"get_weather": {"city": ["Paris"]}}])
    assert result.reason == "unexpected_parameter" and "'days'" in result.detail
    # a parameter that is nowhere in the schema either
    result = check([call("calc_area", base=10, height=5.0, colour="red")], AREA_ANSWER)
    assert result.reason == "unexpected_parameter"


def test_int_is_accepted_for_number_and_equal_to_the_float():
    assert check([call("calc_area", base=10, height=5)], AREA_ANSWER).ok


def test_float_is_not_an_integer():
    result = check([call("calc_area", base=10.0, height=5.0)], AREA_ANSWER)
    assert result.reason == "wrong_type" and "'base'" in result.detail and "integer" in result.detail


def test_bool_is_neither_integer_nor_number():
    assert check([call("calc_area", base=True, height=5.0)], AREA_ANSWER).reason == "wrong_type"
    assert check([call("calc_area", base=10, height=False)], AREA_ANSWER).reason == "wrong_type"
    assert check([call("calc_area", base=10, height=5.0, exact=1)], AREA_ANSWER).reason == "wrong_type"


def test_string_for_integer_is_wrong_type():
    assert check([call("calc_area", base="10", height=5.0)], AREA_ANSWER).reason == "wrong_type"


def test_variable_of_the_answers_type_is_accepted_and_compared_exactly():
    # BFCL: when the allowed values have another type than the schema (a variable name), that type is fine
    answers = [{"calc_area": {"base": ["side_length"], "height": [5.0]}}]
    assert check([call("calc_area", base="side_length", height=5.0)], answers).ok
    assert check([call("calc_area", base="Side Length", height=5.0)], answers).reason == "wrong_value"


def test_wrong_value():
    result = check([call("calc_area", base=11, height=5.0)], AREA_ANSWER)
    assert result.reason == "wrong_value" and "11" in result.detail and "[10]" in result.detail


def test_strings_are_standardised_before_comparison():
    answers = [{"get_weather": {"city": ["New York, NY"], "days": ["", 3]}}]
    for said in ("new york ny", "NEW-YORK/NY.", "New_York*NY^", "newyork,ny"):
        assert check([call("get_weather", city=said)], answers).ok, said
    assert check([call("get_weather", city="New Jersey")], answers).reason == "wrong_value"
    assert standardize("It's") == standardize('it"s')


def test_lists_element_wise_in_order_with_normalised_strings():
    answers = [{"mean": {"values": [[1.0, 2.5]], "names": [["Ann Lee", "Bob"], ["x"]], "grid": ["", [[1, 2], [3]]]}}]
    assert check([call("mean", values=[1, 2.5], names=["ann-lee", "BOB"])], answers).ok
    assert check([call("mean", values=[1, 2.5], names=["x"], grid=[[1, 2], [3]])], answers).ok
    assert check([call("mean", values=[2.5, 1], names=["x"])], answers).reason == "wrong_value"
    assert check([call("mean", values=[1, 2.5, 3], names=["x"])], answers).reason == "wrong_value"


def test_list_element_types_are_checked_recursively():
    answers = [{"mean": {"values": [[1.0, 2.0]], "grid": [[[1, 2]]]}}]
    result = check([call("mean", values=[1.0, "2"])], answers)
    assert result.reason == "wrong_type" and "values'[1]" in result.detail.replace(": ", "")
    assert check([call("mean", values=[1.0, 2.0], grid=[[1, 2.0]])], answers).reason == "wrong_type"
    assert check([call("mean", values=[1.0, 2.0], grid=[[1, 2]])], answers).ok
    assert check([call("mean", values="1, 2")], answers).reason == "wrong_type"


def test_nested_dicts_are_compared_key_by_key():
    answers = [{"query": {"budget": [{"min": [300000], "max": [400000, ""], "currency": ["USD", "$"]}]}}]
    assert check([call("query", budget={"min": 300000, "max": 400000, "currency": "usd"})], answers).ok
    assert check([call("query", budget={"min": 300000.0, "currency": "$"})], answers).ok  # max may be omitted
    wrong = check([call("query", budget={"min": 300000, "max": 500000, "currency": "USD"})], answers)
    assert wrong.reason == "wrong_value"
    assert check([call("query", budget={"min": 300000, "currency": "USD", "extra": 1})], answers).reason == "wrong_value"
    assert check([call("query", budget={"max": 400000, "currency": "USD"})], answers).reason == "wrong_value"
    assert check([call("query", budget="min 300000")], answers).reason == "wrong_type"


def test_lists_of_dicts_follow_the_nested_form():
    answers = [{"query": {"conditions": [[{"field": ["age"], "op": [">"]}, {"field": ["job"], "op": ["="]}]]}}]
    good = [{"field": "age", "op": ">"}, {"field": "Job", "op": "="}]
    assert check([call("query", conditions=good)], answers).ok
    assert check([call("query", conditions=good[::-1])], answers).reason == "wrong_value"
    assert check([call("query", conditions=["age > 25"])], answers).reason == "wrong_type"


def test_untyped_parameter_takes_any_type_but_value_still_counts():
    answers = [{"query": {"anything": [42, "x"]}}]
    assert check([call("query", anything=42)], answers).ok
    assert check([call("query", anything="X")], answers).ok
    assert check([call("query", anything=[42])], answers).reason == "wrong_value"


def test_parallel_calls_match_in_any_order():
    answers = [{"get_weather": {"city": ["Paris"], "days": ["", 1]}}, {"get_weather": {"city": ["Rome"]}},
               {"calc_area": {"base": [1], "height": [2]}}]
    calls = [call("calc_area", base=1, height=2), call("get_weather", city="Rome"), call("get_weather", city="Paris")]
    assert check(calls, answers).ok
    assert check(calls[::-1], answers).ok


def test_parallel_assignment_is_one_to_one_not_greedy():
    # the first expected entry accepts both calls; a greedy matcher taking call 0 for it would fail
    answers = [{"get_weather": {"city": ["Paris", "Rome"]}}, {"get_weather": {"city": ["Paris"]}}]
    assert check([call("get_weather", city="Paris"), call("get_weather", city="Rome")], answers).ok


def test_parallel_failure_reports_the_closest_reason():
    answers = [{"get_weather": {"city": ["Paris"]}}, {"get_weather": {"city": ["Rome"]}}]
    result = check([call("get_weather", city="Paris"), call("get_weather", city="Berlin")], answers)
    assert result.reason == "wrong_value" and "expected call 1" in result.detail and "Berlin" in result.detail
    result = check([call("get_weather", city="Paris"), call("launch", city="Rome")], answers)
    assert result.reason == "wrong_function"


def test_wrong_count():
    answers = [{"get_weather": {"city": ["Paris"]}}, {"get_weather": {"city": ["Rome"]}}]
    result = check([call("get_weather", city="Paris")], answers)
    assert result.reason == "wrong_count" and "expected 2" in result.detail
    assert check([call("get_weather", city="Paris")] * 2, answers[:1]).reason == "wrong_count"


def test_no_call_when_one_was_expected():
    assert check([], AREA_ANSWER) == Match(False, "no_call", check([], AREA_ANSWER).detail)


@pytest.mark.parametrize("answers", [None, []])
def test_irrelevance(answers):
    assert check([], answers).ok
    result = check([call("get_weather", city="Paris")], answers)
    assert result.reason == "unexpected_call" and "'get_weather'" in result.detail


def test_malformed_call_and_arguments():
    assert check([{"arguments": {}}], AREA_ANSWER).reason == "wrong_function"
    assert check([{"name": "calc_area", "arguments": '{"base": 10}'}], AREA_ANSWER).reason == "wrong_type"


def test_malformed_possible_answers_raise():
    with pytest.raises(ValueError, match="possible_answers"):
        match_calls([call("calc_area", base=1)], [{"calc_area": {"base": 1}}], TOOLS)
    with pytest.raises(ValueError, match="possible_answers"):
        match_calls([call("calc_area", base=1)], [{"a": {}, "b": {}}], TOOLS)


def test_possible_answers_from_reference_calls():
    ref = [call("query", budget={"min": 1, "tags": ["a", "b"]}, conditions=[{"field": "age"}]),
           call("get_weather", city="Paris")]
    answers = possible_answers_from_calls(ref)
    assert answers == [{"query": {"budget": [{"min": [1], "tags": [["a", "b"]]}],
                                  "conditions": [[{"field": ["age"]}]]}},
                       {"get_weather": {"city": ["Paris"]}}]
    assert check(ref, answers).ok
    assert check(ref[::-1], answers).ok
    changed = [call("query", budget={"min": 1, "tags": ["a"]}, conditions=[{"field": "age"}]), ref[1]]
    assert check(changed, answers).reason == "wrong_value"
    assert possible_answers_from_calls([]) == []
