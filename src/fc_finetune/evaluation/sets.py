"""Evaluation sets: the examples a model is scored on, from a file or from BFCL.

A *spec* names the set:

* ``FILE``: any file (or dataset folder) :func:`fc_finetune.data.io.load_records` reads,
  converted to canonical records. The prompt is the conversation up to the FIRST assistant
  turn and the reference is that turn (its ``tool_calls``, or none: answer directly). When
  that turn called tools and the record goes on to a final answer after the tool results,
  the answer is kept as ``reference_response`` with the gold history up to it (calls and
  tool outputs), so the response can be scored teacher-forced. Records that end with the
  user's message (BFCL rows converted to canonical) take their reference from
  ``meta.possible_answers``. The category is ``meta.category``, else ``meta.kind`` (the
  synthetic mix: single, parallel, ...), else ``"file"``.
* ``bfcl:CAT[,CAT...]``: BFCL categories from the cache (``fc-finetune data fetch-bfcl``;
  the pinned version is fetched on first use), questions joined with their possible answers. ``bfcl:summary`` stands
  for :data:`BFCL_SUMMARY`. Multi-turn and agentic categories need BFCL's execution
  environment and are refused.

``limit`` keeps the first N examples of each category (file order: deterministic).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..data.formats.bfcl import attach_possible_answers, to_canonical
from ..data.io import load_records
from ..errors import DataError, DataFetchError, FcFinetuneError
from ..utils import safe_json
from .bfcl_fetch import BFCL_VERSION, bfcl_dir, fetch_bfcl, load_index

logger = logging.getLogger(__name__)

BFCL_PREFIX = "bfcl:"
BFCL_SUMMARY = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
_UNSUPPORTED = ("multi_turn", "memory", "web_search", "format_sensitivity")


@dataclass
class EvalExample:
    """One prompt to answer and what a right answer is."""

    id: str
    category: str
    messages: list[dict]  # the prompt: up to (not including) the assistant turn to produce
    tools: list[dict]
    possible_answers: list[dict] | None = None  # BFCL ground truth; None: see `reference`
    reference: dict | None = None  # the gold assistant turn (file sets)
    expect: str = "answers"  # "answers" (match the reference), "no_call", "any_call" (BFCL relevance)
    reference_response: str | None = None  # the final answer after the tool results (file sets)
    response_history: list[dict] | None = None  # the gold conversation up to that answer
    source: str = ""

    @property
    def should_call(self) -> bool:
        if self.expect != "answers":
            return self.expect == "any_call"
        if self.reference is not None:
            return bool(self.reference.get("tool_calls"))
        return bool(self.possible_answers)


@dataclass
class EvalSet:
    spec: str
    examples: list[EvalExample] = field(default_factory=list)
    kind: str = "file"  # "file" or "bfcl"
    categories: list[str] = field(default_factory=list)  # in the order they were asked for / met
    skipped: dict[str, int] = field(default_factory=dict)  # category -> examples beyond the limit


def is_bfcl_spec(spec: str) -> bool:
    return str(spec).startswith(BFCL_PREFIX)


def parse_bfcl_spec(spec: str) -> list[str]:
    """``bfcl:summary`` or ``bfcl:simple_python,multiple`` -> the category names."""
    names = [c.strip() for c in str(spec)[len(BFCL_PREFIX):].split(",") if c.strip()]
    if not names:
        raise FcFinetuneError(f"'{spec}' names no BFCL category; use e.g. bfcl:simple_python,multiple "
                              f"or bfcl:summary ({','.join(BFCL_SUMMARY)}).")
    out: list[str] = []
    for name in names:
        for cat in (BFCL_SUMMARY if name == "summary" else (name,)):
            if cat not in out:
                out.append(cat)
    return out


def load_eval_set(spec: str, *, limit: int | None = None, version: str | None = None) -> EvalSet:
    """The examples of ``spec`` (a file or ``bfcl:CAT[,CAT...]``), the first ``limit`` per category."""
    if limit is not None and limit < 1:
        raise FcFinetuneError(f"--limit must be at least 1, got {limit}.")
    if is_bfcl_spec(spec):
        return _load_bfcl(str(spec), limit=limit, version=version)
    return _load_file(str(spec), limit=limit)


# ------------------------------------------------------------------------- files
def _category(record: dict) -> str:
    meta = record.get("meta") or {}
    for key in ("category", "kind"):
        if isinstance(meta.get(key), str) and meta[key]:
            return meta[key]
    return "file"


def _final_answer(messages: list[dict], first: int) -> int | None:
    """Index of the answer after the tool results of the turn at ``first``, if there is one."""
    for i in range(first + 1, len(messages)):
        role = messages[i]["role"]
        if role == "user":
            return None
        if role == "assistant" and not messages[i].get("tool_calls") and messages[i - 1]["role"] == "tool":
            return i
    return None


def example_from_record(record: dict, *, source: str, index: int) -> EvalExample:
    """The evaluation example of one canonical record (see the module docstring)."""
    messages, meta = record["messages"], record.get("meta") or {}
    ex_id = str(meta.get("id", f"{Path(source).stem}-{index}"))
    category = _category(record)
    first = next((i for i, m in enumerate(messages) if m["role"] == "assistant"), None)
    if first is None:
        answers = meta.get("possible_answers")
        irrelevant = "irrelevance" in category
        if answers is None and not irrelevant and category != "live_relevance":
            raise DataError("no assistant turn to use as the reference, and no meta.possible_answers "
                            "(for BFCL question files use --data bfcl:CATEGORY, which joins the answers)",
                            source=source, index=index, field="messages")
        expect = "no_call" if irrelevant else "any_call" if category == "live_relevance" else "answers"
        return EvalExample(ex_id, category, list(messages), record["tools"], possible_answers=answers,
                           expect=expect, source=source)
    if first == 0 or messages[first - 1]["role"] not in ("user", "tool"):
        raise DataError("the first assistant turn follows no user message", source=source, index=index,
                        field=f"messages[{first}]")
    reference = {k: v for k, v in messages[first].items() if k in ("role", "content", "tool_calls")}
    example = EvalExample(ex_id, category, list(messages[:first]), record["tools"], reference=reference,
                          source=source)
    if reference.get("tool_calls"):
        end = _final_answer(messages, first)
        if end is not None:
            example.reference_response = messages[end].get("content") or ""
            example.response_history = list(messages[:end])
    return example


def _take(examples: list[EvalExample], limit: int | None) -> tuple[list[EvalExample], list[str], dict[str, int]]:
    kept, counts, skipped = [], {}, {}
    for ex in examples:
        n = counts.get(ex.category, 0)
        if limit is not None and n >= limit:
            skipped[ex.category] = skipped.get(ex.category, 0) + 1
            continue
        counts[ex.category] = n + 1
        kept.append(ex)
    return kept, list(counts), skipped


def _load_file(spec: str, *, limit: int | None) -> EvalSet:
    result = load_records(spec, require_final_assistant=False)
    if not result.records:
        raise DataError("holds no records to evaluate on", source=spec)
    examples = [example_from_record(r, source=spec, index=k) for k, r in enumerate(result.records)]
    kept, categories, skipped = _take(examples, limit)
    logger.info("%s: %d examples in %d categories (%d beyond --limit left out)", spec, len(kept),
                len(categories), sum(skipped.values()))
    return EvalSet(spec=spec, examples=kept, kind="file", categories=categories, skipped=skipped)


# -------------------------------------------------------------------------- BFCL
def _read_jsonl(path: Path, limit: int | None) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(safe_json.loads(line))
            except safe_json.JSONLimitError as exc:
                raise DataError(f"line {lineno}: {exc}", source=str(path)) from None
            except json.JSONDecodeError as exc:
                raise DataError(f"malformed JSON on line {lineno}: {exc.msg}", source=str(path)) from None
            if limit is not None and len(rows) >= limit:
                break
    return rows


def _load_bfcl(spec: str, *, limit: int | None, version: str | None) -> EvalSet:
    version = version or BFCL_VERSION
    categories = parse_bfcl_spec(spec)
    for cat in categories:
        if cat.startswith(_UNSUPPORTED):
            raise FcFinetuneError(f"BFCL category '{cat}' is multi-turn or agentic: it needs BFCL's execution "
                                  "environment and is not supported. Use single-turn categories such as "
                                  f"{', '.join(BFCL_SUMMARY)} (or bfcl:summary).")
    try:
        index = load_index(version)
    except DataFetchError as exc:
        if version != BFCL_VERSION:
            raise DataFetchError(f"{exc} (needed for --data {spec})") from None
        # The pinned version is fetched on first use, as models are (one pip download, 2 MB).
        logger.info("BFCL %s is not in the cache yet: fetching it (one time)", version)
        try:
            fetch_bfcl(version=version)
        except DataFetchError as failed:
            raise DataFetchError(f"BFCL {version} is needed for --data {spec} and fetching it failed: {failed} "
                                 "Or run `fc-finetune data fetch-bfcl --wheel PATH` with the wheel.") from None
        index = load_index(version)
    known = index.get("categories", {})
    missing = [c for c in categories if c not in known]
    if missing:
        raise FcFinetuneError(f"unknown BFCL categor{'y' if len(missing) == 1 else 'ies'} "
                              f"{', '.join(missing)}; the fetched data has: {', '.join(sorted(known))}.")
    root = bfcl_dir(version)
    examples: list[EvalExample] = []
    skipped: dict[str, int] = {}
    for cat in categories:
        entry = known[cat]
        question_file = root / entry["file"]
        if not question_file.is_file():
            raise DataFetchError(f"{question_file} is missing from the BFCL cache; run "
                                 "`fc-finetune data fetch-bfcl --force`.")
        rows = _read_jsonl(question_file, limit)
        records = []
        for k, row in enumerate(rows):
            try:
                records.append(to_canonical(row))
            except DataError as exc:
                raise exc.located(source=str(question_file), index=k) from None
        answer_file = root / "possible_answer" / entry["file"]
        if answer_file.is_file():
            records = attach_possible_answers(records, _read_jsonl(answer_file, None))
        elif "irrelevance" not in cat and cat != "live_relevance":
            raise DataFetchError(f"{answer_file} is missing: BFCL category '{cat}' has no possible answers "
                                 "in the cache; run `fc-finetune data fetch-bfcl --force`.")
        for k, record in enumerate(records):
            record["meta"]["category"] = cat
            examples.append(example_from_record(record, source=str(question_file), index=k))
        if limit is not None and entry.get("questions", 0) > limit:
            skipped[cat] = entry["questions"] - limit
    logger.info("BFCL %s: %d examples from %s", version, len(examples), ", ".join(categories))
    return EvalSet(spec=spec, examples=examples, kind="bfcl", categories=categories, skipped=skipped)
