"""Fuzzing the readers of untrusted data: every format converter (``formats.convert_row`` then
``schema.validate_record``), format detection, writing records back, and the text-mode call
parser (``HERMES.parse`` / ``parse_lenient``).

The one property: whatever the input, the only exceptions are the project's own
(:class:`~fc_finetune.errors.FcFinetuneError` subclasses, which the CLI prints as one line).
A ``KeyError``, ``TypeError``, ``AttributeError`` or ``RecursionError`` is a bug: a user would
get a traceback instead of the record and field at fault.

Inputs: arbitrary JSON-like rows (keys drawn mostly from the formats' own vocabulary, values
from every JSON type including NaN, huge integers and lone surrogates), near-valid rows (one
sample row per format with one part replaced, removed or re-encoded as a JSON string), and
text built from call-markup fragments. The fast suite runs a few hundred examples per property,
deterministically; the ``slow`` variants run 10,000 each.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from pathlib import Path

import pytest
from helpers.format_samples import all_rows
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fc_finetune.data import formats
from fc_finetune.data.io import load_records
from fc_finetune.data.schema import validate_record
from fc_finetune.data.tool_format import HERMES
from fc_finetune.errors import FcFinetuneError

FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=10_000)

KEYS = ("messages", "tools", "conversations", "query", "answers", "chat", "system", "question", "function",
        "functions", "id", "role", "from", "value", "content", "tool_calls", "tool_call_id", "name", "arguments",
        "parameters", "function_call", "type", "properties", "required", "items", "enum", "description",
        "ground_truth", "meta", "category", "observation", "gpt", "human", "user", "assistant", "tool")
MARKUP = ("<tool_call>", "</tool_call>", "<tool_call>\n", "\n</tool_call>", "<tools>", "</tools>", "<tool_response>",
          "</tool_response>", "<functioncall>", "<|endoftext|>", "USER:", "ASSISTANT:", "FUNCTION RESPONSE:",
          "SYSTEM:", "```json", "```", "{", "}", "[", "]", ":", ",", '"', "'", "\\", '"name"', '"arguments"',
          '"parameters"', '"f"', "null", "true", "NaN", "Infinity", "1e999", "9" * 5000, "[" * 3000, "{\"a\":" * 2000,
          "\n", " ", "\x00", "\ud800", "get_weather", '"city"', '"Oslo"')

def _power_of_ten(digits: int) -> int:
    """10**digits (negative: minus), past the 4,300 digits int() converts from text."""
    return 10 ** digits if digits > 0 else -(10 ** -digits)


keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
texts = st.one_of(st.text(max_size=20), st.sampled_from(MARKUP),
                  st.lists(st.sampled_from(MARKUP), max_size=6).map("".join),
                  st.text(st.characters(codec=None, categories=("Cs", "Cc", "Zs", "Ll")), max_size=6))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from((5000, -4400, 64)).map(_power_of_ten),
                    st.floats(), texts, st.sampled_from(KEYS))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(keys, inner, max_size=5)),
                           max_leaves=25)
rows = st.dictionaries(keys, json_values, max_size=8)


def _json_string(value) -> str:
    """JSON text of anything drawn, huge integers written out in full (the readers must refuse them)."""
    digits = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return json.dumps(value, ensure_ascii=False)
    finally:
        sys.set_int_max_str_digits(digits)


def _paths(value, prefix=()):
    """Every path to a part of ``value`` (keys and indices), the root first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@st.composite
def near_valid_rows(draw):
    """A real sample row of some format with one to three parts broken."""
    fmt = draw(st.sampled_from(sorted(all_rows())))
    row = copy.deepcopy(all_rows()[fmt])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(row) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = row
        for step in path[:-1]:
            parent = parent[step]
        how = draw(st.sampled_from(("replace", "delete", "encode", "markup", "wrap")))
        old = parent[path[-1]]
        if how == "delete":
            del parent[path[-1]]
        elif how == "encode":  # a structure given as its JSON text, as some datasets do
            parent[path[-1]] = _json_string(old) if not isinstance(old, str) else draw(texts)
        elif how == "markup" and isinstance(old, str):
            cut = draw(st.integers(0, len(old)))
            parent[path[-1]] = old[:cut] + draw(st.sampled_from(MARKUP)) + old[cut:]
        elif how == "wrap":
            parent[path[-1]] = draw(st.sampled_from(([old], {"value": old}, {"name": old}, _json_string([old]))))
        else:
            parent[path[-1]] = draw(json_values)
    return fmt, row


def _own_errors_only(call, *args, **kwargs):
    """Run ``call``; the project's own errors are answers, anything else fails the test."""
    try:
        return call(*args, **kwargs)
    except FcFinetuneError:
        return None


def _check_row(row) -> None:
    fits = _own_errors_only(formats.row_formats, row)
    _own_errors_only(formats.detect_format, [row], source="fuzz.jsonl")
    for fmt in formats.FORMATS:
        record = _own_errors_only(formats.convert_row, row, fmt)
        if record is None:
            continue
        for final in (True, False):
            valid = _own_errors_only(validate_record, record, require_final_assistant=final)
            if valid is None:
                continue
            assert isinstance(valid["messages"], list) and isinstance(valid["tools"], list)
            for out_fmt, converter in formats.FORMATS.items():
                if converter.from_canonical is not None:
                    written = _own_errors_only(formats.to_format, valid, out_fmt)
                    if written is not None:
                        _own_errors_only(formats.convert_row, written, out_fmt)
    assert fits is None or isinstance(fits, set)


