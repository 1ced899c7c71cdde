"""Reading rows and loading canonical records: one test per class of bad input, every source type."""

from __future__ import annotations

import json

import pytest
from helpers.data_samples import good_records, no_call_record, parallel_record, write_jsonl_lines

from fc_finetune.data.io import (
    KIND_DEEP,
    KIND_DIGITS,
    KIND_JSON,
    KIND_NOT_OBJECT,
    KIND_TOO_LONG,
    KIND_UTF8,
    LoadResult,
    from_dataset,
    load_records,
    read_rows,
    share_in_words,
    to_dataset,
    write_jsonl,
)
from fc_finetune.data.schema import KIND_ARGS, KIND_EMPTY, KIND_NOT_OFFERED, KIND_ORDER, validate_record
from fc_finetune.errors import DataError, OutputError


def _bad_file(tmp_path, bad_line: bytes, name: str = "data.jsonl"):
    """good, BAD, good, good as JSON lines: the bad one is record 1, on line 2."""
    good = [json.dumps(r, ensure_ascii=False).encode() for r in good_records()]
    path = tmp_path / name
    path.write_bytes(b"\n".join([good[0], bad_line, *good[1:]]) + b"\n")
    return path


def _check_bad(path, expected_start: str, kind: str):
    with pytest.raises(DataError) as info:
        load_records(path, fmt="canonical")
    assert str(info.value).startswith(expected_start), str(info.value)
    assert info.value.source == str(path) and info.value.index == 1
    result = load_records(path, fmt="canonical", on_error="skip")
    assert len(result.records) == 3 and result.rows_read == 4
    assert result.skipped == {kind: 1}
    assert str(result.errors[0]) == str(info.value)
    assert f"1  {kind}" in result.report() and expected_start in result.report()
    return info.value


def _record_line(record) -> bytes:
    return json.dumps(record).encode()


def test_malformed_json_names_file_record_and_line(tmp_path):
    path = _bad_file(tmp_path, b'{"messages": [{"role": "user", "content": "hi"}')
    err = _check_bad(path, f"{path} record 1: malformed JSON on line 2, column", KIND_JSON)
    assert "Expecting" in err.reason


def test_non_utf8_bytes_name_the_byte_offset(tmp_path):
    record = no_call_record()
    record["messages"][0]["content"] = "caf\u00e9"
    line = _record_line(record).replace(b"caf\\u00e9", "café".encode("latin-1"))
    path = _bad_file(tmp_path, line)
    offset = path.read_bytes().index(b"caf\xe9") + 3
    err = _check_bad(path, f"{path} record 1: not UTF-8: bytes b'\\xe9", KIND_UTF8)
    assert f"at byte offset {offset} (line 2)" in err.reason


def test_call_to_a_tool_not_offered(tmp_path):
    record = parallel_record()
    record["messages"][2]["tool_calls"][1]["name"] = "get_forecast"
    path = _bad_file(tmp_path, _record_line(record))
    _check_bad(path, f"{path} record 1: messages[2].tool_calls[1].name: 'get_forecast' is not an offered tool",
               KIND_NOT_OFFERED)


def test_arguments_failing_the_schema(tmp_path):
    record = parallel_record()
    record["messages"][2]["tool_calls"][0]["arguments"]["unit"] = "kelvin"
    path = _bad_file(tmp_path, _record_line(record))
    _check_bad(path, f"{path} record 1: messages[2].tool_calls[0].arguments.unit: 'kelvin' is not one of",
               KIND_ARGS)


def test_wrong_role_order(tmp_path):
    record = parallel_record()
    record["messages"].insert(2, {"role": "user", "content": "and Rome?"})
    path = _bad_file(tmp_path, _record_line(record))
    _check_bad(path, f"{path} record 1: messages[2].role: two user messages in a row", KIND_ORDER)


def test_empty_conversation(tmp_path):
    path = _bad_file(tmp_path, b'{"messages": [], "tools": []}')
    _check_bad(path, f"{path} record 1: messages: empty conversation", KIND_EMPTY)


def test_row_that_is_not_an_object(tmp_path):
    path = _bad_file(tmp_path, b'["user", "hi"]')
    _check_bad(path, f"{path} record 1: expected a JSON object, got list", KIND_NOT_OBJECT)


def _huge_record(size: int = 10 * 2**20) -> dict:
    record = parallel_record()
    record["messages"][3]["content"] = json.dumps({"rows": "x" * size})
    return record


