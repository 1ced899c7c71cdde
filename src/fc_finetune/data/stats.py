"""What a dataset of canonical records holds: calls, parallel calls, turns, tools, lengths.

>>> from fc_finetune.data.stats import dataset_stats
>>> record = {"tools": [], "messages": [{"role": "user", "content": "Hi"},
...                                     {"role": "assistant", "content": "Hello!"}]}
>>> stats = dataset_stats([record, record])
>>> stats.records, stats.no_call_turns, stats.tools_per_record.median
(2, 2, 0)
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .render import render_record
from .templates import prepare_tokenizer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summary:
    """min / median / p95 / max of a list of numbers (nearest rank; all 0 when empty)."""

    min: float = 0
    median: float = 0
    p95: float = 0
    max: float = 0
    n: int = 0

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary:
        ordered = sorted(values)
        if not ordered:
            return cls()

        def rank(q: float) -> float:
            return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered) - 1e-9) - 1))]

        mid = len(ordered) // 2
        median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        if isinstance(median, float) and median.is_integer() and all(isinstance(v, int) for v in ordered[:1]):
            median = int(median)  # 2 tools, not 2.0
        return cls(ordered[0], median, rank(0.95), ordered[-1], len(ordered))

    def __str__(self) -> str:
        def num(x: float) -> str:
            return f"{x:g}" if isinstance(x, float) else str(x)

        return f"min {num(self.min)}, median {num(self.median)}, p95 {num(self.p95)}, max {num(self.max)}"


@dataclass
class DatasetStats:
    records: int = 0
    assistant_turns: int = 0
    calls: int = 0
    call_turns: int = 0            # assistant turns with at least one call
    parallel_turns: int = 0        # assistant turns with more than one call
    no_call_turns: int = 0         # assistant turns answering in text only
    multi_turn_records: int = 0    # records with more than one user message
    records_with_calls: int = 0
    tools_per_record: Summary = field(default_factory=Summary)
    calls_per_tool: Counter[str] = field(default_factory=Counter)
    token_lengths: Summary | None = None

    def report(self, *, top_tools: int = 10) -> str:
        """A human-readable table."""
        lines = [
            f"records                 {self.records}",
            f"  with calls            {self.records_with_calls}",
            f"  multi-turn            {self.multi_turn_records}",
            f"assistant turns         {self.assistant_turns}",
            f"  with calls            {self.call_turns}",
            f"  parallel (>1 call)    {self.parallel_turns}",
            f"  no call (text only)   {self.no_call_turns}",
            f"calls                   {self.calls} ({len(self.calls_per_tool)} distinct functions)",
            f"tools per record        {self.tools_per_record}",
        ]
        if self.token_lengths is not None:
            lines.append(f"tokens per record       {self.token_lengths}")
        if self.calls_per_tool and top_tools:
            common = ", ".join(f"{name} {n}" for name, n in self.calls_per_tool.most_common(top_tools))
            lines.append(f"most called             {common}")
        return "\n".join(lines)


def dataset_stats(records: Iterable[dict], *, token_length: Callable[[dict], int] | None = None) -> DatasetStats:
    """Count calls and turns of (validated) records; ``token_length(record)`` adds lengths."""
    stats, n_tools, lengths = DatasetStats(), [], []
    for record in records:
        stats.records += 1
        n_tools.append(len(record.get("tools") or []))
        users, record_calls = 0, 0
        for msg in record["messages"]:
            if msg["role"] == "user":
                users += 1
            if msg["role"] != "assistant":
                continue
            stats.assistant_turns += 1
            calls = msg.get("tool_calls") or []
            record_calls += len(calls)
            stats.call_turns += bool(calls)
            stats.parallel_turns += len(calls) > 1
            stats.no_call_turns += not calls
            stats.calls_per_tool.update(call["name"] for call in calls)
        stats.calls += record_calls
        stats.records_with_calls += record_calls > 0
        stats.multi_turn_records += users > 1
        if token_length is not None:
            lengths.append(token_length(record))
    stats.tools_per_record = Summary.of(n_tools)
    if token_length is not None:
        stats.token_lengths = Summary.of(lengths)
    return stats


def rendered_token_length(tokenizer) -> Callable[[dict], int]:
    """``record -> number of tokens`` of the record rendered as training renders it.

    The tokenizer gets a tool-aware chat template first when its own ignores tools.
    """
    call_format = prepare_tokenizer(tokenizer)

    def length(record: dict) -> int:
        text = render_record(record, tokenizer, fmt=call_format).text
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return length
