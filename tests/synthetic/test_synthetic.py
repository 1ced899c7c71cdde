"""The bundled synthetic data: catalogue, generator, held-out split, files and script (fast, offline)."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import subprocess
import sys
import time
from collections import Counter

import pytest
from helpers import ROOT
from jsonschema import Draft202012Validator

from fc_finetune.data.schema import validate_record
from fc_synthetic import (
    BY_NAME,
    CATALOGUE,
    CHAINS,
    DEFAULT_PROPORTIONS,
    DOMAINS,
    KINDS,
    Pools,
    RecordBuilder,
    choose_heldout,
    generate_mix,
    kind_counts,
    mask_record,
    write_mix,
)
from fc_synthetic.generator import excluded_with, serving
from fc_synthetic.phrasing import KNOWLEDGE_UNFIT, describe
from fc_synthetic.spec import template_fields

N_TRAIN, N_EVAL, HELDOUT = 900, 300, 6


@pytest.fixture(scope="module")
def mix():
    # unmasked, no library tools: these tests read the catalogue's own names (masking and library tools
    # have their own tests)
    return generate_mix(N_TRAIN, N_EVAL, seed=0, heldout_functions=HELDOUT, mask_rate=0.0, library_rate=0.0)


def _records(mix):
    return [*mix[0], *mix[1]]


def _calls(record):
    for message in record["messages"]:
        yield from message.get("tool_calls") or []


def _string_values(value, schema):
    """Free-text string leaves of an argument value (enum-constrained strings are skipped)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _string_values(item, schema.get("properties", {}).get(key, {}))
    elif isinstance(value, list):
        for item in value:
            yield from _string_values(item, schema.get("items", {}))
    elif isinstance(value, str) and "enum" not in schema:
        yield value


def _instance(schema, rng):
    """A random value valid for ``schema`` (the subset of JSON schema the catalogue uses)."""
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema["type"]
    if isinstance(kind, list):  # ["string", "null"]
        kind = rng.choice(kind)
        if kind == "null":
            return None
    if kind == "string":
        return rng.choice(["", "x", "Paris", "2025-13-45", "25:99", "Atlantis", "ünïcode", "12:30"])
    if kind in ("integer", "number"):
        lo, hi = schema.get("minimum", -1000), schema.get("maximum", 1000)
        value = rng.choice([lo, hi, rng.uniform(lo, hi)])
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        size = rng.randint(schema.get("minItems", 0), min(schema.get("maxItems", 3), 3))
        return [_instance(schema["items"], rng) for _ in range(size)]
    return {key: _instance(sub, rng) for key, sub in schema["properties"].items()
            if key in schema.get("required", []) or rng.random() < 0.5}


# ---------------------------------------------------------------------------------------------- catalogue
def test_catalogue_is_large_and_uses_rich_schemas():
    assert len(CATALOGUE) >= 50
    assert len(BY_NAME) == len(CATALOGUE)
    assert len(DOMAINS) >= 15
    seen = Counter()

    def walk(schema, top=False):
        if "enum" in schema:
            seen["enum"] += 1
        if schema.get("type") in ("integer", "number") and ("minimum" in schema or "maximum" in schema):
            seen["bounded_number"] += 1
        if schema.get("type") == "boolean":
            seen["boolean"] += 1
        if "default" in schema:
            seen["default"] += 1
            assert "Default:" in schema["description"]
        if schema.get("type") == "object":
            if not top:
                seen["nested_object"] += 1
            for sub in schema["properties"].values():
                walk(sub)
        if schema.get("type") == "array":
            seen[f"array_of_{schema['items']['type']}"] += 1
            walk(schema["items"])

    for spec in CATALOGUE:
        params = spec.parameters
        Draft202012Validator.check_schema(params)
        assert params["type"] == "object" and set(params["required"]) <= set(params["properties"])
        assert spec.description and spec.task and len(spec.requests) >= 3 and spec.answers
        if len(params["required"]) < len(params["properties"]):
            seen["optional"] += 1
        walk(params, top=True)
    for feature in ("enum", "bounded_number", "boolean", "default", "nested_object", "array_of_string",
                    "array_of_object", "array_of_number", "optional"):
        assert seen[feature] > 0, feature


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.name)
def test_every_function_samples_valid_arguments_and_renders(spec):
    rng = random.Random(spec.name)
    validator = Draft202012Validator(spec.parameters)
    for _ in range(40):
        args = spec.sample(rng)
        validator.validate(args)
        assert set(args) <= set(spec.parameters["properties"])
        text, _ = describe(rng, spec, args)
        copied = {k: v for k, v in args.items() if k not in spec.composed}
        for value in _string_values(copied, spec.parameters):
            assert value.lower() in text.lower(), (value, text)
        output = spec.execute(args)
        assert output == spec.execute(args)  # deterministic fake implementation
        json.dumps(output)
        slots = spec.output_slots(args, output)
        assert any(_fits(t, slots) for t in spec.answers)
    for extra in spec.extras:
        assert extra in spec.parameters["properties"] and extra not in spec.required


