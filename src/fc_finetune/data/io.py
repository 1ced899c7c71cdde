"""Reading and writing datasets: rows from files or ``datasets``, canonical records out.

Sources: ``.jsonl`` (streamed, no line-length limit), ``.json`` (a list, an object holding
one list, or JSON lines under a .json name as BFCL ships them), ``.parquet``, a folder
written by ``datasets`` (``save_to_disk``; ``folder:split`` picks a split of a
DatasetDict), or a Hub dataset ``hf:org/name[:split]``. Rows are numbered from 0; that
number is the "record N" of every error, and JSON errors also name the line.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "data.jsonl"
>>> _ = path.write_text('{"messages": [{"role": "user", "content": "Hi"}, '
...                     '{"role": "assistant", "content": "Hello!"}], "tools": []}\\n')
>>> result = load_records(path, fmt="canonical")
>>> len(result.records), sum(result.skipped.values())
(1, 0)
>>> write_jsonl(result.records, path.with_name("copy.jsonl"))
1
"""

from __future__ import annotations

import codecs
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DataError
from ..utils.cache import atomic_file
from . import formats
from .schema import error_kind, validate_record

logger = logging.getLogger(__name__)

ON_ERROR = ("raise", "skip")
RECORD_COLUMN = "record"  # to_dataset stores each record as JSON text in this one column
KIND_JSON = "malformed JSON"
KIND_UTF8 = "not UTF-8"
KIND_NOT_OBJECT = "row is not a JSON object"
_DETECT_ROWS = 50


def _error(message: str, kind: str, *, source: str, index: int | None) -> DataError:
    error = DataError(message, source=source, index=index)
    error.kind = kind  # type: ignore[attr-defined]
    return error


def _located(error: DataError, source: str, index: int | None) -> DataError:
    """``error.located`` that keeps the error's kind."""
    out = error.located(source=source, index=index)
    out.kind = error_kind(error)  # type: ignore[attr-defined]
    return out


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _utf8_error(exc: UnicodeDecodeError, data: bytes, base: int, line: int, source: str,
                index: int | None) -> DataError:
    bad = data[exc.start:exc.start + 4]
    return _error(f"not UTF-8: bytes {bad!r} at byte offset {base + exc.start} (line {line}); "
                  "re-encode the file as UTF-8", KIND_UTF8, source=source, index=index)


def _iter_jsonl(path: Path, source: str) -> Iterator[tuple[int, Any]]:
    """(index, row or DataError) per non-blank line, streamed from the bytes."""
    index, offset = 0, 0
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            start, offset = offset, offset + len(raw)
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw, start = raw[len(codecs.BOM_UTF8):], start + len(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            try:
                yield index, json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield index, _utf8_error(exc, raw, start, lineno, source, index)
            except json.JSONDecodeError as exc:
                yield index, _error(f"malformed JSON on line {lineno}, column {exc.colno}: {exc.msg}",
                                    KIND_JSON, source=source, index=index)
            index += 1


def _rows_in_object(obj: dict, source: str) -> list:
    lists = {key: value for key, value in obj.items() if isinstance(value, list)}
    if "messages" in obj or len(lists) != 1:
        found = ", ".join(f"{k!r}" for k in lists) or "none"
        raise DataError(f"expected a list of rows, or an object holding exactly one list (lists found: {found}); "
                        "save one record per line as .jsonl", source=source)
    return next(iter(lists.values()))


def _iter_json(path: Path, source: str) -> Iterator[tuple[int, Any]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _utf8_error(exc, data, 0, _line_of(data, exc.start), source, None) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):  # JSON lines named .json (BFCL)
            yield from _iter_jsonl(path, source)
            return
        raise _error(f"malformed JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}", KIND_JSON,
                     source=source, index=None) from None
    rows = obj if isinstance(obj, list) else _rows_in_object(obj, source) if isinstance(obj, dict) else None
    if rows is None:
        raise DataError(f"expected a list of rows, got a JSON {type(obj).__name__}", source=source)
    yield from enumerate(rows)


def _decode_arrow_row(row: dict) -> Any:
    """Rows of :func:`to_dataset` hold one JSON string; other rows are used as they are."""
    if len(row) == 1 and isinstance(row.get(RECORD_COLUMN), str):
        return json.loads(row[RECORD_COLUMN])
    return row


def _iter_parquet(path: Path, source: str) -> Iterator[tuple[int, Any]]:
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=512)
        index = 0
        for batch in batches:
            for row in batch.to_pylist():
                yield index, _decode_arrow_row(row)
                index += 1
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read parquet: {exc}", source=source) from None


