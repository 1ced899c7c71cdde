"""Text mode: generate with the plain LM (adapter only) and parse the calls it writes.

This is what a server without our heads does: ``generate`` on the rendered prompt, then
parse the model family's tool-call format. Parsed calls are never trusted: each is checked
against the offered tools and their JSON schema before anything may run it.

* :func:`generate_turn` -- one assistant turn (greedy); pass ``streamer=`` (e.g. a
  :class:`CallAwareStreamer`) to receive its text as it is decoded;
* :func:`generate_turns` -- many turns, left-padded and batched (one ``generate`` per
  batch), for evaluation; the same texts as :func:`generate_turn` one by one, up to
  floating-point differences of padded attention in low precision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from transformers.generation.streamers import BaseStreamer

from ..data.render import render_prompt
from ..data.schema import call_problems
from ..data.tool_format import FORMATS, ToolCallFormat

logger = logging.getLogger(__name__)


@dataclass
class ParsedTurn:
    text: str  # what the model wrote, special tokens removed
    calls: list[dict] = field(default_factory=list)  # schema-valid calls to offered tools
    problems: list[str] = field(default_factory=list)  # why other calls were rejected
    content: str = ""  # the text outside the calls


def check_calls(calls: list[dict], tools: list[dict]) -> tuple[list[dict], list[str]]:
    """Keep the calls that name an offered tool and fit its schema; explain the others."""
    good, problems = [], []
    for call in calls:
        found = call_problems(call, tools)
        if found:
            problems.append(found[0] if found[0].startswith("unknown function") else f"{call['name']}: {found[0]}")
        else:
            good.append(call)
    return good, problems


def _markers(markers: str | tuple[str, ...] | None) -> tuple[str, ...]:
    found = (markers,) if isinstance(markers, str) else tuple(markers or ())
    return tuple(m.strip() for m in found if m and m.strip())


def first_marker(text: str, markers: str | tuple[str, ...] | None) -> int:
    """Where the first of ``markers`` (call markup) starts in ``text``; -1 when none does."""
    hits = [at for at in (text.find(m) for m in _markers(markers)) if at >= 0]
    return min(hits) if hits else -1


def visible_text(text: str, markers: str | tuple[str, ...] | None) -> str:
    """The answer part of a turn's text: what precedes the first call markup (an opening or
    a stray closing tag: :attr:`ToolCallFormat.markers`), stripped, so an answer never holds
    call markup. A turn cut off in the middle of a tag (``... <tool_``) loses that tail too:
    two or more characters that begin a marker, at the very end.

    >>> visible_text("Let me check. <tool_call>{...}", "<tool_call>"), visible_text("Sure <tool_", "<tool_call>")
    ('Let me check.', 'Sure')
    """
    found = _markers(markers)
    at = first_marker(text, found)
    answer = (text if at < 0 else text[:at]).rstrip()
    cut = max((k for m in found for k in range(2, len(m)) if answer.endswith(m[:k])), default=0)
    return (answer[:-cut] if cut else answer).strip()


def parse_turn(text: str, tools: list[dict], fmt: ToolCallFormat) -> ParsedTurn:
    calls, problems = fmt.parse(text)
    calls, rejected = check_calls(calls, tools)
    return ParsedTurn(text=text, calls=calls, problems=problems + rejected, content=visible_text(text, fmt.markers))


# --------------------------------------------------------------------------- streaming
class TextStreamFilter:
    """Turns the growing decoded text of one turn into the pieces of its answer.

    :meth:`update` takes the whole text decoded so far and passes only what is new and
    certain to ``on_text``: leading and trailing whitespace is held back (the answer is
    stripped), so is any tail that could be the start of the call marker, and nothing is
    passed once the marker appears (call markup is never streamed as answer text). Text
    ending in an incomplete UTF-8 character (U+FFFD) waits for the next token.
    :meth:`finish` flushes what the whole text finally shows, so the pieces add up to
    :func:`visible_text` of the final text (:attr:`emitted`).
    """

    def __init__(self, on_text: Callable[[str], None], markers: str | tuple[str, ...] | None = None):
        self.on_text = on_text
        self.markers = _markers(markers)
        self.emitted = ""
        self.stopped = False  # call markup was seen

    def _safe(self, text: str) -> str:
        at = first_marker(text, self.markers)
        if at >= 0:
            self.stopped = True
            return text[:at]
        hold = max((k for m in self.markers for k in range(min(len(m) - 1, len(text)), 0, -1)
                    if text.endswith(m[:k])), default=0)  # maybe the start of markup: wait
        return text[:-hold] if hold else text

    def _emit(self, target: str) -> None:
        if target.startswith(self.emitted) and len(target) > len(self.emitted):
            piece, self.emitted = target[len(self.emitted):], target
            self.on_text(piece)
        elif not target.startswith(self.emitted):  # decoding was not prefix-stable: never retract
            logger.debug("streamed text %r is not a prefix of %r", self.emitted, target)

    def update(self, text: str) -> None:
        if self.stopped or text.endswith("\ufffd"):
            return
        self._emit(self._safe(text).strip())

    def finish(self, text: str) -> None:
        if not self.stopped:
            self._emit(visible_text(text, self.markers))
        self.stopped = True


class CallAwareStreamer(BaseStreamer):
    """A ``generate`` streamer (batch size 1) that sends the answer text of a turn to
    ``on_text`` as tokens arrive, never call markup (see :class:`TextStreamFilter`).

    The first ``put`` (the prompt) is skipped; :attr:`token_ids` holds the new tokens.
    """

    def __init__(self, tokenizer, on_text: Callable[[str], None], fmt: ToolCallFormat | None = None):
        self.tokenizer = tokenizer
        self.filter = TextStreamFilter(on_text, fmt.markers if fmt else None)
        self.token_ids: list[int] = []
        self._prompt_seen = False

    def put(self, value) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.token_ids += [int(t) for t in value.reshape(-1).tolist()]
        if not self.filter.stopped:
            self.filter.update(self.tokenizer.decode(self.token_ids, skip_special_tokens=True))

    def end(self) -> None:
        self.filter.finish(self.tokenizer.decode(self.token_ids, skip_special_tokens=True))


# --------------------------------------------------------------------------- generation
def markup_token_ids(tokenizer, fmt: ToolCallFormat) -> list[list[int]]:
    """The token sequences of the call markup (as written alone and after a space or a line
    break), for ``generate``'s ``bad_words_ids``: a turn that must answer cannot write them."""
    seqs = {tuple(tokenizer(lead + marker, add_special_tokens=False)["input_ids"])
            for marker in fmt.markers for lead in ("", " ", "\n")}
    return [list(s) for s in sorted(seqs) if s]


