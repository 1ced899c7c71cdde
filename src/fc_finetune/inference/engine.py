"""The one turn engine: decide heads vs text once, and decode one assistant turn.

    >>> engine = TurnEngine(model, tokenizer, mode="heads")
    >>> turn = engine.turn(messages, tools, max_calls=4)
    >>> turn.calls, turn.content, turn.output

The agent loop (:mod:`fc_finetune.inference.agent`) and the evaluation runner both decode
through it, so a mode behaves the same in chat and in an evaluation:

* ``heads``: :class:`~fc_finetune.inference.heads_decoder.HeadsDecoder` (the selector at each
  decision point, arguments under the schema with the argument head); every call it returns
  fits its schema;
* ``text``: ``generate``, then the model family's call format is parsed, as a server
  without the heads would. ``calls`` are the calls *as written* (the executor and the
  evaluation judge them; nothing is filtered here), ``parse_problems`` what did not parse.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..data.tool_format import FORMATS, ToolCallFormat
from .heads_decoder import HeadsDecoder
from .text_decoder import CallAwareStreamer, generate_turn, generate_turns, visible_text

MODES = ("heads", "text")


@dataclass
class Turn:
    """One decoded assistant turn, in either mode."""

    calls: list[dict] = field(default_factory=list)  # {"name", "arguments"}
    content: str = ""  # the text outside the calls (the answer of a turn without calls)
    output: str = ""  # what the model wrote (heads mode: the calls rendered in the family's format)
    parse_problems: list[str] = field(default_factory=list)  # text mode: call markup that did not parse
    problems: list[str] = field(default_factory=list)  # heads mode: decoding problems
    decisions: list[dict] = field(default_factory=list)  # heads mode: {"p_no_call", "choice", "probs", "logits", ...}
    timings: dict[str, float] = field(default_factory=dict)  # heads mode: selector, arguments, response
    seconds: float = 0.0
    new_tokens: int = 0
    reused_tokens: int = 0


class TurnEngine:
    """A model and its tokenizer, decoding assistant turns in ``mode`` (``heads`` or ``text``).

    ``model`` is a :class:`~fc_finetune.model.modeling.FunctionCallingModel` (heads mode needs
    its selector head; text mode also takes a plain causal LM)."""

    def __init__(self, model, tokenizer, *, mode: str = "heads", call_format: str | None = None,
                 max_new_tokens: int = 256):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.model, self.tokenizer, self.mode, self.max_new_tokens = model, tokenizer, mode, max_new_tokens
        self.call_format = call_format or getattr(model, "call_format", "hermes")
        if self.call_format not in FORMATS:
            raise ValueError(f"unknown call format {self.call_format!r}; known: {', '.join(FORMATS)}")
        self.fmt: ToolCallFormat = FORMATS[self.call_format]
        self.lm = getattr(model, "lm", model)
        self.heads: HeadsDecoder | None = None
        if mode == "heads":
            if not hasattr(model, "heads"):
                raise ValueError("heads mode needs a FunctionCallingModel; use mode='text' for a plain LM")
            self.heads = HeadsDecoder(model, tokenizer, self.fmt, max_new_tokens=max_new_tokens)

    def turn(self, messages: list[dict], tools: list[dict], *, max_calls: int,
             on_text: Callable[[str], None] | None = None,
             on_event: Callable[[dict], None] | None = None) -> Turn:
        """Decode the next assistant turn of ``messages`` with at most ``max_calls`` calls (0:
        answer without calling; text mode then cannot generate the call markup; otherwise
        text mode writes what it writes and the caller applies the limit). ``on_text`` receives the answer as it is decoded;
        ``on_event`` (heads mode) each selector decision and decoding problem."""
        start = time.perf_counter()
        if self.heads is not None:
            done = self.heads.turn(messages, tools, max_calls=max_calls, on_text=on_text, on_event=on_event)
            output = self.fmt.call_separator.join(self.fmt.render_call(c["name"], c["arguments"])
                                                  for c in done.calls) or done.content
            return Turn(calls=done.calls, content=done.content, output=output, problems=list(done.problems),
                        decisions=done.decisions, timings=dict(done.timings), seconds=time.perf_counter() - start,
                        new_tokens=done.new_tokens, reused_tokens=done.reused_tokens)
        extra = {} if on_text is None else {"streamer": CallAwareStreamer(self.tokenizer, on_text, self.fmt)}
        parsed = generate_turn(self.lm, self.tokenizer, messages, tools, call_format=self.call_format,
                               max_new_tokens=self.max_new_tokens, answer_only=max_calls == 0, **extra)
        return self.parse(parsed.text, time.perf_counter() - start)

    def turns(self, items: list[tuple[list[dict], list[dict]]], *, max_calls: int,
              batch_size: int = 8) -> list[Turn]:
        """One turn for each ``(messages, tools)``, in order: text mode generates ``batch_size``
        prompts at a time (left-padded, one ``generate`` each) and shares a batch's time out
        equally; heads mode decodes one after another (each call has its own grammar)."""
        if self.heads is not None:
            return [self.turn(m, t, max_calls=max_calls) for m, t in items]
        out = []
        size = max(1, batch_size)
        for begin in range(0, len(items), size):
            chunk = items[begin:begin + size]
            start = time.perf_counter()
            parsed = generate_turns(self.lm, self.tokenizer, chunk, call_format=self.call_format,
                                    max_new_tokens=self.max_new_tokens, batch_size=size, answer_only=max_calls == 0)
            share = (time.perf_counter() - start) / len(chunk)
            out += [self.parse(p.text, share) for p in parsed]
        return out

    def parse(self, text: str, seconds: float = 0.0) -> Turn:
        """A text-mode turn from what the model wrote: the calls as written, and what did not parse."""
        calls, problems = self.fmt.parse(text)
        opened = text.count(self.fmt.call_open.strip())
        if opened > len(calls) + len(problems):
            problems.append(f"{opened - len(calls) - len(problems)} call(s) opened with "
                            f"{self.fmt.call_open.strip()!r} but never closed")
        return Turn(calls=calls, content=visible_text(text, self.fmt.markers), output=text,
                    parse_problems=problems, seconds=seconds)
