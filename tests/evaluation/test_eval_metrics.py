"""Per-turn call scores, their summary, and the text metrics, with exact expected numbers."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from fc_finetune.evaluation.ast_match import Match
from fc_finetune.evaluation.metrics import METRICS, module_path, score_turn, summarise
from fc_finetune.evaluation.text_metrics import bleu, bleu_tokens, rouge_l, rouge_l_pair, rouge_tokens

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather.", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string",
                                                                                "enum": ["c", "f"]}},
        "required": ["city"]}}},
    {"type": "function", "function": {"name": "add", "description": "Sum.", "parameters": {
        "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"]}}},
]


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


def turn(*calls):
    return {"role": "assistant", "content": "" if calls else "Hello!", **({"tool_calls": list(calls)} if calls else {})}


PARIS, ROME = call("get_weather", city="Paris"), call("get_weather", city="Rome", unit="c")


def test_exact_parallel_calls_in_another_order():
    score = score_turn(turn(PARIS, ROME), [ROME, PARIS], TOOLS)
    assert score == {"should_call": True, "called": True, "decision_ok": True, "function_ok": True,
                     "arguments_exact": True, "ast": Match(True, "correct"), "schema_valid": 2, "calls": 2}


def test_right_function_loose_value_wrong_type_and_unknown_tool():
    score = score_turn(turn(PARIS), [call("get_weather", city="paris")], TOOLS)
    assert (score["function_ok"], score["arguments_exact"], score["ast"].ok) == (True, False, True)
    score = score_turn(turn(call("add", a=1, b=2)), [call("add", a=1, b="2"), call("nope")], TOOLS)
    assert score["function_ok"] is False and score["arguments_exact"] is False
    assert score["ast"].reason == "wrong_count" and score["schema_valid"] == 0 and score["calls"] == 2
    score = score_turn(turn(PARIS), [call("get_weather", city="Paris", unit="kelvin")], TOOLS)
    assert score["ast"].reason == "unexpected_parameter" and score["schema_valid"] == 0


def test_no_call_turns():
    score = score_turn(turn(), [], TOOLS)
    assert score == {"should_call": False, "called": False, "decision_ok": True, "function_ok": None,
                     "arguments_exact": None, "ast": Match(True, "correct"), "schema_valid": 0, "calls": 0}
    score = score_turn(turn(), [PARIS], TOOLS)
    assert score["decision_ok"] is False and score["ast"].reason == "unexpected_call" and score["schema_valid"] == 1
    score = score_turn(turn(PARIS), [], TOOLS)
    assert score["decision_ok"] is False and score["function_ok"] is False and score["ast"].reason == "no_call"


def test_summarise_counts_and_rates():
    scores = [
        score_turn(turn(PARIS), [PARIS], TOOLS),                               # all right
        score_turn(turn(PARIS), [call("get_weather", city="PARIS")], TOOLS),   # AST ok, not exact
        score_turn(turn(PARIS), [call("add", a=1, b=2)], TOOLS),               # wrong function
        score_turn(turn(PARIS), [], TOOLS),                                    # missed call
        score_turn(turn(), [], TOOLS),                                         # right no-call
        score_turn(turn(), [call("add", a=1, b=2.5)], TOOLS),                  # spurious call, schema-invalid
    ]
    summary = summarise(scores)
    assert (summary["turns"], summary["call_turns"], summary["no_call_turns"]) == (6, 4, 2)
    m = summary["metrics"]
    assert list(m) == list(METRICS)
    assert m["call_decision_accuracy"] == {"rate": 4 / 6, "correct": 4, "total": 6}
    assert m["function_selection_accuracy"] == {"rate": 0.5, "correct": 2, "total": 4}
    assert m["irrelevance_accuracy"] == {"rate": 0.5, "correct": 1, "total": 2}
    assert m["argument_exact_match"] == {"rate": 0.25, "correct": 1, "total": 4}
    assert m["ast_accuracy"] == {"rate": 0.5, "correct": 3, "total": 6}
    assert m["full_call_accuracy"] == {"rate": 2 / 6, "correct": 2, "total": 6}
    assert m["schema_validity"] == {"rate": 0.75, "correct": 3, "total": 4}
    assert summary["ast_reasons"] == {"correct": 3, "no_call": 1, "unexpected_call": 1, "wrong_function": 1}


def test_summarise_empty_and_dict_form_ast():
    empty = summarise([])
    assert empty["turns"] == 0 and all(v["rate"] is None for v in empty["metrics"].values())
    score = score_turn(turn(PARIS), [PARIS], TOOLS)
    score["ast"] = dataclasses.asdict(score["ast"])  # as read back from a JSON report
    summary = summarise([score])
    assert summary["metrics"]["ast_accuracy"]["rate"] == 1.0 and summary["metrics"]["irrelevance_accuracy"]["rate"] is None


def test_module_path():
    folder = Path(module_path("fc_response"))
    assert (folder / "fc_response.py").is_file()
    with pytest.raises(ValueError, match="fc_ast_match"):
        module_path("rouge")


# ---- text metrics (values computed by hand) ----

def test_tokenisers():
    assert rouge_tokens("It's 21°C in Paris!") == ["it", "s", "21", "c", "in", "paris"]
    assert bleu_tokens("It's 21°C.") == ["It", "'", "s", "21", "°", "C", "."]


def test_rouge_l_by_hand():
    # LCS("the cat sat on the mat", "the cat is on the mat") = the cat on the mat = 5 of 6 and 6
    assert rouge_l_pair("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    # LCS = "a c" = 2; P = 2/3, R = 2/4, F = 2PR/(P+R) = 4/7
    assert rouge_l_pair("A b C", "a x c y") == pytest.approx(4 / 7)
    assert rouge_l_pair("", "a") == 0.0 and rouge_l_pair("q", "a") == 0.0
    assert rouge_l(["the cat sat on the mat", "A b C"], ["the cat is on the mat", "a x c y"]) == pytest.approx(
        (5 / 6 + 4 / 7) / 2)
    assert rouge_l([], []) == 0.0
    with pytest.raises(ValueError, match="pair up"):
        rouge_l(["a"], [])


def test_bleu_by_hand():
    # precisions 5/6, 3/5, 1/4 and (no 4-gram match, exp smoothing) 1/(2*3); no brevity penalty
    assert bleu(["the cat sat on the mat"], ["the cat is on the mat"]) == pytest.approx((1 / 48) ** 0.25)
    assert bleu(["the cat is on the mat"], ["the cat is on the mat"]) == pytest.approx(1.0)
    # 3 tokens vs a 6-token reference: p1 = 1, p2 = 1, p3 = 1, no 4-gram at all (order left out);
    # brevity penalty exp(1 - 6/3)
    assert bleu(["the cat is"], ["the cat is on the mat"]) == pytest.approx(math.exp(-1))
    # corpus pooling: sentence 2 "a b" vs "a c": matches p1 = (6+1)/(6+2), p2 = (5+0)/(5+1),
    # p3 = 4/4, p4 = 3/3; lengths 8 vs 8
    expected = (7 / 8 * 5 / 6) ** 0.25
    assert bleu(["the cat is on the mat", "a b"], ["the cat is on the mat", "a c"]) == pytest.approx(expected)
    assert bleu(["x y"], ["a b"]) == pytest.approx(((1 / (2 * 2)) * (1 / (4 * 1))) ** 0.5)
    assert bleu([""], ["a"]) == 0.0 and bleu([], []) == 0.0


def _heads_record(should_call: bool, decisions: list[dict], calls: int) -> dict:
    """A heads-mode eval record as the runner writes it, reduced to what the report reads."""
    return {"category": "c", "verdict": {"ok": should_call == bool(calls), "reason": "x"}, "calls_written": calls,
            "schema_valid": calls, "seconds": 1.0, "execution": None, "selector": {"decisions": decisions},
            "score": {"should_call": should_call, "called": bool(calls), "function_ok": bool(calls),
                      "decision_ok": should_call == bool(calls), "arguments_exact": None}}


def test_a_first_call_heads_mode_chose_but_did_not_make_counts_as_not_called():
    from fc_finetune.evaluation.report import (
        GROUNDING_CHECKS,
        aggregate,
        build_results,
        decision_confusion,
        render_markdown,
    )

    made = _heads_record(True, [{"p_no_call": 0.2, "choice": "add"}, {"p_no_call": 0.9, "choice": None}], 1)
    dropped = _heads_record(False, [{"p_no_call": 0.3, "choice": "add", "dropped": True}], 0)
    declined = _heads_record(False, [{"p_no_call": 0.9, "choice": None}], 0)
    # a later call dropped (a repeat) does not change what the first decision did
    repeat = _heads_record(True, [{"p_no_call": 0.2, "choice": "add"}, {"p_no_call": 0.1, "choice": "add",
                                                                       "dropped": True}], 1)
    # a first call whose arguments could not be decoded: chosen, not made, not "dropped"
    undecodable = _heads_record(True, [{"p_no_call": 0.4, "choice": "add"}], 0)
    records = [made, dropped, declined, repeat, undecodable]
    assert decision_confusion(records) == {"call_called": 2, "call_not_called": 1, "no_call_called": 0,
                                           "no_call_not_called": 2}
    assert aggregate(records)["first_calls_dropped"] == 1
    config = {"model": "m", "mode": "heads", "data": "d.jsonl", "kind": "file"}

    def report(recs):
        return render_markdown(build_results(config, recs, ["single"], kind="file"), failing=0)

    assert f"1 first calls chosen by the selector were not made (a grounding check failed: {GROUNDING_CHECKS})" \
        in report(records)
    assert "first calls chosen" not in report([made, declined])
