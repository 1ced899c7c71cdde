"""Evaluation sets: canonical files (prompt up to the first assistant turn, the reference,
the final answer for response scoring) and BFCL from a fake cache."""

import json

import pytest
from helpers.eval_assets import offline_pip

from fc_finetune.errors import DataError, DataFetchError, FcFinetuneError
from fc_finetune.evaluation.bfcl_fetch import BFCL_VERSION
from fc_finetune.evaluation.sets import BFCL_SUMMARY, load_eval_set, parse_bfcl_spec

WEATHER = {"type": "function", "function": {"name": "get_current_weather", "description": "Weather now.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def call_record(city, kind="single"):
    return {"messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": f"Weather in {city}?"},
                         {"role": "assistant", "content": "",
                          "tool_calls": [{"name": "get_current_weather", "arguments": {"city": city}}]},
                         {"role": "tool", "name": "get_current_weather", "content": '{"temp": 20}'},
                         {"role": "assistant", "content": f"It is 20 degrees in {city}."}],
            "tools": [WEATHER], "meta": {"kind": kind}}


def chat_record(text="hello"):
    return {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "Hi!"}],
            "tools": [WEATHER], "meta": {"kind": "no_call"}}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_file_prompt_reference_and_final_answer(tmp_path):
    path = write_jsonl(tmp_path / "eval.jsonl", [call_record("Paris"), chat_record(), call_record("Rome")])
    eval_set = load_eval_set(str(path))
    assert eval_set.kind == "file" and eval_set.categories == ["single", "no_call"]
    first, chat, _ = eval_set.examples
    assert [m["role"] for m in first.messages] == ["system", "user"]
    assert first.reference["tool_calls"] == [{"name": "get_current_weather", "arguments": {"city": "Paris"}}]
    assert first.should_call and not chat.should_call
    assert first.reference_response == "It is 20 degrees in Paris."
    assert [m["role"] for m in first.response_history] == ["system", "user", "assistant", "tool"]
    assert chat.reference == {"role": "assistant", "content": "Hi!"} and chat.reference_response is None
    assert first.category == "single" and chat.category == "no_call"


def test_limit_is_per_category_and_deterministic(tmp_path):
    records = [call_record(c) for c in ("A", "B", "C")] + [chat_record(t) for t in ("x", "y")]
    path = write_jsonl(tmp_path / "eval.jsonl", records)
    eval_set = load_eval_set(str(path), limit=2)
    assert [e.messages[-1]["content"] for e in eval_set.examples] == ["Weather in A?", "Weather in B?", "x", "y"]
    assert eval_set.skipped == {"single": 1}
    assert [e.id for e in load_eval_set(str(path), limit=2).examples] == [e.id for e in eval_set.examples]


def test_file_errors_name_file_record_and_field(tmp_path):
    prompt_only = {"messages": [{"role": "user", "content": "hi"}], "tools": [WEATHER]}
    path = write_jsonl(tmp_path / "bad.jsonl", [chat_record(), prompt_only])
    with pytest.raises(DataError, match=r"bad\.jsonl record 1: messages: no assistant turn"):
        load_eval_set(str(path))
    with pytest.raises(DataError, match="no such file"):
        load_eval_set(str(tmp_path / "missing.jsonl"))
    broken = call_record("Paris")
    broken["messages"][2]["tool_calls"][0]["name"] = "nope"
    with pytest.raises(DataError, match=r"record 0: messages\[2\]\.tool_calls\[0\]"):
        load_eval_set(str(write_jsonl(tmp_path / "b2.jsonl", [broken])))


