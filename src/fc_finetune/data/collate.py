"""Records -> model inputs: token ids, loss masks, decision points, tool spans; padding.

:func:`encode_record` tokenises a :class:`~fc_finetune.data.render.RenderedRecord` piece by
piece (the prompt and each assistant turn separately, as they are at inference) and maps
char spans to tokens through the tokenizer's offsets:

* ``labels``: the token id where the LM learns it (assistant turns), else ``-100``;
* ``param_tool``: for the tokens of each call's arguments (the object through the closing
  tag: what heads mode decodes with the argument head), the index of the gold tool (the
  head's ``f``), else ``-1``. A token belongs to the span when its characters overlap it;
* ``decision_pos`` / ``decision_target``: the last token before each decision point and
  its target (tool index, or ``NO_CALL = -1``); ``decision_request``: the ``[start, end)``
  tokens of the request it answers (``[0, 0]``: none);
* ``tool_spans``: ``[start, end)`` token span of each tool's definition in the prompt;
* ``call_spans``: ``[start, end)`` token span of each call written in the record;
* ``request_cover``: for each token of a request that calls answer, the first of those calls
  that takes one of its words as a value (:mod:`~fc_finetune.data.coverage`), else ``-1``;
  ``-100`` at other tokens.

Too-long examples are never cut mid-text: they are dropped, or (``truncation="oldest_turns"``)
their oldest exchanges are removed whole until they fit. :class:`FunctionCallingCollator`
pads a list of encoded examples into a batch.
"""

from __future__ import annotations

import bisect
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import datasets
import torch

from ..errors import DataError
from .contract import IGNORE, NO_POSITION, NO_TOOL, TRUNCATION
from .coverage import first_covering_call, token_words, value_words
from .render import RenderedRecord, render_record

logger = logging.getLogger(__name__)


_INTS = datasets.List(datasets.Value("int64"))
_SPANS = datasets.List(_INTS)
# The columns ``encode_dataset`` writes, typed up front: inferred per batch, a batch whose lists
# are all empty (every record in it dropped, or none with a call) would be typed null, and the
# next batch's integers could not be cast to it.
ENCODED_FEATURES = datasets.Features({
    "input_ids": _INTS, "labels": _INTS, "param_tool": _INTS, "decision_pos": _INTS, "decision_target": _INTS,
    "decision_request": _SPANS, "tool_spans": _SPANS, "call_spans": _SPANS, "request_cover": _INTS,
    "length": datasets.Value("int64"), "status": datasets.Value("string"),
})


