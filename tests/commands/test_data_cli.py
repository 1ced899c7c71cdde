"""``fc-finetune data convert | validate | stats`` through ``fc_finetune.cli.main``."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT
from helpers.data_samples import good_records, no_call_record, parallel_record, write_jsonl_lines

from fc_finetune.cli import main
from fc_finetune.data.io import load_records
from fc_finetune.data.schema import KIND_ARGS, KIND_NOT_OFFERED, validate_record

EXTERNAL = ROOT.parent / "shared" / "data" / "external"


@pytest.fixture
def mixed(tmp_path):
    """3 good records, one call to a tool not offered (record 1), one bad argument (record 4)."""
    offered = parallel_record()
    offered["messages"][2]["tool_calls"][0]["name"] = "get_forecast"
    args = parallel_record()
    args["messages"][2]["tool_calls"][1]["arguments"]["unit"] = "kelvin"
    good = good_records()
    return write_jsonl_lines(tmp_path / "mixed.jsonl", [good[0], offered, good[1], good[2], args])


def test_convert_canonical(tmp_path, capsys):
    src = write_jsonl_lines(tmp_path / "in.jsonl", good_records())
    out = tmp_path / "out.jsonl"
    assert main(["data", "convert", str(src), "-o", str(out), "--format", "canonical"]) == 0
    assert load_records(out).records == [validate_record(r) for r in good_records()]
    printed = capsys.readouterr().out
    assert "3 records loaded, 0 skipped" in printed and f"wrote 3 records to {out}" in printed


def test_convert_raise_is_one_line_exit_2(mixed, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["data", "convert", str(mixed), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"fc-finetune: error: {mixed} record 1: messages[2].tool_calls[0].name: "
                           "'get_forecast' is not an offered tool (offered: get_weather, get_time)")
    assert not out.exists()


def test_convert_skip_counts_reasons_and_limit(mixed, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["data", "convert", str(mixed), "-o", str(out), "--on-error", "skip"]) == 0
    printed = capsys.readouterr().out
    assert "5 rows read, 3 records loaded, 2 skipped" in printed
    assert f"1  {KIND_NOT_OFFERED}" in printed and f"1  {KIND_ARGS}" in printed
    assert f"{mixed} record 4: messages[2].tool_calls[1].arguments.unit: 'kelvin'" in printed
    assert len(load_records(out).records) == 3
    assert main(["data", "convert", str(mixed), "-o", str(out), "--on-error", "skip", "--limit", "2"]) == 0
    assert len(load_records(out).records) == 2


def test_validate_ok_and_invalid(mixed, tmp_path, capsys):
    good = write_jsonl_lines(tmp_path / "good.jsonl", good_records())
    assert main(["data", "validate", str(good)]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")
    assert main(["data", "validate", str(mixed)]) == 1
    printed = capsys.readouterr().out
    assert "INVALID: 2 of 5 records" in printed
    assert f"{mixed} record 1: messages[2].tool_calls[0].name" in printed
    assert main(["data", "validate", str(mixed), "--on-error", "raise"]) == 2


def test_validate_eval_records(tmp_path, capsys):
    prompt = {"messages": [{"role": "user", "content": "Weather in Oslo?"}], "tools": []}
    path = write_jsonl_lines(tmp_path / "eval.jsonl", [prompt])
    assert main(["data", "validate", str(path)]) == 1
    assert "does not end with an assistant message" in capsys.readouterr().out
    assert main(["data", "validate", str(path), "--eval-records"]) == 0


def test_malformed_json_and_non_utf8(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(json.dumps(no_call_record()).encode() + b"\n{oops\n" + b'{"x": "\xff"}\n')
    assert main(["data", "validate", str(path)]) == 1
    printed = capsys.readouterr().out
    assert "1  malformed JSON" in printed and "1  not UTF-8" in printed
    assert f"{path} record 1: malformed JSON on line 2" in printed
    assert f"{path} record 2: not UTF-8" in printed and "(line 3)" in printed


def test_stats(mixed, capsys):
    assert main(["data", "stats", str(mixed)]) == 0
    printed = capsys.readouterr().out
    for line in ("records                 3", "  multi-turn            1", "  parallel (>1 call)    1",
                 "  no call (text only)   4", "calls                   3 (2 distinct functions)",
                 "tools per record        min 1, median 2, p95 2, max 2", "2 skipped"):
        assert line in printed, printed
    assert "tokens per record" not in printed


def test_stats_with_model_token_lengths(tmp_path, tiny_tok, capsys):
    from fc_finetune.testing import tiny_config

    model = tmp_path / "tiny"
    tiny_tok.save_pretrained(model)
    tiny_config("llama", vocab_size=len(tiny_tok)).save_pretrained(model)
    path = write_jsonl_lines(tmp_path / "d.jsonl", good_records())
    assert main(["data", "stats", str(path), "--model", str(model)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("tokens per record"))
    low, high = (int(x.split()[-1]) for x in line.split(",")[::3])
    assert 0 < low < high


@pytest.mark.parametrize("argv", [["data", "convert", "x.jsonl"],  # -o missing
                                  ["data", "convert", "x.jsonl", "-o", "y", "--limit", "0"],
                                  ["data", "validate", "x.jsonl", "--format", "csv"]])
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_missing_input_is_one_line(tmp_path, capsys):
    assert main(["data", "stats", str(tmp_path / "none.jsonl")]) == 2
    assert capsys.readouterr().err.strip() == f"fc-finetune: error: {tmp_path / 'none.jsonl'}: no such file " \
        "or dataset folder (Hub datasets: hf:org/name[:split])"


def test_external_glaive_converts(tmp_path, capsys):
    source = EXTERNAL / "glaive_toolcall_en_demo.json"
    if not source.is_file():
        pytest.skip(f"external data absent: {source}")
    from fc_finetune.data import formats

    if not hasattr(formats, "convert_row"):
        pytest.skip("fc_finetune.data.formats.convert_row is not there yet")
    out = tmp_path / "glaive.jsonl"
    assert main(["data", "convert", str(source), "-o", str(out), "--on-error", "skip"]) == 0
    printed = capsys.readouterr().out
    records = load_records(out).records
    assert len(records) >= 250, printed
    assert main(["data", "stats", str(out)]) == 0


def test_summary_numbers():
    from fc_finetune.data.stats import Summary

    assert str(Summary.of([1, 2, 3, 4])) == "min 1, median 2.5, p95 4, max 4"
    assert Summary.of(range(1, 101)).p95 == 95 and Summary.of([]).n == 0
    assert Summary.of([2, 2]).median == 2 and isinstance(Summary.of([2, 2]).median, int)


# ------------------------------------------------------------------ hardening: outputs, skips, empty data
@pytest.mark.parametrize("flags", [["--limit", "2"], ["--on-error", "skip"]])
def test_convert_never_writes_onto_its_input(mixed, capsys, flags):
    before = mixed.read_bytes()
    assert main(["data", "convert", str(mixed), "-o", str(mixed), *flags]) == 2
    assert "is an input of this command" in capsys.readouterr().err
    assert mixed.read_bytes() == before
    link = mixed.with_name("link.jsonl")
    link.symlink_to(mixed)
    assert main(["data", "convert", str(mixed), "-o", str(link), *flags]) == 2
    assert "through a link" in capsys.readouterr().err
    assert mixed.read_bytes() == before and link.is_symlink()


def test_convert_onto_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    src = write_jsonl_lines(tmp_path / "in.jsonl", good_records())
    target = tmp_path / "keep" / "target.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "out.jsonl"
    link.symlink_to(target)
    assert main(["data", "convert", str(src), "-o", str(link)]) == 0
    assert link.is_symlink() and len(load_records(target).records) == 3


def test_skips_are_counted_and_a_large_share_is_loud(mixed, tmp_path, capsys, caplog):
    out = tmp_path / "out.jsonl"
    with caplog.at_level("WARNING"):
        assert main(["data", "convert", str(mixed), "-o", str(out), "--on-error", "skip"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote 3 records to {out}; 2 of 5 rows skipped" in printed
    assert "WARNING: more than a third of the rows" in printed and "(2 of 5, 40%)" in printed
    assert any("More than a third of the rows" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_a_small_share_skipped_is_a_plain_warning(tmp_path, capsys, caplog):
    rows = [*good_records() * 4, {"messages": [], "tools": []}]  # 1 of 13 skipped
    path = write_jsonl_lines(tmp_path / "d.jsonl", rows)
    with caplog.at_level("WARNING"):
        assert main(["data", "stats", str(path)]) == 0
    assert "WARNING:" not in capsys.readouterr().out
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"{path}: skipped 1 of 13 rows (1 empty conversation)"]


def test_empty_and_all_invalid_inputs(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    for command in (["validate"], ["stats"], ["convert", "-o", str(tmp_path / "o.jsonl")]):
        assert main(["data", command[0], str(empty), *command[1:]]) == 2
        assert capsys.readouterr().err.strip() == f"fc-finetune: error: {empty}: no records: it holds no rows (the file is empty)"
    bad = write_jsonl_lines(tmp_path / "bad.jsonl", [{"messages": [], "tools": []}] * 2)
    assert main(["data", "validate", str(bad)]) == 1  # validate reports each invalid record
    assert "INVALID: 2 of 2 records (no valid record)" in capsys.readouterr().out
    assert main(["data", "convert", str(bad), "-o", str(tmp_path / "o.jsonl"), "--on-error", "skip"]) == 2
    assert f"{bad}: no records: all 2 rows were skipped" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_messages_as_a_string_names_file_record_and_field(tmp_path, capsys):
    path = write_jsonl_lines(tmp_path / "m.jsonl", [no_call_record(), {"messages": "hello", "tools": []}])
    assert main(["data", "validate", str(path), "--on-error", "raise"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fc-finetune: error: {path} record 1: messages"), err
    assert main(["data", "validate", str(path)]) == 1  # skipped and counted; the first row still detected
    assert "1 records loaded, 1 skipped" in capsys.readouterr().out