def _fits(template, slots):
    return template_fields(template) <= slots.keys()


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.name)
def test_fake_implementations_survive_any_valid_arguments(spec):
    rng = random.Random(f"fuzz-{spec.name}")
    validator = Draft202012Validator(spec.parameters)
    for _ in range(60):
        args = _instance(spec.parameters, rng)
        validator.validate(args)
        assert isinstance(spec.execute(args), dict)


# ---------------------------------------------------------------------------------------------- determinism
def test_same_seed_same_records_and_other_seed_differs(mix):
    again = generate_mix(N_TRAIN, N_EVAL, seed=0, heldout_functions=HELDOUT, mask_rate=0.0, library_rate=0.0)
    assert json.dumps(again, ensure_ascii=False) == json.dumps(mix, ensure_ascii=False)
    other = generate_mix(N_TRAIN, N_EVAL, seed=1, heldout_functions=HELDOUT)
    assert json.dumps(other[0]) != json.dumps(mix[0])
    assert json.dumps(other[1]) != json.dumps(mix[1])


def test_write_mix_is_byte_identical_and_reports_stats(tmp_path):
    a = write_mix(tmp_path / "a", 120, 40, seed=3, heldout_functions=4)
    write_mix(tmp_path / "b", 120, 40, seed=3, heldout_functions=4)
    for name in ("train.jsonl", "eval.jsonl", "stats.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    lines = (tmp_path / "a" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 120 and all(json.loads(line)["meta"]["split"] == "train" for line in lines)
    stats = json.loads((tmp_path / "a" / "stats.json").read_text(encoding="utf-8"))
    assert stats == a and stats["synthetic"] is True and len(stats["heldout_functions"]) == 4
    assert stats["splits"]["eval"]["records"] == 40
    assert not list(tmp_path.glob("a/.*"))  # no temporaries left behind


# ---------------------------------------------------------------------------------------------- records
def test_every_record_validates(mix):
    for split in mix:
        for index, record in enumerate(split):
            validate_record(record)
            assert record["meta"]["index"] == index and record["meta"]["seed"] == 0
            assert record["messages"][-1]["role"] == "assistant" and record["messages"][-1]["content"]


def test_kinds_follow_the_requested_proportions(mix):
    train, evaluation = mix
    assert Counter(r["meta"]["kind"] for r in train) == Counter(kind_counts(N_TRAIN, DEFAULT_PROPORTIONS))
    assert Counter(r["meta"]["kind"] for r in evaluation) == Counter(kind_counts(N_EVAL, DEFAULT_PROPORTIONS))
    for kind, share in DEFAULT_PROPORTIONS.items():
        assert abs(sum(r["meta"]["kind"] == kind for r in train) / N_TRAIN - share) < 0.01
    custom = {"single": 3, "no_call_chitchat": 1}
    train, _ = generate_mix(200, 0, seed=5, heldout_functions=0, proportions=custom)
    assert Counter(r["meta"]["kind"] for r in train) == {"single": 150, "no_call_chitchat": 50}


def test_tools_offered_are_one_to_six_and_include_every_called_function(mix):
    for record in _records(mix):
        names = [t["function"]["name"] for t in record["tools"]]
        assert 1 <= len(names) <= 6 and len(set(names)) == len(names)
        assert {c["name"] for c in _calls(record)} <= set(names)
        assert record["meta"]["functions"] == [c["name"] for c in _calls(record)]


def test_argument_strings_come_from_the_user_or_an_earlier_tool_output(mix):
    for record in _records(mix):
        context = ""
        for message in record["messages"]:
            if message["role"] in ("user", "tool"):
                context += "\n" + message["content"].lower()
            for call in message.get("tool_calls") or []:
                spec = BY_NAME[call["name"]]
                copied = {k: v for k, v in call["arguments"].items() if k not in spec.composed}
                for value in _string_values(copied, spec.parameters):
                    assert value.lower() in context, (call, record["messages"])


def test_each_kind_has_its_shape(mix):
    for record in _records(mix):
        kind, messages = record["meta"]["kind"], record["messages"]
        call_turns = [m for m in messages if m.get("tool_calls")]
        users = [m for m in messages if m["role"] == "user"]
        if kind == "single":
            assert len(call_turns) == 1 and len(call_turns[0]["tool_calls"]) == 1 and len(users) == 1
        elif kind == "parallel":
            assert len(call_turns) == 1 and 2 <= len(call_turns[0]["tool_calls"]) <= 3
        elif kind == "sequential":
            assert [len(m["tool_calls"]) for m in call_turns] == [1, 1] and len(users) == 1
            first, second = (m["tool_calls"][0]["name"] for m in call_turns)
            assert any((c.first, c.second) == (first, second) for c in CHAINS)
        elif kind == "multi_turn":
            assert len(users) >= 2 and call_turns
        else:
            assert not call_turns and len(users) == 1


def test_no_call_examples_offer_no_tool_that_fits(mix):
    near_misses = 0
    for record in _records(mix):
        offered = {t["function"]["name"] for t in record["tools"]}
        if record["meta"]["kind"] == "no_call_irrelevant" and "unavailable_function" in record["meta"]:
            wanted = BY_NAME[record["meta"]["unavailable_function"]]
            if record["meta"].get("near_miss"):  # a function of its domain, none that can serve it
                near_misses += 1
                assert not offered & serving(wanted)
                assert any(BY_NAME[name].domain == wanted.domain for name in offered)
            else:
                assert not offered & excluded_with(wanted)
        if record["meta"]["kind"] == "no_call_chitchat":
            assert not offered & KNOWLEDGE_UNFIT
    unavailable = sum("unavailable_function" in r["meta"] for r in _records(mix))
    assert 0.3 < near_misses / unavailable < 0.6  # NEAR_MISS_RATE of those whose domain has such a function


def test_near_miss_rate_zero_offers_no_function_of_the_requests_domain():
    train, evaluation = generate_mix(300, 0, seed=0, heldout_functions=HELDOUT, mask_rate=0.0, near_miss_rate=0.0)
    unavailable = [r for r in train if "unavailable_function" in r["meta"]]
    assert unavailable and not any(r["meta"].get("near_miss") for r in train)
    for record in unavailable:
        offered = {t["function"]["name"] for t in record["tools"]}
        assert not offered & excluded_with(BY_NAME[record["meta"]["unavailable_function"]])


def test_heldout_functions_never_reach_training(mix):
    train, evaluation = mix
    heldout = set(choose_heldout(0, HELDOUT))
    assert len(heldout) == HELDOUT and len({BY_NAME[n].domain for n in heldout}) == HELDOUT
    for record in train:
        names = {t["function"]["name"] for t in record["tools"]} | set(record["meta"]["functions"])
        assert not names & heldout
        assert record["meta"].get("unavailable_function") not in heldout
        assert not record["meta"]["heldout_function"] and not record["meta"]["offered_heldout"]
    flagged = [r for r in evaluation if r["meta"]["heldout_function"]]
    assert len(flagged) > N_EVAL * 0.2
    assert {n for r in flagged for n in r["meta"]["functions"]} & heldout == heldout
    for record in evaluation:
        assert record["meta"]["heldout_function"] == bool(set(record["meta"]["functions"]) & heldout)


def test_every_chain_builds_a_valid_record():
    for chain in CHAINS:
        pools = Pools(targets=list(CATALOGUE), offerable=list(CATALOGUE), chains=[chain])
        builder = RecordBuilder(random.Random(chain.name), pools)
        for _ in range(5):
            record = builder.build("sequential")
            validate_record(record)
            assert record["meta"]["functions"] == [chain.first, chain.second]


def test_a_functions_weight_sets_how_often_it_is_the_target():
    light, heavy = BY_NAME["get_current_weather"], dataclasses.replace(BY_NAME["search_recipes"], weight=4)
    builder = RecordBuilder(random.Random(0), Pools(targets=[light, heavy], offerable=list(CATALOGUE), chains=[]))
    called = Counter(builder.build("single")["meta"]["functions"][0] for _ in range(2000))
    assert 3.4 < called["search_recipes"] / called["get_current_weather"] < 4.7  # 4 to 1


def test_the_bundled_chat_tools_are_weighted_up_in_the_catalogue():
    # the quickstart serves them: each is a target three times as often as another function
    assert {spec.weight for spec in CATALOGUE if spec.domain == "chat_tools"} == {3}
    assert {spec.weight for spec in CATALOGUE if spec.domain != "chat_tools"} == {1.0}
    train, _ = generate_mix(1000, 0, seed=3, mask_rate=0)
    calls = Counter(BY_NAME[name].domain == "chat_tools" for r in train for name in r["meta"]["functions"])
    assert 0.15 < calls[True] / sum(calls.values()) < 0.35  # 7 of ~72 functions: ~10% at weight 1


def test_a_weight_that_is_not_a_positive_number_names_the_function():
    for bad in (0, -1, "3", True):
        with pytest.raises(ValueError, match="'calculate': weight must be a number > 0"):
            dataclasses.replace(BY_NAME["calculate"], weight=bad)


def test_generation_is_fast():
    start = time.perf_counter()
    train, _ = generate_mix(3000, 0, seed=9)
    assert len(train) == 3000
    assert time.perf_counter() - start < 10  # about 0.4 s here; 10k records take ~1.5 s


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="Unknown example kind"):
        generate_mix(10, 10, proportions={"singel": 1})
    with pytest.raises(ValueError, match="sum to 0"):
        generate_mix(10, 10, proportions={"single": 0})
    with pytest.raises(ValueError, match="heldout_functions must be between"):
        generate_mix(10, 10, heldout_functions=len(CATALOGUE))
    assert set(KINDS) == set(DEFAULT_PROPORTIONS)