def tokenize_pieces(text: str, cuts: list[int], tokenizer) -> tuple[list[int], list[tuple[int, int]]]:
    ids, offsets = [], []
    bounds = [0, *cuts, len(text)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        if a == b:
            continue
        enc = tokenizer(text[a:b], add_special_tokens=False, return_offsets_mapping=True)
        ids += enc["input_ids"]
        offsets += [(s + a, e + a) for s, e in enc["offset_mapping"]]
    return ids, offsets


def overlapping_tokens(starts: list[int], ends: list[int], a: int, b: int) -> range:
    """Indices of tokens whose [start, end) overlaps [a, b) (tokens sorted by position)."""
    first = bisect.bisect_right(ends, a)
    last = bisect.bisect_left(starts, b)
    return range(first, last)


def encode_record(rendered: RenderedRecord, tokenizer) -> dict[str, Any]:
    ids, offsets = tokenize_pieces(rendered.text, rendered.cuts, tokenizer)
    starts = [s for s, _ in offsets]
    ends = [e if e > s else s + 1 for s, e in offsets]  # zero-width tokens still occupy their slot
    n = len(ids)
    labels = [IGNORE] * n
    for a, b in rendered.lm_spans:
        for t in overlapping_tokens(starts, ends, a, b):
            labels[t] = ids[t]
    param_tool = [NO_TOOL] * n
    for a, b, tool in rendered.argument_spans:
        for t in overlapping_tokens(starts, ends, a, b):
            param_tool[t] = tool
    decision_pos, decision_target, decision_request = [], [], []
    for d in rendered.decisions:
        pos = bisect.bisect_right(ends, d.char) - 1  # last token that ends at or before the point
        if pos < 0:
            raise DataError("a decision point falls before the first token")
        decision_pos.append(pos)
        decision_target.append(d.target)
        request = overlapping_tokens(starts, ends, *d.request) if d.request else range(0)
        decision_request.append([request.start, request.stop] if len(request) else [0, 0])
    tool_spans = []
    for a, b in rendered.tool_spans:
        span = overlapping_tokens(starts, ends, a, b)
        tool_spans.append([span.start, span.stop])
    call_spans = []
    for a, b, _ in rendered.call_spans:
        span = overlapping_tokens(starts, ends, a, b)
        call_spans.append([span.start, span.stop])
    return {"input_ids": ids, "labels": labels, "param_tool": param_tool, "decision_pos": decision_pos,
            "decision_target": decision_target, "decision_request": decision_request, "tool_spans": tool_spans,
            "call_spans": call_spans, "request_cover": _request_cover(rendered, offsets, starts, ends),
            "length": n}


def _request_cover(rendered: RenderedRecord, offsets, starts, ends) -> list[int]:
    """``request_cover`` of one record: each request's tokens against the calls that answer it
    (written after it and before the next request)."""
    cover = [IGNORE] * len(offsets)
    requests = sorted({d.request for d in rendered.decisions if d.request})
    for k, (a, b) in enumerate(requests):
        until = requests[k + 1][0] if k + 1 < len(requests) else len(rendered.text)
        answering = [i for i, (s, _, _) in enumerate(rendered.call_spans) if b <= s < until]
        if not answering:
            continue
        tokens = overlapping_tokens(starts, ends, a, b)
        spans = [(offsets[t][0] - a, offsets[t][1] - a) for t in tokens]
        first = first_covering_call(token_words(rendered.text[a:b], spans),
                                    [value_words(rendered.call_arguments[i]) for i in answering])
        for t, c in zip(tokens, first, strict=True):
            cover[t] = c if c < 0 else answering[c]
    return cover


def _drop_oldest_exchange(record: dict) -> dict | None:
    """Remove the first user message and everything up to the next user message."""
    messages = record["messages"]
    first = 1 if messages and messages[0]["role"] == "system" else 0
    users = [i for i, m in enumerate(messages) if m["role"] == "user" and i >= first]
    if len(users) < 2:
        return None
    return {**record, "messages": messages[:first] + messages[users[1]:]}


def _drop_unused_tool(record: dict) -> dict | None:
    """Remove the longest offered tool that no message calls; None when one tool is left or every
    tool is called. The example keeps its calls, their tools and at least one tool to decline."""
    tools = record.get("tools") or []
    called = {call["name"] for m in record["messages"] for call in m.get("tool_calls") or []}
    unused = [i for i, tool in enumerate(tools) if tool["function"]["name"] not in called]
    if len(tools) < 2 or not unused:
        return None
    longest = max(unused, key=lambda i: (len(json.dumps(tools[i], ensure_ascii=False)), -i))
    return {**record, "tools": tools[:longest] + tools[longest + 1:]}


@dataclass
class EncodeStats:
    """What preprocessing did to the data, for the report (nothing is dropped silently)."""

    encoded: int = 0
    shortened: int = 0
    dropped_too_long: int = 0
    failed: Counter = field(default_factory=Counter)
    records_by_shape: Counter = field(default_factory=Counter)  # call_shape -> records (when any is too long)
    too_long_by_shape: Counter = field(default_factory=Counter)  # call_shape -> records dropped as too long

    def report(self) -> str:
        parts = [f"{self.encoded} encoded", f"{self.shortened} shortened to fit max_length",
                 f"{self.dropped_too_long} dropped as too long"]
        parts += [f"{n} failed: {reason}" for reason, n in self.failed.most_common()]
        return ", ".join(parts)


def call_shape(record: dict) -> str:
    """How a record calls: "parallel calls" (an assistant message with several), "calls in several
    messages", "one call" or "no call". Long records are mostly of the first two shapes, so a
    length limit can take most of what a model learns them from."""
    counts = [len(m.get("tool_calls") or []) for m in record.get("messages", []) if m.get("role") == "assistant"]
    if any(n > 1 for n in counts):
        return "parallel calls"
    calling = sum(n > 0 for n in counts)
    return "calls in several messages" if calling > 1 else ("one call" if calling else "no call")


def encode_with_truncation(record: dict, tokenizer, *, max_length: int, truncation: str = "oldest_turns",
                           stats: EncodeStats | None = None, **render_kwargs) -> dict | None:
    """Encode ``record``; shorten or drop it when longer than ``max_length`` tokens."""
    if truncation not in TRUNCATION:
        raise ValueError(f"truncation must be one of {TRUNCATION}, not {truncation!r}")
    stats = stats if stats is not None else EncodeStats()
    current, shortened = record, False
    while True:
        example = encode_record(render_record(current, tokenizer, **render_kwargs), tokenizer)
        if example["length"] <= max_length:
            stats.encoded += 1
            stats.shortened += shortened
            return example
        smaller = None
        if truncation == "unused_tools":
            smaller = _drop_unused_tool(current)
        if smaller is None and truncation != "drop":  # both shortening modes end with oldest exchanges
            smaller = _drop_oldest_exchange(current)
        if smaller is None or not any(m["role"] == "assistant" for m in smaller["messages"]):
            stats.dropped_too_long += 1
            return None
        current, shortened = smaller, True


def encode_dataset(dataset, tokenizer, *, max_length: int, truncation: str = "oldest_turns",
                   num_proc: int | None = None, record_column: str = "record"):
    """Encode a ``datasets.Dataset`` of JSON-encoded records (``record_column``) with ``map``.

    Returns ``(encoded_dataset, EncodeStats)``; examples that could not be encoded are
    removed and counted by reason in the stats.
    """

    def _batch(batch):
        out = {k: [] for k in ENCODED_FEATURES}
        for raw in batch[record_column]:
            stats = EncodeStats()
            try:
                example = encode_with_truncation(json.loads(raw), tokenizer, max_length=max_length,
                                                 truncation=truncation, stats=stats)
                status = "shortened" if stats.shortened else ("ok" if example else "too_long")
            except DataError as exc:
                example, status = None, f"error: {exc.reason}"
            example = example or {"input_ids": [], "labels": [], "param_tool": [], "decision_pos": [],
                                  "decision_target": [], "decision_request": [], "tool_spans": [], "call_spans": [],
                                  "request_cover": [], "length": 0}
            for key, value in example.items():
                out[key].append(value)
            out["status"].append(status)
        return out

    if len(dataset) == 0:  # map would not call _batch and leave no columns at all
        mapped = datasets.Dataset.from_dict({k: [] for k in ENCODED_FEATURES}, features=ENCODED_FEATURES)
    else:
        mapped = dataset.map(_batch, batched=True, batch_size=64, num_proc=num_proc, features=ENCODED_FEATURES,
                             remove_columns=dataset.column_names, desc="Encoding records")
    stats = EncodeStats()
    for status, n in Counter(mapped["status"]).items():
        if status in ("ok", "shortened"):
            stats.encoded += n
            stats.shortened += n if status == "shortened" else 0
        elif status == "too_long":
            stats.dropped_too_long += n
        else:
            stats.failed[status.removeprefix("error: ")] += n
    if stats.dropped_too_long:  # which calls the length limit takes: it falls on some shapes far more
        for raw, status in zip(dataset[record_column], mapped["status"], strict=True):
            shape = call_shape(json.loads(raw))
            stats.records_by_shape[shape] += 1
            stats.too_long_by_shape[shape] += status == "too_long"
    kept = mapped.filter(lambda s: [x in ("ok", "shortened") for x in s], input_columns="status",
                         batched=True, num_proc=num_proc, desc="Dropping unusable records")
    logger.info("Preprocessing: %s", stats.report())
    return kept.remove_columns("status"), stats


@dataclass
class FunctionCallingCollator:
    """Pad encoded examples into a batch of tensors (right padding).

    Returns the keys of :data:`~fc_finetune.data.contract.BATCH_KEYS`, padded as
    :mod:`fc_finetune.data.contract` says.
    """

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        longest = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        n_dec = max(1, max(len(f["decision_pos"]) for f in features))
        n_tools = max(1, max(len(f["tool_spans"]) for f in features))
        n_calls = max(1, max(len(f["call_spans"]) for f in features))
        batch = {
            "input_ids": torch.full((len(features), longest), self.pad_token_id, dtype=torch.long),
            "attention_mask": torch.zeros((len(features), longest), dtype=torch.long),
            "labels": torch.full((len(features), longest), IGNORE, dtype=torch.long),
            "param_tool": torch.full((len(features), longest), NO_TOOL, dtype=torch.long),
            "decision_pos": torch.full((len(features), n_dec), NO_POSITION, dtype=torch.long),
            "decision_target": torch.full((len(features), n_dec), IGNORE, dtype=torch.long),
            "decision_request": torch.zeros((len(features), n_dec, 2), dtype=torch.long),
            "tool_spans": torch.zeros((len(features), n_tools, 2), dtype=torch.long),
            "tool_mask": torch.zeros((len(features), n_tools), dtype=torch.bool),
            "call_spans": torch.zeros((len(features), n_calls, 2), dtype=torch.long),
            "request_cover": torch.full((len(features), longest), IGNORE, dtype=torch.long),
        }
        for i, f in enumerate(features):
            n = len(f["input_ids"])
            batch["input_ids"][i, :n] = torch.as_tensor(f["input_ids"])
            batch["attention_mask"][i, :n] = 1
            batch["labels"][i, :n] = torch.as_tensor(f["labels"])
            batch["param_tool"][i, :n] = torch.as_tensor(f["param_tool"])
            batch["request_cover"][i, :n] = torch.as_tensor(f["request_cover"])
            d = len(f["decision_pos"])
            if d:
                batch["decision_pos"][i, :d] = torch.as_tensor(f["decision_pos"])
                batch["decision_target"][i, :d] = torch.as_tensor(f["decision_target"])
                batch["decision_request"][i, :d] = torch.as_tensor(f["decision_request"])
            t = len(f["tool_spans"])
            if t:
                batch["tool_spans"][i, :t] = torch.as_tensor(f["tool_spans"])
                batch["tool_mask"][i, :t] = True
            c = len(f["call_spans"])
            if c:
                batch["call_spans"][i, :c] = torch.as_tensor(f["call_spans"])
        return batch


__all__ = ["EncodeStats", "FunctionCallingCollator", "encode_dataset", "encode_record",
           "encode_with_truncation"]
