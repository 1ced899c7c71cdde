"""Library tools: real documented functions read from the installed packages, offered and never called."""

from __future__ import annotations

import json
import random

import pytest

from fc_finetune.data.schema import validate_record
from fc_synthetic import BY_NAME, generate_mix
from fc_synthetic import library as lib
from fc_synthetic.generator import Pools, RecordBuilder
from fc_synthetic.masking import mask_record
from fc_synthetic.mix import generator_fingerprint


def spread(values, bins=5, *, fill_value=0.0, mode="linear", callback=None):
    """Computes how far apart the values lie.

    Parameters
    ----------
    values : array_like
        The data.
    bins : int, optional
        How many bins to use.
        A second line.
    fill_value : float
        What missing values count as.
    mode : {'linear', 'log'}
        The scale.
    callback : callable, optional
        Called per bin.
    out : ndarray, optional
        Where to write it.
    """


def needs_a_function(func, n=1):
    """Apply func n times.

    Parameters
    ----------
    func : callable
        What to apply.
    n : int
        How often.
    """


def alias(x):
    """Alias for spread.

    Parameters
    ----------
    x : float
        A value.
    """


def test_type_texts_map_to_json_schema_or_none():
    assert lib.type_schema("int, optional") == {"type": "integer"}
    assert lib.type_schema("float or None") == {"type": "number"}
    assert lib.type_schema("bool (default: False)") == {"type": "boolean"}
    assert lib.type_schema("list of strings") == {"type": "array", "items": {"type": "string"}}
    assert lib.type_schema("ndarray") == {"type": "array", "items": {"type": "number"}}
    assert lib.type_schema("NetworkX graph") == {"type": "object"}
    assert lib.type_schema("{'a', \"b\"}") == {"type": "string", "enum": ["a", "b"]}
    for unmapped in ("callable", "data-type", "file or string", ""):
        assert lib.type_schema(unmapped) is None, unmapped


def test_a_documented_function_becomes_a_tool_with_its_signatures_defaults():
    tool = lib._read("stats", "stats", "spread", spread)
    assert tool.name == "stats.spread" and tool.description == "Computes how far apart the values lie."
    assert tool.task == "compute how far apart the values lie"
    props = tool.parameters["properties"]
    # callback (no JSON form) and out (plumbing) are left out; optional by signature or by "optional"
    assert list(props) == ["values", "bins", "fill_value", "mode"]
    assert tool.parameters["required"] == ["values"]
    assert props["bins"] == {"type": "integer", "description": "How many bins to use.", "default": 5}
    assert props["mode"] == {"type": "string", "enum": ["linear", "log"], "description": "The scale.",
                             "default": "linear"}
    assert tool.tool()["function"]["parameters"] == tool.parameters
    assert tool.tool() is not tool.tool()  # a fresh copy each time


def test_functions_a_request_cannot_be_matched_to_are_left_out():
    assert lib._read("m", "m", "needs_a_function", needs_a_function) is None  # a required callable
    assert lib._read("m", "m", "alias", alias) is None  # the summary does not start with a verb
    assert lib._read("m", "m", "spread", lambda: None) is None  # no docstring


@pytest.fixture(scope="module")
def tools():
    return lib.library_tools()


def test_the_installed_packages_give_hundreds_of_valid_distinct_tools(tools):
    assert len(tools) > 300  # numpy and networkx alone give more than that
    names = [t.name for t in tools]
    assert names == sorted(set(names))
    assert {t.module.split(".")[0] for t in tools} >= {"numpy", "networkx"}
    record = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}],
              "tools": [t.tool() for t in tools]}
    validate_record(record)  # every definition is a valid tool
    train, held = lib.split_library(tools)
    assert not {t.name for t in train} & {t.name for t in held}
    assert 0.12 < len(held) / len(tools) < 0.28 and len(train) + len(held) == len(tools)


def test_library_tools_are_offered_never_called_and_never_with_requests_they_could_serve(tools):
    train, evaluation = generate_mix(600, 200, seed=0, heldout_functions=6, mask_rate=0.0, library_rate=0.6)
    train_names, eval_names = ({t.name for t in part} for part in lib.split_library(tools))
    seen = {"train": set(), "eval": set()}
    for split, records in (("train", train), ("eval", evaluation)):
        for record in records:
            validate_record(record)
            offered = {t["function"]["name"] for t in record["tools"]}
            library = offered & (train_names | eval_names)
            assert len(library) == record["meta"].get("library_tools", 0)
            seen[split] |= library
            if not library:
                continue
            assert library <= (train_names if split == "train" else eval_names)
            called = {c["name"] for m in record["messages"] for c in m.get("tool_calls") or []}
            assert not called & library
            involved = called | {record["meta"].get("unavailable_function")} - {None}
            assert not any(BY_NAME[name].domain in lib.KEEP_AWAY_DOMAINS for name in involved), record
    assert sum(r["meta"].get("library_tools", 0) > 0 for r in train) > 100
    assert len(seen["train"]) > 100 and seen["eval"]


def test_library_rate_zero_offers_none_the_default_offers_them_and_masking_renames_them():
    off = generate_mix(80, 20, seed=2, heldout_functions=3, library_rate=0.0)
    assert not any("library_tools" in r["meta"] for r in [*off[0], *off[1]])
    default = generate_mix(80, 20, seed=2, heldout_functions=3)
    assert sum("library_tools" in r["meta"] for r in default[0]) > 5
    pools = Pools(targets=list(BY_NAME.values()), offerable=list(BY_NAME.values()), chains=[],
                  library=list(lib.library_tools()[:50]))
    builder = RecordBuilder(random.Random(0), pools, library_rate=1.0)
    record = next(r for r in (builder.build("no_call_chitchat") for _ in range(20)) if r["meta"].get("library_tools"))
    masked = mask_record(record, random.Random(1))
    assert set(masked["meta"]["masked"].values()) == {t["function"]["name"] for t in record["tools"]}
    assert [t["function"]["description"] for t in masked["tools"]] == \
        [t["function"]["description"] for t in record["tools"]]


def test_the_fingerprint_follows_the_library_packages_versions(monkeypatch):
    before = generator_fingerprint()
    monkeypatch.setattr("fc_synthetic.mix.library_versions", lambda: {"numpy": "0.0.1"})
    assert generator_fingerprint() != before


def test_a_bad_library_rate_is_an_error():
    with pytest.raises(ValueError, match="library_rate"):
        RecordBuilder(random.Random(0), Pools(targets=[], offerable=[], chains=[]), library_rate=1.5)


def test_the_mix_reports_library_tools_and_their_package_versions(tmp_path):
    from fc_synthetic import write_mix

    stats = write_mix(tmp_path, 60, 20, seed=0, heldout_functions=2, library_rate=0.5)
    assert stats["library_rate"] == 0.5 and stats["library_packages"]["numpy"]
    assert stats["splits"]["train"]["offering_library_tools"] > 0
    assert json.loads((tmp_path / "stats.json").read_text())["library_packages"] == stats["library_packages"]
