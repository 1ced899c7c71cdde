"""The one JSON reader for data and model output: ``json`` with limits on size, depth and numbers.

Plain ``json.loads`` is safe from code execution but not from resource abuse: text nested a few
thousand levels deep raises ``RecursionError`` (and shallower nesting later breaks every
recursive walk over the value: redaction, schema validation, rendering), an integer of more
than 4,300 digits raises a bare ``ValueError``, and a 10 MB string is decoded whole. Every
entry that reads a data file, a record, or text a model wrote goes through :func:`loads`, so
one place decides what is too big.

Errors are ``ValueError`` subclasses: :class:`json.JSONDecodeError` for malformed text (as
``json.loads`` raises it) and :class:`JSONLimitError` for text that is well-formed but over a
limit. Callers that already catch ``json.JSONDecodeError`` should catch ``ValueError``.

>>> loads('{"a": [1, 2]}')
{'a': [1, 2]}
>>> loads("[" * 200 + "]" * 200)
Traceback (most recent call last):
...
fc_finetune.utils.safe_json.JSONLimitError: JSON nested deeper than 64 levels
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # arrays/objects inside each other; real records and schemas stay under 20
MAX_CHARS = 10_000_000  # one document (a JSONL line, a model's call); whole .json files pass None


class JSONLimitError(ValueError):
    """Well-formed JSON over one of the reader's limits (depth, size, digits of a number)."""


def depth(value: Any, limit: int | None = None) -> int:
    """Nesting depth of a decoded value (a scalar is 0, ``[]`` is 1), found without recursion.
    Stops early and returns ``limit + 1`` once ``limit`` is passed."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if limit is not None and deepest > limit:
            return deepest
        stack.extend((child, level) for child in children if isinstance(child, dict | list | tuple))
    return deepest


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> Any:
    """``value`` unchanged, or :class:`JSONLimitError` when it is nested deeper than ``max_depth``
    (for values that were not decoded by :func:`loads`, e.g. rows from parquet or ``datasets``)."""
    if depth(value, max_depth) > max_depth:
        raise JSONLimitError(f"JSON nested deeper than {max_depth} levels")
    return value


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, max_chars: int | None = MAX_CHARS) -> Any:
    """``json.loads`` that refuses, with :class:`JSONLimitError`, text longer than ``max_chars``,
    values nested deeper than ``max_depth``, and integers too long to convert; malformed text
    raises :class:`json.JSONDecodeError` as usual."""
    if max_chars is not None and len(text) > max_chars:
        raise JSONLimitError(f"JSON text of {len(text):,} characters is over the limit of {max_chars:,}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONLimitError(f"JSON nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # int() of a number over sys.get_int_max_str_digits()
        if "digits" not in str(exc):
            raise
        raise JSONLimitError("JSON holds an integer with too many digits (over 4,300)") from None
    return check_depth(value, max_depth)
