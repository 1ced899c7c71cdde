"""Converters between dataset formats and the canonical record (docs/data-format.md).

>>> row = {"query": "Is 153 an Armstrong number?",
...        "tools": '[{"name": "is_armstrong", "description": "Check.", "parameters": {"num": {"type": "int"}}}]',
...        "answers": '[{"name": "is_armstrong", "arguments": {"num": 153}}]'}
>>> detect_format([row])
'xlam'
>>> record = convert_row(row, "xlam")
>>> record["messages"][1]["tool_calls"]
[{'name': 'is_armstrong', 'arguments': {'num': 153}}]
>>> record["tools"][0]["function"]["parameters"]
{'type': 'object', 'properties': {'num': {'type': 'integer'}}, 'required': ['num']}
>>> convert_row(to_format(record, "sharegpt"), "sharegpt") == record
True

``convert_row`` raises :class:`~fc_finetune.errors.DataError` whose ``field`` is a path in
the *raw* row (``conversations[3].value: function_call is not valid JSON ...``). It does
not check calls against their tools' schemas: :func:`fc_finetune.data.schema.validate_record`
does, so a call that breaks its schema is reported, never silently fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ...errors import DataError
from . import bfcl, canonical, glaive, hermes, openai, sharegpt, xlam
from .bfcl import attach_possible_answers, category_of
from .common import Converter, Record, Row, check_row_limits
from .detect import detect_format, row_formats

logger = logging.getLogger(__name__)

FORMATS: dict[str, Converter] = {
    "canonical": Converter("canonical", "the canonical record itself", canonical.to_canonical,
                           canonical.from_canonical),
    "openai": Converter("openai", "OpenAI messages + tools (tool_calls / legacy function_call)",
                        openai.to_canonical, openai.from_canonical),
    "sharegpt": Converter("sharegpt", "ShareGPT / LLaMA-Factory conversations with function_call/observation",
                          sharegpt.to_canonical, sharegpt.from_canonical),
    "xlam": Converter("xlam", "Salesforce xLAM: query + tools + answers", xlam.to_canonical, xlam.from_canonical),
    "glaive": Converter("glaive", "Glaive v2 raw text: system + chat with <functioncall>",
                        glaive.to_canonical, glaive.from_canonical),
    "hermes": Converter("hermes", "Hermes conversations with <tools>/<tool_call>/<tool_response> tags",
                        hermes.to_canonical, hermes.from_canonical),
    "bfcl": Converter("bfcl", "BFCL question rows (prompt records for evaluation)", bfcl.to_canonical),
}


def _converter(fmt: str) -> Converter:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise DataError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


def convert_row(row: Row, fmt: str) -> Record:
    """One raw row of format ``fmt`` as a canonical record (a new dict). Rows over the limits of
    the safe JSON reader (nesting, digits) are DataErrors too."""
    converter = _converter(fmt)
    if not isinstance(row, dict):
        raise DataError(f"expected a JSON object (one {fmt} row), got {type(row).__name__}")
    check_row_limits(row)
    return converter.to_canonical(row)


def to_format(record: Record, fmt: str) -> Row:
    """A canonical record written as one row of ``fmt`` (the reverse of :func:`convert_row`).

    Raises DataError, naming the record field, where ``fmt`` cannot hold the record (e.g.
    parallel calls in Glaive text, tool results in xLAM).
    """
    converter = _converter(fmt)
    if converter.from_canonical is None:
        writable = [name for name, c in FORMATS.items() if c.from_canonical is not None]
        raise DataError(f"records cannot be written as {fmt!r}; writable formats: {', '.join(writable)}")
    return converter.from_canonical(canonical.to_canonical(record))


@dataclass
class Conversion:
    """What :func:`convert_rows` made: the records, and one located error per skipped row."""

    records: list[Record] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)


def convert_rows(rows: Iterable[Row], fmt: str = "auto", *, source: str | None = None) -> Conversion:
    """Convert every row, collecting (not raising) each bad row's error, located by index.

    ``fmt="auto"`` detects the format from the first rows (:func:`detect_format`).
    """
    rows = list(rows)
    if fmt == "auto":
        fmt = detect_format(rows, source=source)
    converter = _converter(fmt)
    out = Conversion()
    for index, row in enumerate(rows):
        try:
            if not isinstance(row, dict):
                raise DataError(f"expected a JSON object (one {fmt} row), got {type(row).__name__}")
            out.records.append(converter.to_canonical(row))
            out.indices.append(index)
        except DataError as exc:
            out.errors.append(exc.located(source=source, index=index))
    if out.errors:
        logger.warning("%s: %d of %d %s rows could not be converted (first: %s)", source or "rows",
                       len(out.errors), len(rows), fmt, out.errors[0])
    return out


__all__ = ["FORMATS", "Conversion", "Converter", "attach_possible_answers", "category_of", "convert_row",
           "convert_rows", "detect_format", "row_formats", "to_format"]