# ---------------------------------------------------------------------------------------------- script
def test_generate_mix_script(tmp_path):
    script = ROOT / "data" / "generate_mix.py"
    help_text = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, check=True)
    for option in ("--out", "--train", "--eval", "--seed", "--heldout", "--proportions"):
        assert option in help_text.stdout
    done = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "mix"), "--train", "30", "--eval", "12",
                           "--seed", "2", "--proportions", "single=1,parallel=1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    kinds = Counter(json.loads(line)["meta"]["kind"]
                    for line in (tmp_path / "mix" / "train.jsonl").read_text(encoding="utf-8").splitlines())
    assert kinds == {"single": 15, "parallel": 15}
    bad = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "x"), "--proportions", "nope=1"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "KIND=WEIGHT" in bad.stderr


# ---------------------------------------------------------------------------------------------- masking
IDENTIFIER = re.compile(r"^([a-z][a-z0-9]{1,4}\.)?[a-z][a-z0-9]{2,6}(_[a-z][a-z0-9]{2,6})?$")


def test_masking_renames_functions_and_parameters_consistently_and_keeps_the_rest():
    rng = random.Random(0)
    train, _ = generate_mix(200, 0, seed=4, heldout_functions=3, mask_rate=0.0)
    for record in train:
        masked = mask_record(record, rng)
        validate_record(masked)  # calls still fit the (renamed) schemas
        assert "masked" not in record["meta"], "a copy, the input untouched"
        old = {t["function"]["name"]: t["function"] for t in record["tools"]}
        new = [t["function"] for t in masked["tools"]]
        rename = dict(zip(old, [f["name"] for f in new], strict=True))
        assert masked["meta"]["masked"] == {v: k for k, v in rename.items()}
        assert masked["meta"]["functions"] == [rename[n] for n in record["meta"]["functions"]]
        assert len(set(rename.values())) == len(rename) and not set(rename.values()) & set(old)
        for before, after in zip(old.values(), new, strict=True):
            assert IDENTIFIER.match(after["name"]), after["name"]
            assert after["description"] == before["description"]
            keys = dict(zip(before["parameters"]["properties"], after["parameters"]["properties"], strict=True))
            assert all(IDENTIFIER.match(k) and "." not in k for k in keys.values())
            assert list(after["parameters"]["properties"].values()) == list(before["parameters"]["properties"].values())
            assert after["parameters"].get("required", []) == [keys[k] for k in before["parameters"].get("required", [])]
        for m_old, m_new in zip(record["messages"], masked["messages"], strict=True):
            assert m_new.get("content") == m_old.get("content"), "the words of the conversation are kept"
            for c_old, c_new in zip(m_old.get("tool_calls") or [], m_new.get("tool_calls") or [], strict=True):
                assert c_new["name"] == rename[c_old["name"]]
                assert list(c_new["arguments"].values()) == list(c_old["arguments"].values())
            if m_old["role"] == "tool":
                assert m_new["name"] == rename[m_old["name"]]