_DEEP_TOOLS = {"query": "q", "tools": "[" * 10_000 + "]" * 10_000, "answers": "[]"}
_DEEP_ARGS = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": None, "tool_calls": [
    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x\":" * 3000 + "1" + "}" * 3000}}]}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}
_DEEP_GLAIVE = {"system": "SYSTEM: f", "chat": "USER: hi ASSISTANT: <functioncall> " + "[" * 5000 + " <|endoftext|>"}
_DEEP_HERMES_PY = {"conversations": [{"from": "human", "value": "hi"},
                                     {"from": "gpt", "value": "<tool_call>\n" + "[" * 3000 + "\n</tool_call>"}]}
# Found by this fuzzing (fixed): a list as a message's role (detection hashed it), an integer
# as a schema's "required" (iterated), "tool_calls" as a number (iterated).
_LIST_ROLE = {"messages": [{"role": ["user"], "content": "Hi"}], "tools": []}
_INT_REQUIRED = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
                 "tools": [{"type": "function", "function": {"name": "f", "parameters": {
                     "type": "object", "properties": {}, "required": 1}}}]}
_INT_TOOL_CALLS = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "tool_calls": 3}],
                   "tools": []}
# ... and deep JSON in a Glaive system prompt or call, read by raw_decode (RecursionError).
_DEEP_GLAIVE_SYSTEM = {"system": "SYSTEM: f\n" + '{"a":' * 3000, "chat": "USER: hi\nASSISTANT: ok <|endoftext|>"}
_BIG_INT_GLAIVE_CALL = {"system": "SYSTEM: f", "chat": 'USER: hi\nASSISTANT: <functioncall> {"name": "f", '
                        '"arguments": ' + "9" * 5000 + "} <|endoftext|>"}
_BIG_INT_ARGS = {"query": "q", "tools": "[]", "answers": '[{"name": "f", "arguments": {"x": ' + "9" * 5000 + "}}]"}


@given(rows)
@FAST
@example(_DEEP_TOOLS)
@example(_DEEP_ARGS)
@example(_DEEP_GLAIVE)
@example(_DEEP_HERMES_PY)
@example(_BIG_INT_ARGS)
@example(_LIST_ROLE)
@example(_INT_REQUIRED)
@example(_INT_TOOL_CALLS)
@example(_DEEP_GLAIVE_SYSTEM)
@example(_BIG_INT_GLAIVE_CALL)
def test_converters_on_arbitrary_rows(row):
    _check_row(row)


@given(near_valid_rows())
@FAST
def test_converters_on_near_valid_rows(item):
    _check_row(item[1])


def _check_file(lines: list) -> None:
    """The same rows as JSON lines through ``load_records`` (detection, conversion, validation)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.jsonl"
        text = "".join(_json_string(row) + "\n" for row in lines)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        for on_error in ("skip", "raise"):
            result = _own_errors_only(load_records, path, on_error=on_error, all_skipped_ok=True)
            if result is not None:
                assert result.rows_read == len(lines) and len(result.records) + result.n_skipped == len(lines)


@given(st.lists(st.one_of(rows, near_valid_rows().map(lambda item: item[1])), min_size=1, max_size=4))
@settings(FAST, max_examples=100)
@example([_INT_TOOL_CALLS, _LIST_ROLE])
@example([_INT_REQUIRED])
def test_load_records_on_files_of_fuzzed_rows(lines):
    _check_file(lines)


def _check_text(text: str) -> None:
    for parse in (HERMES.parse, HERMES.parse_lenient):
        result = _own_errors_only(parse, text)
        if result is None:
            continue
        calls, problems = result
        assert all(isinstance(c["name"], str) and isinstance(c["arguments"], dict) for c in calls)
        assert all(isinstance(p, str) for p in problems)


# The huge fragments stay out of generated text (parse_lenient retries at every bracket, so
# 16 of them cost seconds per example); the @examples give the parser the deep and long cases.
TEXT_MARKUP = tuple(m for m in MARKUP if len(m) < 100) + ("[" * 1100, "9" * 4400)
fragment_texts = st.lists(st.one_of(st.sampled_from(TEXT_MARKUP), st.text(max_size=10)), max_size=16).map("".join)


@given(fragment_texts)
@FAST
@example("<tool_call>\n" + "[" * 10_000 + "]" * 10_000 + "\n</tool_call>")
@example("<tool_call>\n{\"name\": \"f\", \"arguments\": \"" + "[" * 5000 + "\"}\n</tool_call>")
@example("```json\n" + "[" * 10_000 + "\n```")
@example("{\"name\": \"f\", \"arguments\": {\"x\": " + "9" * 5000 + "}}")
@example("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": " + "9" * 5000 + "}}\n</tool_call>")
def test_text_parser_on_markup_fragments(text):
    _check_text(text)


@pytest.mark.slow
@given(rows)
@SLOW
def test_converters_on_arbitrary_rows_slow(row):
    _check_row(row)


@pytest.mark.slow
@given(near_valid_rows())
@SLOW
def test_converters_on_near_valid_rows_slow(item):
    _check_row(item[1])


@pytest.mark.slow
@given(st.lists(st.one_of(rows, near_valid_rows().map(lambda item: item[1])), min_size=1, max_size=4))
@settings(SLOW, max_examples=2_000)
def test_load_records_on_files_of_fuzzed_rows_slow(lines):
    _check_file(lines)


@pytest.mark.slow
@given(fragment_texts)
@SLOW
def test_text_parser_on_markup_fragments_slow(text):
    _check_text(text)
