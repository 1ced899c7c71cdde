"""Reading and writing datasets: rows from files or ``datasets``, canonical records out.

Sources: ``.jsonl`` (streamed; a line may hold up to 128 MiB), ``.json`` (a list, an object
holding one list, or JSON lines under a .json name as BFCL ships them), ``.parquet``, a folder
written by ``datasets`` (``save_to_disk``; ``folder:split`` picks a split of a
DatasetDict), or a Hub dataset ``hf:org/name[:split]``. Rows are numbered from 0; that
number is the "record N" of every error, and JSON errors also name the line.

Every row is decoded by :func:`fc_finetune.utils.safe_json.loads` (rows from parquet and
``datasets`` are checked with ``check_depth``), so a row nested deeper than 64 levels, an
integer of thousands of digits or an over-long line is one bad record, skipped and counted
with ``on_error="skip"``, never a ``RecursionError`` that ends the run. A source that yields
no rows, or whose every row was skipped, is an error naming it: training or evaluating on
nothing is never what was meant. More than a tenth of the rows skipped is logged as a loud
warning. Every file read is noted as an input of the running command
(:func:`fc_finetune.utils.outputs.note_input`), so no output of the command can overwrite it.

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
import os
import re
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DataError
from ..utils import safe_json
from ..utils.cache import atomic_file
from ..utils.outputs import note_input
from . import formats
from .schema import error_kind, validate_record

logger = logging.getLogger(__name__)

ON_ERROR = ("raise", "skip")
RECORD_COLUMN = "record"  # to_dataset stores each record as JSON text in this one column
KIND_JSON = "malformed JSON"
KIND_UTF8 = "not UTF-8"
KIND_NOT_OBJECT = "row is not a JSON object"
KIND_DEEP = f"nested deeper than {safe_json.MAX_DEPTH} levels"
KIND_DIGITS = "integer with too many digits"
KIND_TOO_LONG = "line too long"
MAX_LINE_BYTES = 128 * 2**20  # one JSONL line; bigger lines are skipped unread (a file with no newlines)
LOUD_SKIP_SHARE = 0.1  # skipping more than this share of the rows is a loud warning
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


def _limit_error(exc: safe_json.JSONLimitError, where: str, *, source: str, index: int | None) -> DataError:
    """A row over one of the JSON reader's limits, as a record error with a countable kind."""
    text = str(exc)
    kind = KIND_DEEP if "nested" in text else KIND_DIGITS if "digits" in text else KIND_TOO_LONG
    reason = {KIND_DEEP: KIND_DEEP, KIND_DIGITS: "a number with too many digits (over 4,300)"}.get(
        kind, text.removeprefix("JSON "))
    return _error(f"{reason}{where}", kind, source=source, index=index)


def _decode(text: str, lineno: int, *, source: str, index: int | None, one_line: bool = True) -> Any:
    """One JSON document starting on line ``lineno`` (``one_line``: a JSONL line, whose
    trailing newline does not start another line), or the record error it is."""
    try:
        return safe_json.loads(text, max_chars=None)  # the callers bound the size
    except safe_json.JSONLimitError as exc:
        return _limit_error(exc, f" (line {lineno})", source=source, index=index)
    except json.JSONDecodeError as exc:
        line = lineno if one_line else lineno + exc.lineno - 1
        return _error(f"malformed JSON on line {line}, column {exc.colno}: {exc.msg}",
                      KIND_JSON, source=source, index=index)


def _bounded_lines(handle) -> Iterator[tuple[bytes | None, int]]:
    """(line, its size in bytes) per line; the line is None when it is over MAX_LINE_BYTES, and
    then it is skipped without being held in memory."""
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        if len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n"):
            yield raw, len(raw)
            continue
        size = len(raw)
        while chunk := handle.readline(1 << 20):
            size += len(chunk)
            if chunk.endswith(b"\n"):
                break
        yield None, size