def test_single_10mb_record_loads(tmp_path):
    path = write_jsonl_lines(tmp_path / "huge.jsonl", [_huge_record(), no_call_record()])
    assert path.stat().st_size > 10 * 2**20
    result = load_records(path, fmt="canonical")
    assert len(result.records) == 2 and len(result.records[0]["messages"][3]["content"]) > 10 * 2**20


def test_single_10mb_record_with_an_error_is_located(tmp_path):
    record = _huge_record()
    record["messages"][2]["tool_calls"][1]["arguments"]["unit"] = "kelvin"
    path = _bad_file(tmp_path, _record_line(record))
    _check_bad(path, f"{path} record 1: messages[2].tool_calls[1].arguments.unit", KIND_ARGS)


def test_blank_lines_and_bom_are_fine(tmp_path):
    path = tmp_path / "bom.jsonl"
    lines = [json.dumps(r) for r in good_records()]
    path.write_bytes(b"\xef\xbb\xbf" + f"{lines[0]}\n\n   \n{lines[1]}\r\n{lines[2]}".encode())
    rows = list(read_rows(path))
    assert [i for i, _ in rows] == [0, 1, 2]
    assert load_records(path).records == [validate_record(r) for r in good_records()]


def test_read_rows_raises_or_skips(tmp_path):
    path = _bad_file(tmp_path, b"{nope")
    with pytest.raises(DataError, match=r"record 1: malformed JSON on line 2"):
        list(read_rows(path))
    assert [i for i, _ in read_rows(path, on_error="skip")] == [0, 2, 3]
    with pytest.raises(ValueError, match="on_error"):
        list(read_rows(path, on_error="ignore"))


@pytest.mark.parametrize("payload", ["list", "object", "json_lines"])
def test_json_files(tmp_path, payload):
    path = tmp_path / "data.json"
    records = good_records()
    text = {"list": json.dumps(records), "object": json.dumps({"version": 2, "data": records}),
            "json_lines": "\n".join(json.dumps(r) for r in records)}[payload]
    path.write_text(text, encoding="utf-8")
    assert [r for _, r in read_rows(path)] == records
    assert len(load_records(path).records) == 3