def _open_dataset(spec: str) -> Any:
    """A ``datasets.Dataset`` from ``hf:org/name[:split]`` or a ``save_to_disk`` folder[:split]."""
    if spec.startswith("hf:"):
        name, _, split = spec[3:].partition(":")
        try:
            return datasets.load_dataset(name, split=split or "train")
        except Exception as exc:  # datasets raises many types; report them all the same way
            raise DataError(f"cannot load the Hub dataset {name!r} (split {split or 'train'!r}): {exc}",
                            source=spec) from None
    folder, split = Path(spec), None
    if not folder.exists() and ":" in spec:
        head, _, split = spec.rpartition(":")
        folder = Path(head)
    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as exc:  # as above
        raise DataError(f"not a dataset folder written by `datasets` (save_to_disk): {exc}", source=spec) from None
    if isinstance(loaded, datasets.DatasetDict):
        if split is None and len(loaded) == 1:
            split = next(iter(loaded))
        if split not in loaded:
            raise DataError(f"name a split as FOLDER:SPLIT (splits: {', '.join(loaded)})", source=spec)
        loaded = loaded[split]
    return loaded


def _iter_dataset(spec: str) -> Iterator[tuple[int, Any]]:
    for index, row in enumerate(_open_dataset(spec)):
        yield index, _decode_arrow_row(row)


def _iter_source(source: str | Path) -> Iterator[tuple[int, Any]]:
    """(index, row) or (index, DataError) for record-level problems; raises for file-level ones."""
    name = str(source)
    if name.startswith("hf:"):
        yield from _iter_dataset(name)
        return
    path = Path(source)
    if path.is_dir() or (not path.exists() and ":" in name and Path(name.rpartition(":")[0]).is_dir()):
        yield from _iter_dataset(name)
        return
    if not path.is_file():
        raise DataError("no such file or dataset folder (Hub datasets: hf:org/name[:split])", source=name)
    suffix = path.suffix.lower()
    readers = {".jsonl": _iter_jsonl, ".ndjson": _iter_jsonl, ".json": _iter_json, ".parquet": _iter_parquet}
    if suffix not in readers:
        raise DataError(f"unknown file type {suffix or '(none)'!r}; expected one of {', '.join(readers)}, "
                        "a dataset folder, or hf:org/name", source=name)
    for index, row in readers[suffix](path, name):
        if not isinstance(row, dict | DataError):
            row = _error(f"expected a JSON object, got {type(row).__name__}", KIND_NOT_OBJECT,
                         source=name, index=index)
        yield index, row


def read_rows(source: str | Path, *, on_error: str = "raise") -> Iterator[tuple[int, dict]]:
    """Yield ``(index, row)`` for every row of ``source``; bad rows raise (or are skipped, logged).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.json"
    >>> _ = path.write_text('{"data": [{"a": 1}, {"a": 2}]}')
    >>> list(read_rows(path))
    [(0, {'a': 1}), (1, {'a': 2})]
    """
    _check_on_error(on_error)
    for index, row in _iter_source(source):
        if isinstance(row, DataError):
            if on_error == "raise":
                raise row
            logger.warning("Skipping: %s", row)
            continue
        yield index, row


