"""NESTFUL dev set: conversion of samples to call records and irrelevance twins; the pinned wheel."""

import json
import zipfile

import pytest

from fc_finetune.data.nestful import ANSWER, SOURCES, dev_records, fetch_nestful, tool_of
from fc_finetune.data.schema import validate_record
from fc_finetune.errors import DataFetchError

SPEC = [
    {"name": "search_airport", "description": "Find an airport", "parameters": {
        "query": {"type": "string", "description": "City", "required": True}}},
    {"name": "search_flights", "description": "Find flights", "parameters": {
        "origin": {"type": "string", "required": True}, "date": {"type": "string"}}},
    {"name": "get_weather", "description": "Weather", "query_parameters": {
        "city": {"type": "str", "required": True}, "days": {"type": "int"}}},
    {"name": "tell_joke", "description": "A joke", "parameters": {}},
    {"name": "convert", "description": "Convert", "parameters": {"amount": {"type": "number", "required": True}}},
]
DATA = [
    {"input": "Flights from Paris and Rome", "output": [
        {"name": "search_airport", "arguments": {"query": "Paris"}, "label": "var1"},
        {"name": "search_airport", "arguments": {"query": "Rome"}, "label": "var2"},
        {"name": "search_flights", "arguments": {"origin": "$var1.id$"}, "label": "var3"},
        {"name": "var_result", "arguments": {"f": "$var3$"}}]},
    {"input": "Convert ten", "output": [{"name": "convert", "arguments": {"amount": "ten"}}]},  # not a number
    {"input": "Weather in Oslo", "output": [{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}]},
]


@pytest.fixture
def root(tmp_path):
    for data_file, spec_file in SOURCES.values():
        for member, content in ((data_file, DATA), (spec_file, SPEC)):
            (tmp_path / member).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / member).write_text(json.dumps(content))
    return tmp_path


def test_samples_become_first_turn_call_records_and_irrelevance_twins(root):
    records, counts = dev_records(root, seed=0, distractors=1)
    assert counts["samples"] == 3 * len(SOURCES)
    assert counts["skipped"] == {"arguments do not fit the converted schema": len(SOURCES)}
    assert counts["call"] == counts["irrelevance"] == 2 * len(SOURCES)
    for record in records:
        validate_record(record)
    calls = [r for r in records if r["meta"]["kind"] == "call"]
    flights = next(r for r in calls if r["messages"][0]["content"].startswith("Flights"))
    # the two airport look-ups read no earlier result: one parallel first turn; the flight search waits
    assert flights["messages"][1]["tool_calls"] == [{"name": "search_airport", "arguments": {"query": "Paris"}},
                                                    {"name": "search_airport", "arguments": {"query": "Rome"}}]
    offered = {t["function"]["name"] for t in flights["tools"]}
    # the first layer's function always; the later search_flights and one distractor may be offered
    assert "search_airport" in offered and offered <= {t["name"] for t in SPEC} and 1 <= len(offered) <= 3
    twins = [r for r in records if r["meta"]["kind"] == "irrelevance"]
    for call, twin in zip(calls, twins, strict=True):
        assert twin["messages"][0] == call["messages"][0] and twin["messages"][1] == {"role": "assistant",
                                                                                      "content": ANSWER}
        used = {c["name"] for c in call["messages"][1]["tool_calls"]}
        assert not used & {t["function"]["name"] for t in twin["tools"]}
    assert [r["meta"]["kind"] for r in records] == ["call", "irrelevance"] * len(calls), "twins follow their call"
    assert dev_records(root, seed=0, distractors=1)[0] == records, "seeded"


def test_tool_counts_vary_alike_for_calls_and_twins_and_sources_are_mixed(root):
    """A calibration set must hold requests offered one function as well as several, with the
    count saying nothing of the answer, and any prefix of it must mix the sources."""
    records = [r for seed in range(8) for r in dev_records(root, seed=seed, distractors=1)[0]]
    calls = [r for r in records if r["meta"]["kind"] == "call"]
    twins = [r for r in records if r["meta"]["kind"] == "irrelevance"]
    flights = [r for r in calls if r["messages"][0]["content"].startswith("Flights")]
    assert {len(r["tools"]) for r in flights} == {1, 2, 3}
    assert [len(r["tools"]) for r in calls] == [len(r["tools"]) for r in twins]
    firsts = {dev_records(root, seed=seed, distractors=1)[0][0]["meta"]["source"] for seed in range(8)}
    assert len(firsts) > 1, "records are shuffled across sources"


def test_spec_types_map_to_json_schema():
    tool = tool_of(SPEC[2])["function"]
    assert tool["parameters"] == {"type": "object", "required": ["city"], "properties": {
        "city": {"type": "string", "description": "city"}, "days": {"type": "integer", "description": "days"}}}


def test_a_wheel_that_is_not_the_pinned_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FC_FINETUNE_CACHE", str(tmp_path / "cache"))
    wheel = tmp_path / "nestful_wrapper-0.1.7-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("data_v1/x.json", "[]")
    with pytest.raises(DataFetchError, match="not the pinned"):
        fetch_nestful(wheel=wheel, force=True)


def test_write_dev_set_writes_what_dev_records_returns(root, tmp_path, monkeypatch):
    from fc_finetune.data import nestful

    monkeypatch.setattr(nestful, "fetch_nestful", lambda wheel=None: root)
    out = tmp_path / "dev" / "dev.jsonl"
    counts = nestful.write_dev_set(out, seed=0, distractors=1)
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert written == dev_records(root, seed=0, distractors=1)[0]
    assert len(written) == counts["call"] + counts["irrelevance"]
    assert [p.name for p in out.parent.iterdir()] == ["dev.jsonl"], "no temporary file left"