def _iter_jsonl(path: Path, source: str) -> Iterator[tuple[int, Any]]:
    """(index, row or DataError) per non-blank line, streamed from the bytes."""
    index, offset = 0, 0
    with open(path, "rb") as handle:
        for lineno, (raw, size) in enumerate(_bounded_lines(handle), 1):
            start, offset = offset, offset + size
            if raw is None:
                yield index, _error(f"line {lineno} is {size:,} bytes long, over the limit of {MAX_LINE_BYTES:,}",
                                    KIND_TOO_LONG, source=source, index=index)
                index += 1
                continue
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw, start = raw[len(codecs.BOM_UTF8):], start + len(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield index, _utf8_error(exc, raw, start, lineno, source, index)
            else:
                yield index, _decode(text, lineno, source=source, index=index)
            index += 1


def _rows_in_object(obj: dict, source: str) -> list:
    lists = {key: value for key, value in obj.items() if isinstance(value, list)}
    if "messages" in obj or len(lists) != 1:
        found = ", ".join(f"{k!r}" for k in lists) or "none"
        raise DataError(f"expected a list of rows, or an object holding exactly one list (lists found: {found}); "
                        "save one record per line as .jsonl", source=source)
    return next(iter(lists.values()))


# A JSON string, or one bracket or comma: enough to find where the elements of an array end.
_ARRAY_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


def _array_elements(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each element of the top-level array in ``text``, found without decoding
    (so one element nested too deeply for the decoder can be told apart from the others)."""
    first = text.index("[")
    depth, start = 0, first + 1
    for match in _ARRAY_TOKENS.finditer(text, first + 1):
        token = match.group()
        if token in "[{":
            depth += 1
        elif token in "]}":
            if depth == 0:
                if text[start:match.start()].strip():
                    yield start, match.start()
                return
            depth -= 1
        elif token == "," and depth == 0:
            yield start, match.start()
            start = match.end()
    yield start, len(text)  # no closing bracket: the decoder names what is wrong


def _iter_json_elements(text: str, source: str) -> Iterator[tuple[int, Any]]:
    """The rows of a top-level array one by one, each decoded (or refused) on its own."""
    for index, (start, end) in enumerate(_array_elements(text)):
        element = text[start:end]
        first = start + len(element) - len(element.lstrip())  # the line the element starts on
        yield index, _decode(element.lstrip(), text.count("\n", 0, first) + 1, source=source, index=index,
                             one_line=False)


def _iter_json(path: Path, source: str) -> Iterator[tuple[int, Any]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _utf8_error(exc, data, 0, _line_of(data, exc.start), source, None) from None
    try:  # the rows sit one or two levels down: [row, ...] or {"data": [row, ...]}
        obj = safe_json.loads(text, max_depth=safe_json.MAX_DEPTH + 2, max_chars=None)
    except safe_json.JSONLimitError as exc:
        head = text.lstrip()
        if head.startswith("["):  # decode row by row, so only the rows over the limit are bad
            yield from _iter_json_elements(text, source)
            return
        if head.startswith("{") and "\n" in head.strip():  # perhaps JSON lines named .json (BFCL)
            yield from _iter_jsonl(path, source)
            return
        raise _limit_error(exc, "", source=source, index=None) from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):  # JSON lines named .json (BFCL)
            yield from _iter_jsonl(path, source)
            return
        raise _error(f"malformed JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}", KIND_JSON,
                     source=source, index=None) from None
    rows = obj if isinstance(obj, list) else _rows_in_object(obj, source) if isinstance(obj, dict) else None
    if rows is None:
        raise DataError(f"expected a list of rows, got a JSON {type(obj).__name__}", source=source)
    for index, row in enumerate(rows):
        try:
            yield index, safe_json.check_depth(row)
        except safe_json.JSONLimitError as exc:
            yield index, _limit_error(exc, "", source=source, index=index)


def _decode_arrow_row(row: dict, *, source: str, index: int) -> Any:
    """Rows of :func:`to_dataset` hold one JSON string; other rows are used as they are. Either
    way a row over the JSON reader's limits (or malformed) is returned as its record error."""
    if len(row) == 1 and isinstance(row.get(RECORD_COLUMN), str):
        return _decode(row[RECORD_COLUMN], 1, source=source, index=index)
    try:
        return safe_json.check_depth(row)
    except safe_json.JSONLimitError as exc:
        return _limit_error(exc, "", source=source, index=index)


def _iter_parquet(path: Path, source: str) -> Iterator[tuple[int, Any]]:
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=512)
        index = 0
        for batch in batches:
            for row in batch.to_pylist():
                yield index, _decode_arrow_row(row, source=source, index=index)
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
    note_input(folder)
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
        yield index, _decode_arrow_row(row, source=spec, index=index)


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
        raise DataError(_not_a_file(path), source=name)
    note_input(path)
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


def _not_a_file(path: Path) -> str:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file or dataset folder (Hub datasets: hf:org/name[:split])"
    except (OSError, ValueError) as exc:
        return f"cannot read it: {getattr(exc, 'strerror', None) or exc}"
    kind = ("a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "special")
    return f"is {kind}, not a data file; save the data to a .jsonl, .json or .parquet file"


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

    @property
    def skipped_share(self) -> float:
        return self.n_skipped / self.rows_read if self.rows_read else 0.0

    def skip_warning(self) -> str | None:
        """One loud sentence when more than :data:`LOUD_SKIP_SHARE` of the rows were skipped."""
        if self.skipped_share <= LOUD_SKIP_SHARE:
            return None
        return (f"{share_in_words(self.skipped_share)} of the rows of {self.source} were skipped "
                f"({self.n_skipped} of {self.rows_read}, {self.skipped_share:.0%}); check --format and the errors "
                "(fc-finetune data validate) before using what is left")

    def report(self, *, show_errors: int = 5) -> str:
        """A human summary: counts, skipped records by reason, the first errors."""
        lines = [f"{self.source} (format: {self.format}): {self.rows_read} rows read, "
                 f"{len(self.records)} records loaded, {self.n_skipped} skipped"]
        lines += [f"  {count:6d}  {reason}" for reason, count in self.skipped.most_common()]
        if self.skip_warning():
            lines.append(f"WARNING: {self.skip_warning()}")
        if self.errors and show_errors:
            lines.append(f"first {min(show_errors, len(self.errors))} error(s):")
            lines += [f"  {error}" for error in self.errors[:show_errors]]
        return "\n".join(lines)


def share_in_words(share: float) -> str:
    """'all', 'more than half', ... for a share of rows, so a warning reads at a glance."""
    for limit, words in ((1.0, "all"), (0.9, "nearly all"), (0.5, "more than half"), (1 / 3, "more than a third"),
                         (0.25, "more than a quarter"), (0.1, "more than a tenth")):
        if share >= limit if limit == 1.0 else share > limit:
            return words
    return "some"


def _detect(head: list[tuple[int, Any]], source: str) -> str:
    """The format of the first rows that fit any format; rows that fit none are left to fail
    (or be skipped) one by one when converted, unless no row fits, which is the error."""
    rows = [(index, row) for index, row in head if isinstance(row, dict)]
    fitting = [(index, row) for index, row in rows if formats.row_formats(row)]
    try:
        return formats.detect_format([row for _, row in fitting or rows], source=source)
    except DataError as exc:
        indices = [index for index, _ in fitting or rows]
        index = indices[exc.index] if exc.index is not None and exc.index < len(indices) else exc.index
        raise DataError(exc.reason, source=source, index=index, field=exc.field) from None


def _converter(fmt: str | None, head: list[tuple[int, Any]], source: str) -> tuple[str, Any]:
    """The format name and a ``row -> record`` function (identity for canonical records)."""
    auto = fmt in (None, "auto")
    first_rows = [row for _, row in head if isinstance(row, dict)]
    sure = [row for row in first_rows if formats.row_formats(row)] or first_rows
    if fmt == "canonical" or (auto and all(_looks_canonical(row) for row in sure)):
        return "canonical", None  # also when no row could be read to detect from
    convert_row, known = formats.convert_row, formats.FORMATS
    if auto:
        fmt = _detect(head, source)
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
        calls = msg.get("tool_calls") if isinstance(msg, dict) else None
        if calls is not None and not isinstance(calls, list):
            return False
        for call in calls or []:
            if not isinstance(call, dict) or "function" in call or not isinstance(call.get("arguments"), dict):
                return False
    return True


def load_records(source: str | Path, *, fmt: str | None = None, on_error: str = "raise",
                 require_final_assistant: bool = True, limit: int | None = None,
                 max_errors: int = 20, all_skipped_ok: bool = False) -> LoadResult:
    """Read ``source``, convert each row from ``fmt`` (None/"auto": detected) and validate it.

    ``on_error="raise"``: the first bad row raises DataError naming the file, record and
    field. ``"skip"``: bad rows are counted by reason in ``result.skipped`` and the first
    ``max_errors`` kept in ``result.errors``. ``limit`` stops after that many good records.
    BFCL rows are evaluation prompts, so for them ``require_final_assistant`` is off.

    A source with no rows is a DataError ("no records"), and so is one whose every row was
    skipped, unless ``all_skipped_ok`` (``data validate``: the report is the answer).
    """
    _check_on_error(on_error)
    name = str(source)
    rows = _iter_source(source)
    head: list[tuple[int, Any]] = []
    for item in rows:
        head.append(item)
        if len(head) >= _DETECT_ROWS:
            break
    if not head:
        raise DataError("no records: it holds no rows" + (" (the file is empty)" if _is_empty_file(name) else ""),
                        source=name)
    fmt, convert = _converter(fmt, head, name)
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
        reasons = ", ".join(f"{n} {reason}" for reason, n in result.skipped.most_common())
        if not result.records and not all_skipped_ok:
            first = f"; first error: {result.errors[0]}" if result.errors else ""
            raise DataError(f"no records: all {result.n_skipped} rows were skipped ({reasons}){first}", source=name)
        loud = result.skip_warning()
        if loud:
            logger.warning("%s: %s", loud[0].upper() + loud[1:], reasons)
        else:
            logger.warning("%s: skipped %d of %d rows (%s)", name, result.n_skipped, result.rows_read, reasons)
    return result


def _is_empty_file(name: str) -> bool:
    try:
        return os.stat(name).st_size == 0
    except (OSError, ValueError):
        return False


def _chain(head: list, rest: Iterator) -> Iterator:
    yield from head
    yield from rest


def write_jsonl(records: Iterable[dict], path: str | Path, *, inputs: Iterable[str | Path] = ()) -> int:
    """Write records one per line (UTF-8, unescaped) through a temporary file; return the count.

    ``path`` must not be one of ``inputs`` (nor any file the running command read): see
    :func:`fc_finetune.utils.cache.atomic_file` for the rules of every output.
    """
    count = 0
    with atomic_file(Path(path), inputs=inputs) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for record in records:
            try:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            except UnicodeEncodeError:  # a lone surrogate ("\\ud800" in the input): keep it, escaped
                handle.write(json.dumps(record) + "\n")
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
    return [safe_json.loads(text, max_chars=None) for text in dataset[RECORD_COLUMN]]