def _check_on_error(on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")


@dataclass
class LoadResult:
    """Records loaded from one source, and what was skipped (by reason) and why (first errors)."""

    source: str
    format: str
    records: list[dict] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[DataError] = field(default_factory=list)
    rows_read: int = 0
    max_errors: int = 20

    def add_error(self, error: DataError) -> None:
        self.skipped[error_kind(error)] += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(error)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def report(self, *, show_errors: int = 5) -> str:
        """A human summary: counts, skipped records by reason, the first errors."""
        lines = [f"{self.source} (format: {self.format}): {self.rows_read} rows read, "
                 f"{len(self.records)} records loaded, {self.n_skipped} skipped"]
        lines += [f"  {count:6d}  {reason}" for reason, count in self.skipped.most_common()]
        if self.errors and show_errors:
            lines.append(f"first {min(show_errors, len(self.errors))} error(s):")
            lines += [f"  {error}" for error in self.errors[:show_errors]]
        return "\n".join(lines)


def _converter(fmt: str | None, first_rows: list[dict], source: str) -> tuple[str, Any]:
    """The format name and a ``row -> record`` function (identity for canonical records)."""
    auto = fmt in (None, "auto")
    if fmt == "canonical" or (auto and all(_looks_canonical(row) for row in first_rows)):
        return "canonical", None  # also when no row could be read to detect from
    convert_row, detect_format, known = formats.convert_row, formats.detect_format, formats.FORMATS
    if auto:
        fmt = detect_format(first_rows)
        logger.info("%s: detected format %r", source, fmt)
        if fmt == "canonical":
            return fmt, None
    if fmt not in known:
        raise DataError(f"unknown format {fmt!r}; choose one of canonical, {', '.join(known)}",
                        source=source)
    return fmt, lambda row: convert_row(row, fmt)


def _looks_canonical(row: Any) -> bool:
    """Canonical already: messages + tools, and calls carry dict arguments without a 'function' wrapper."""
    if not (isinstance(row, dict) and isinstance(row.get("messages"), list) and "tools" in row):
        return False
    for msg in row["messages"]:
        for call in (msg.get("tool_calls") or []) if isinstance(msg, dict) else []:
            if not isinstance(call, dict) or "function" in call or not isinstance(call.get("arguments"), dict):
                return False
    return True


def load_records(source: str | Path, *, fmt: str | None = None, on_error: str = "raise",
                 require_final_assistant: bool = True, limit: int | None = None,
                 max_errors: int = 20) -> LoadResult:
    """Read ``source``, convert each row from ``fmt`` (None/"auto": detected) and validate it.

    ``on_error="raise"``: the first bad row raises DataError naming the file, record and
    field. ``"skip"``: bad rows are counted by reason in ``result.skipped`` and the first
    ``max_errors`` kept in ``result.errors``. ``limit`` stops after that many good records.
    BFCL rows are evaluation prompts, so for them ``require_final_assistant`` is off.
    """
    _check_on_error(on_error)
    name = str(source)
    rows = _iter_source(source)
    head: list[tuple[int, Any]] = []
    for item in rows:
        head.append(item)
        if len(head) >= _DETECT_ROWS:
            break
    sample = [row for _, row in head if isinstance(row, dict)]
    fmt, convert = _converter(fmt, sample, name)
    if fmt == "bfcl" and require_final_assistant:
        logger.info("%s: BFCL rows are evaluation prompts; they may end with a user message", name)
        require_final_assistant = False
    result = LoadResult(source=name, format=fmt, max_errors=max_errors)
    for index, row in _chain(head, rows):
        if limit is not None and len(result.records) >= limit:
            break
        result.rows_read += 1
        try:
            if isinstance(row, DataError):
                raise row
            record = convert(row) if convert else row
            if convert and isinstance(record, dict) and isinstance(record.setdefault("meta", {}), dict):
                record["meta"].setdefault("source", Path(name).name)
                record["meta"].setdefault("index", index)
            result.records.append(validate_record(record, require_final_assistant=require_final_assistant))
        except DataError as exc:
            error = _located(exc, name, index)
            if on_error == "raise":
                raise error from None
            result.add_error(error)
    if result.n_skipped:
        logger.warning("%s: skipped %d of %d rows (%s)", name, result.n_skipped, result.rows_read,
                       ", ".join(f"{n} {reason}" for reason, n in result.skipped.most_common()))
    return result


def _chain(head: list, rest: Iterator) -> Iterator:
    yield from head
    yield from rest


def write_jsonl(records: Iterable[dict], path: str | Path) -> int:
    """Write records one per line (UTF-8, unescaped) through a temporary file; return the count."""
    count = 0
    with atomic_file(Path(path)) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def to_dataset(records: Iterable[dict]) -> Any:
    """A ``datasets.Dataset`` with one column of JSON text per record (nested, heterogeneous
    argument and schema shapes do not fit one Arrow schema); :func:`from_dataset` reverses it.

    >>> from_dataset(to_dataset([{"messages": [], "tools": []}]))
    [{'messages': [], 'tools': []}]
    """
    return datasets.Dataset.from_dict({RECORD_COLUMN: [json.dumps(r, ensure_ascii=False) for r in records]})


def from_dataset(dataset: Any) -> list[dict]:
    """The records of a dataset made by :func:`to_dataset`."""
    if RECORD_COLUMN not in dataset.column_names:
        raise DataError(f"expected a dataset with a {RECORD_COLUMN!r} column of JSON records "
                        f"(columns: {', '.join(dataset.column_names)})")
    return [json.loads(text) for text in dataset[RECORD_COLUMN]]