def generate_turn(lm, tokenizer, messages: list[dict], tools: list[dict], *, call_format: str = "hermes",
                  max_new_tokens: int = 256, streamer=None, answer_only: bool = False) -> ParsedTurn:
    """One assistant turn in text mode (greedy). ``streamer`` goes to ``generate``.
    ``answer_only``: the turn must answer, so the call markup cannot be generated."""
    prompt = render_prompt(tokenizer, messages, tools)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(lm.device)
    extra = {"bad_words_ids": markup_token_ids(tokenizer, FORMATS[call_format])} if answer_only else {}
    with torch.inference_mode():
        out = lm.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, streamer=streamer,
                          pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, **extra)
    text = tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    return parse_turn(text, tools, FORMATS[call_format])


def generate_turns(lm, tokenizer, items: list[tuple[list[dict], list[dict]]], *, call_format: str = "hermes",
                   max_new_tokens: int = 256, batch_size: int = 8, answer_only: bool = False) -> list[ParsedTurn]:
    """One assistant turn for each ``(messages, tools)`` in ``items``, batched (greedy);
    ``answer_only`` as for :func:`generate_turn`.

    Prompts are sorted by length (less padding), left-padded and generated ``batch_size`` at
    a time, one ``generate`` per batch; the turns come back in the order of ``items``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    fmt = FORMATS[call_format]
    extra = {"bad_words_ids": markup_token_ids(tokenizer, fmt)} if answer_only else {}
    prompts = [render_prompt(tokenizer, messages, tools) for messages, tools in items]
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(items)), key=lambda i: -len(ids[i]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = tokenizer.eos_token_id
    texts: list[str] = [""] * len(items)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        width = max(len(ids[i]) for i in chunk)
        input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, i in enumerate(chunk):  # left padding: every prompt ends where generation starts
            n = len(ids[i])
            input_ids[row, width - n:] = torch.tensor(ids[i], dtype=torch.long)
            mask[row, width - n:] = 1
        with torch.inference_mode():
            out = lm.generate(input_ids=input_ids.to(lm.device), attention_mask=mask.to(lm.device),
                              max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad, eos_token_id=eos,
                              **extra)
        for row, i in enumerate(chunk):
            new = out[row, width:].tolist()
            if eos in new:  # what follows a finished sequence is padding
                new = new[:new.index(eos) + 1]
            texts[i] = tokenizer.decode(new, skip_special_tokens=True).strip()
    return [parse_turn(text, tools, fmt) for text, (_, tools) in zip(texts, items, strict=True)]