def fake_bfcl_cache(root):
    folder = root / "bfcl" / BFCL_VERSION
    (folder / "possible_answer").mkdir(parents=True)
    fn = {"name": "math.factorial", "description": "n!", "parameters": {
        "type": "dict", "properties": {"number": {"type": "integer"}}, "required": ["number"]}}
    categories = {}
    for cat in BFCL_SUMMARY:
        questions = [{"id": f"{cat}_{i}", "question": [[{"role": "user", "content": f"{cat} question {i}"}]],
                      "function": [fn]} for i in range(3)]
        (folder / f"BFCL_v4_{cat}.json").write_text("".join(json.dumps(q) + "\n" for q in questions))
        if cat != "irrelevance":
            answers = [{"id": q["id"], "ground_truth": [{"math.factorial": {"number": [i]}}]}
                       for i, q in enumerate(questions)]
            (folder / "possible_answer" / f"BFCL_v4_{cat}.json").write_text(
                "".join(json.dumps(a) + "\n" for a in answers))
        categories[cat] = {"file": f"BFCL_v4_{cat}.json", "questions": 3,
                           "possible_answers": None if cat == "irrelevance" else 3, "questions_without_answer": 0}
    categories["multi_turn_base"] = {"file": "BFCL_v4_multi_turn_base.json", "questions": 1}
    (folder / "index.json").write_text(json.dumps({"version": BFCL_VERSION, "categories": categories,
                                                   "subsets": {}}))
    return folder


def test_bfcl_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FC_FINETUNE_CACHE", str(tmp_path))
    fake_bfcl_cache(tmp_path)
    eval_set = load_eval_set("bfcl:summary", limit=2)
    assert eval_set.kind == "bfcl" and eval_set.categories == list(BFCL_SUMMARY)
    assert len(eval_set.examples) == 10 and eval_set.skipped == {c: 1 for c in BFCL_SUMMARY}
    simple = eval_set.examples[1]
    assert simple.id == "simple_python_1" and simple.category == "simple_python"
    assert simple.possible_answers == [{"math.factorial": {"number": [1]}}] and simple.should_call
    assert simple.tools[0]["function"]["parameters"]["type"] == "object"
    assert simple.messages == [{"role": "user", "content": "simple_python question 1"}]
    irrelevant = [e for e in eval_set.examples if e.category == "irrelevance"]
    assert all(e.expect == "no_call" and not e.should_call for e in irrelevant)
    assert [e.category for e in load_eval_set("bfcl:parallel,simple_python").examples] == \
        ["parallel"] * 3 + ["simple_python"] * 3


def test_bfcl_is_fetched_on_first_use(tmp_path, monkeypatch):
    from test_bfcl_fetch import _make_wheel

    from fc_finetune.evaluation import bfcl_fetch

    monkeypatch.setenv("FC_FINETUNE_CACHE", str(tmp_path))
    wheel = _make_wheel(tmp_path / "bfcl_eval.whl")
    got = []
    monkeypatch.setattr(bfcl_fetch, "download_wheel", lambda package, version, dest, *, error: got.append(
        (package, version)) or wheel)
    assert [e.id for e in load_eval_set("bfcl:irrelevance").examples] == ["irrelevance_0"]
    assert got == [("bfcl-eval", BFCL_VERSION)]
    load_eval_set("bfcl:irrelevance")
    assert len(got) == 1, "fetched once, then read from the cache"


def test_bfcl_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("FC_FINETUNE_CACHE", str(tmp_path))
    attempts = offline_pip(monkeypatch)
    with pytest.raises(DataFetchError, match="needed for --data bfcl:simple_python and fetching it failed") as info:
        load_eval_set("bfcl:simple_python")
    assert "No matching distribution" in str(info.value) and "fc-finetune data fetch-bfcl --wheel" in str(info.value)
    assert attempts == [f"bfcl-eval=={BFCL_VERSION}"]
    with pytest.raises(DataFetchError, match="Run `fc-finetune data fetch-bfcl`"):
        load_eval_set("bfcl:simple_python", version="0.0.1")  # another version is never fetched behind your back
    fake_bfcl_cache(tmp_path)
    with pytest.raises(FcFinetuneError, match="multi-turn or agentic"):
        load_eval_set("bfcl:multi_turn_base")
    with pytest.raises(FcFinetuneError, match="unknown BFCL category nope; the fetched data has"):
        load_eval_set("bfcl:simple_python,nope")
    with pytest.raises(FcFinetuneError, match="names no BFCL category"):
        parse_bfcl_spec("bfcl:")
    assert parse_bfcl_spec("bfcl:summary,simple_python,live_simple") == [*BFCL_SUMMARY, "live_simple"]