def test_json_file_level_errors(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('[\n  {"messages": []},\n  {"messages": [}\n]')
    with pytest.raises(DataError, match=r"data\.json: malformed JSON on line 3, column 17"):
        load_records(path, on_error="skip")
    path.write_text(json.dumps({"train": [], "test": []}))
    with pytest.raises(DataError, match=r"exactly one list \(lists found: 'train', 'test'\)"):
        list(read_rows(path))
    path.write_bytes(b'[{"a": "\xff"}]')
    with pytest.raises(DataError, match=r"data\.json: not UTF-8: bytes b'\\xff.*at byte offset 8 \(line 1\)"):
        list(read_rows(path))
    path.write_text('"just a string"')
    with pytest.raises(DataError, match="expected a list of rows"):
        list(read_rows(path))


def test_missing_and_unknown_sources(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_records(tmp_path / "nope.jsonl")
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=r"unknown file type '\.csv'"):
        load_records(tmp_path / "data.csv")
    with pytest.raises(DataError, match="not a dataset folder"):
        load_records(tmp_path)


def test_dataset_round_trip_parquet_and_folder(tmp_path):
    records = [validate_record(r) for r in good_records()]
    dataset = to_dataset(records)
    assert dataset.column_names == ["record"] and from_dataset(dataset) == records
    dataset.to_parquet(str(tmp_path / "data.parquet"))
    assert load_records(tmp_path / "data.parquet").records == records
    dataset.save_to_disk(str(tmp_path / "folder"))
    assert load_records(tmp_path / "folder").records == records
    with pytest.raises(DataError, match="'record' column"):
        from_dataset(dataset.rename_column("record", "text"))


def test_dataset_dict_folder_needs_a_split(tmp_path):
    import datasets

    records = [validate_record(r) for r in good_records()]
    dd = datasets.DatasetDict({"train": to_dataset(records), "test": to_dataset(records[:1])})
    dd.save_to_disk(str(tmp_path / "dd"))
    assert len(load_records(f"{tmp_path / 'dd'}:test").records) == 1
    with pytest.raises(DataError, match=r"FOLDER:SPLIT \(splits: train, test\)"):
        load_records(tmp_path / "dd")


def test_plain_parquet_rows_with_nulls(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    record = no_call_record()  # Arrow gives every message every key; missing ones are null
    record["messages"].insert(0, {"role": "system", "content": "Be brief."})
    pq.write_table(pa.Table.from_pylist([record]), tmp_path / "plain.parquet")
    rows = [row for _, row in read_rows(tmp_path / "plain.parquet")]
    assert rows[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert load_records(tmp_path / "plain.parquet").records == [validate_record(record)]


def test_limit_and_final_assistant_option(tmp_path):
    path = write_jsonl_lines(tmp_path / "d.jsonl", good_records() * 3)
    assert len(load_records(path, limit=4).records) == 4
    prompt = {"messages": [{"role": "user", "content": "Weather in Oslo?"}], "tools": []}
    path = write_jsonl_lines(tmp_path / "eval.jsonl", [prompt])
    with pytest.raises(DataError, match="must end with an assistant message"):
        load_records(path)
    assert load_records(path, require_final_assistant=False).records == [prompt]


def test_errors_kept_are_capped_but_all_counted(tmp_path):
    path = write_jsonl_lines(tmp_path / "d.jsonl", [{"messages": [], "tools": []}] * 30)
    result = load_records(path, on_error="skip", max_errors=5, all_skipped_ok=True)
    assert result.skipped == {KIND_EMPTY: 30} and len(result.errors) == 5 and result.records == []
    assert result.report(show_errors=2).count("empty conversation") == 3  # count line + 2 errors
    with pytest.raises(DataError, match=r"d\.jsonl: no records: all 30 rows were skipped \(30 empty conversation"):
        load_records(path, on_error="skip")


def test_report_without_errors():
    result = LoadResult(source="x.jsonl", format="canonical", records=[{}], rows_read=1)
    assert result.report() == "x.jsonl (format: canonical): 1 rows read, 1 records loaded, 0 skipped"


def test_write_jsonl_is_atomic_and_round_trips(tmp_path):
    records = [validate_record(r) for r in good_records()]
    target = tmp_path / "out" / "data.jsonl"
    assert write_jsonl(records, target) == 3
    assert "°C" in target.read_text(encoding="utf-8")
    assert load_records(target).records == records

    def broken():
        yield records[0]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_jsonl(broken(), target)
    assert load_records(target).records == records  # the old file is intact
    assert sorted(p.name for p in target.parent.iterdir()) == ["data.jsonl"]


# ------------------------------------------------------------------ hardening: limits, empty sources
def _good_line(k: int = 1) -> bytes:
    return _record_line(good_records()[k])


def test_a_line_nested_10000_deep_is_one_bad_record(tmp_path):
    path = _bad_file(tmp_path, b"[" * 10_000 + b"]" * 10_000)
    _check_bad(path, f"{path} record 1: nested deeper than 64 levels (line 2)", KIND_DEEP)


def test_just_over_the_depth_limit(tmp_path):
    row = {"messages": [], "tools": [], "meta": {}}
    inner = row["meta"]
    for _ in range(70):
        inner["x"] = {}
        inner = inner["x"]
    path = _bad_file(tmp_path, _record_line(row))
    _check_bad(path, f"{path} record 1: nested deeper than 64 levels", KIND_DEEP)


def test_an_integer_of_5000_digits_is_one_bad_record(tmp_path):
    path = _bad_file(tmp_path, b'{"messages": [], "tools": [], "n": ' + b"7" * 5000 + b"}")
    _check_bad(path, f"{path} record 1: a number with too many digits (over 4,300) (line 2)", KIND_DIGITS)


def test_an_over_long_line_is_skipped_unread(tmp_path, monkeypatch):
    from fc_finetune.data import io as data_io

    long_line = b'{"messages": "' + b"x" * 5000 + b'"}'
    monkeypatch.setattr(data_io, "MAX_LINE_BYTES", 2000)
    path = _bad_file(tmp_path, long_line)
    _check_bad(path, f"{path} record 1: line 2 is 5,017 bytes long, over the limit of 2,000", KIND_TOO_LONG)
    path.write_bytes(b"\n".join([_good_line(), long_line]))  # the last line, without a newline
    result = load_records(path, on_error="skip", all_skipped_ok=True)
    assert len(result.records) == 1 and result.skipped == {KIND_TOO_LONG: 1}


def test_json_array_rows_over_a_limit_are_bad_records_one_by_one(tmp_path):
    good = [json.dumps(r) for r in good_records()]
    path = tmp_path / "data.json"
    path.write_text(f"[{good[0]},\n" + "[" * 5000 + "]" * 5000 + f",\n{good[1]},\n" + '{"n": ' + "1" * 5000
                    + f"}},\n{good[2]}]")
    result = load_records(path, on_error="skip")
    assert len(result.records) == 3 and result.rows_read == 5
    assert result.skipped == {KIND_DEEP: 1, KIND_DIGITS: 1}
    assert [str(e) for e in result.errors] == [f"{path} record 1: nested deeper than 64 levels (line 2)",
                                               f"{path} record 3: a number with too many digits (over 4,300) "
                                               "(line 4)"]
    with pytest.raises(DataError, match=r"record 1: nested deeper than 64 levels \(line 2\)"):
        load_records(path)
    path.write_text('{"data": ' + "[" * 5000 + "]" * 5000 + "}")  # not an array of rows: the file is the error
    with pytest.raises(DataError, match=r"data\.json: nested deeper than 64 levels$"):
        load_records(path, on_error="skip")


def test_parquet_rows_over_the_depth_limit(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [validate_record(r) for r in good_records()]
    texts = [json.dumps(records[0]), "[" * 3000 + "]" * 3000, json.dumps(records[1])]
    pq.write_table(pa.table({"record": texts}), tmp_path / "data.parquet")
    result = load_records(tmp_path / "data.parquet", on_error="skip")
    assert result.records == records[:2] and result.skipped == {KIND_DEEP: 1}
    assert str(result.errors[0]) == f"{tmp_path / 'data.parquet'} record 1: nested deeper than 64 levels (line 1)"


@pytest.mark.parametrize(("name", "content"), [("e.jsonl", b""), ("e.jsonl", b"\n \n\r\n"), ("e.jsonl", b"\xef\xbb\xbf\n"),
                                               ("e.json", b"[]"), ("e.json", b'{"rows": []}')])
def test_a_source_without_rows_is_an_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"^{path}: no records: it holds no rows"):
        load_records(path, on_error="skip")


def test_a_source_whose_every_row_was_skipped_is_an_error(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"{oops\n[1]\n")
    with pytest.raises(DataError, match=rf"^{path}: no records: all 2 rows were skipped \(1 malformed JSON, 1 row is "
                                        rf"not a JSON object\); first error: {path} record 0: malformed JSON"):
        load_records(path, on_error="skip")


def test_a_device_is_not_a_data_file():
    with pytest.raises(DataError, match=r"^/dev/zero: is a character device, not a data file"):
        load_records("/dev/zero")


def test_rows_that_fit_no_format_do_not_stop_detection(tmp_path):
    rows = [{"messages": "hello", "tools": []}, *good_records()]
    path = write_jsonl_lines(tmp_path / "d.jsonl", rows)
    result = load_records(path, on_error="skip")
    assert result.format == "canonical" and len(result.records) == 3 and result.n_skipped == 1
    with pytest.raises(DataError, match=rf"^{path} record 0: messages"):
        load_records(path)
    path = write_jsonl_lines(tmp_path / "one.jsonl", rows[:1])
    with pytest.raises(DataError, match=rf"^{path} record 0: messages: expected a list of messages, got string$"):
        load_records(path, on_error="skip")


def test_share_in_words():
    assert [share_in_words(x) for x in (1.0, 0.95, 0.6, 0.4, 0.3, 0.2, 0.05)] == [
        "all", "nearly all", "more than half", "more than a third", "more than a quarter", "more than a tenth", "some"]


def test_write_jsonl_refuses_its_input_and_keeps_lone_surrogates(tmp_path):
    path = write_jsonl_lines(tmp_path / "d.jsonl", good_records())
    before = path.read_bytes()
    with pytest.raises(OutputError, match="is an input of this command"):
        write_jsonl(load_records(path).records[:1], path, inputs=[path])
    assert path.read_bytes() == before
    record = no_call_record()
    record["messages"][0]["content"] = "\ud800 hi"
    out = tmp_path / "s.jsonl"
    assert write_jsonl([record], out) == 1
    assert load_records(out).records[0]["messages"][0]["content"] == "\ud800 hi"