def test_mask_rate_masks_that_share_of_training_records_and_never_eval():
    train, evaluation = generate_mix(600, 100, seed=2, heldout_functions=3, mask_rate=0.3)
    share = sum(bool(r["meta"].get("masked")) for r in train) / len(train)
    assert 0.24 < share < 0.36
    assert not any(r["meta"].get("masked") for r in evaluation)
    for record in train:
        validate_record(record)
    assert all(r["meta"]["functions"] == [c["name"] for c in _calls(r)] for r in train)
    with pytest.raises(ValueError, match="mask_rate"):
        generate_mix(10, 0, mask_rate=1.5)


def test_repeat_requests_name_every_value_and_call_once_per_value(mix):
    def user(record):
        return next(m["content"] for m in record["messages"] if m["role"] == "user")

    parallel = [r for r in mix[0] if r["meta"]["kind"] == "parallel" and BY_NAME[r["meta"]["functions"][0]].vary]
    repeats = [r for r in parallel if re.search(r"(instead of|in place of|rather than) [^ ]+\.", user(r))]
    joined = [r for r in parallel if re.search(r"\b(both \S+ and|as well as)\b", user(r))
              and len({c["name"] for c in _calls(r)}) == 1]
    assert len(repeats) > 3 and len(joined) > 3  # "..., then repeat with X instead of Y" and "in X and Y"
    for record in repeats + joined:
        user = next(m["content"] for m in record["messages"] if m["role"] == "user")
        calls = list(_calls(record))
        assert len({c["name"] for c in calls}) == 1 and 2 <= len(calls) <= 3
        spec = BY_NAME[calls[0]["name"]]
        for call in calls:
            assert str(spec.slots(call["arguments"])[spec.vary]) in user
