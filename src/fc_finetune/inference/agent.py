"""The agent loop: decide, call registered functions, feed results back, answer.

    >>> agent = FunctionCallingAgent(model, tokenizer, REGISTRY, mode="heads")
    >>> result = agent.chat([{"role": "user", "content": "What is 17 * 23?"}])
    >>> result.response, [c.status for c in result.calls], result.stats.timings

Two modes decode the assistant turns (DESIGN.md, "Inference: the loop"):

* ``heads``: the selector picks the function (or ``NO_CALL``) at each decision point and
  the arguments are decoded under the function's JSON schema with the argument head
  (:mod:`fc_finetune.inference.heads_decoder`);
* ``text``: the LM generates freely and its calls are parsed, as a server would
  (:mod:`fc_finetune.inference.text_decoder`).

Each turn's calls are run by the :class:`~fc_finetune.tools.executor.Executor`: nothing that is not
registered or does not fit its schema runs, and errors, timeouts and unusable results come
back to the model as the tool's result. The loop ends at a turn without calls; once
``max_calls_per_turn`` calls have been made for one user message, the model is asked for
its final answer without calling (``stats.call_limit_hit``). A call identical to one that
already failed is never run twice: the model has its error, so it may correct the arguments,
and a turn that only repeats a failed call is followed by the answer (``stats.repeats_blocked``).

Streaming and events: ``chat(messages, on_text=print_piece, on_event=show)`` passes the
answer's text to ``on_text`` as it is decoded (never call markup) and tells ``on_event`` about
decisions, calls and results as they happen (:data:`EVENTS`). :meth:`FunctionCallingAgent.chat_batch`
runs many conversations, text mode batching their generation.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from ..tools.executor import Executor, ToolResult
from ..tools.registry import FunctionRegistry
from .engine import Turn, TurnEngine

logger = logging.getLogger(__name__)

TIMINGS = ("selector", "arguments", "execution", "response")

TextCallback = Callable[[str], None]
EventCallback = Callable[[dict], None]

#: What ``on_event`` hears, in the order things happen (``type`` and the other keys).
EVENTS = {
    "decision": "function (name, or None: answer without calling), p_no_call (heads mode; None in text mode)",
    "call": "name, arguments: a call about to run",
    "result": "name, status (see executor.STATUSES), content (what the model sees), seconds",
    "problem": "text: a call that could not be parsed, decoded or run (limit), or that heads mode did not make",
    "call_limit": "max_calls: the limit was reached; the model answers without calling",
}


@dataclass
class ChatStats:
    """What the loop did for one user message.

    ``timings`` (seconds): ``selector`` (prompt encoding and decisions), ``arguments``
    (writing calls), ``execution`` (running tools), ``response`` (writing the answer). In
    text mode the model decides and writes in one pass: a turn's generation time goes to
    ``arguments`` when it wrote calls, else to ``response``; ``selector`` stays 0.
    """

    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TIMINGS, 0.0))
    turns: int = 0  # assistant turns decoded
    call_limit_hit: bool = False
    problems: list[str] = field(default_factory=list)  # calls that could not be parsed or decoded
    decisions: list[dict] = field(default_factory=list)  # heads mode: selector output per decision
    new_tokens: int = 0  # heads mode: tokens decoded
    reused_tokens: int = 0  # heads mode: prompt tokens taken from the previous turn's KV cache
    repeats_blocked: int = 0  # identical copies of a call that had already failed, not run again
    failed_calls: set = field(default_factory=set)  # keys of the calls that failed (see _call_key)

    def add_time(self, key: str, seconds: float) -> None:
        self.timings[key] += seconds


@dataclass
class ChatResult:
    messages: list[dict]  # the whole conversation: the input, then the new assistant/tool messages
    calls: list[ToolResult]  # every call the model made, in order, with its outcome
    response: str  # the final answer
    stats: ChatStats
    n_input: int = 0  # how many of ``messages`` were given to chat()

    @property
    def new_messages(self) -> list[dict]:
        return self.messages[self.n_input:]


class FunctionCallingAgent:
    """A model, its tokenizer and a :class:`FunctionRegistry`, in a call-and-answer loop.

    ``model`` is a :class:`~fc_finetune.model.modeling.FunctionCallingModel` (heads mode needs its
    selector head; text mode also takes a plain causal LM). ``timeout_s`` bounds each tool
    call; ``max_new_tokens`` each generation (an answer, or one call's arguments).
    """

    def __init__(self, model, tokenizer, registry: FunctionRegistry, *, mode: str = "heads",
                 max_calls_per_turn: int = 4, timeout_s: float = 10, max_new_tokens: int = 256,
                 call_format: str | None = None):
        if max_calls_per_turn < 0:
            raise ValueError(f"max_calls_per_turn must be >= 0, got {max_calls_per_turn}")
        self.engine = TurnEngine(model, tokenizer, mode=mode, call_format=call_format, max_new_tokens=max_new_tokens)
        self.model, self.tokenizer, self.registry, self.mode = model, tokenizer, registry, mode
        self.max_calls_per_turn, self.max_new_tokens = max_calls_per_turn, max_new_tokens
        self.call_format, self.fmt, self.lm = self.engine.call_format, self.engine.fmt, self.engine.lm
        self.executor = Executor(registry, timeout_s=timeout_s)

    @property
    def tools(self) -> list[dict]:
        return self.registry.tools()

    def chat(self, messages: list[dict], *, on_text: TextCallback | None = None,
             on_event: EventCallback | None = None) -> ChatResult:
        """Answer the conversation's last message, calling tools as the model decides.

        ``on_text(piece)`` receives the answer's text as it is decoded (greedy, so the result
        is the same as without it); the pieces add up to ``result.response``. Call markup is
        never streamed. One exception, text mode only: a turn that writes a few words *before*
        its calls ("Let me check.") has streamed them by the time the calls appear; they are
        that turn's ``content`` and are followed by its ``call`` events, so the pieces after
        the last ``result`` event are the answer. ``on_event(event)`` hears what the loop does
        as it happens (:data:`EVENTS`): decisions, calls before they run, results after.
        """
        conversation = [dict(m) for m in messages]
        result = ChatResult(conversation, [], "", ChatStats(), n_input=len(conversation))
        with self._eval_mode():
            while True:
                calls, content = self._turn(conversation, result.stats, self._allowed(result), on_text, on_event)
                if self._step(calls, content, conversation, result, on_event):
                    return result

    def chat_batch(self, conversations: list[list[dict]], *, batch_size: int = 8) -> list[ChatResult]:
        """:meth:`chat` for many conversations, with the same results.

        Text mode steps every unfinished conversation one assistant turn at a time, all
        of them together through :func:`~fc_finetune.inference.text_decoder.generate_turns` (left-padded
        batches of ``batch_size``); a batch's generation time is shared out equally among
        its conversations' ``timings``. Heads mode decodes one conversation after the other:
        its decode loop is per sequence (each call has its own grammar state and forced text).
        """
        if self.mode == "heads":
            return [self.chat(messages) for messages in conversations]
        results = [ChatResult([dict(m) for m in messages], [], "", ChatStats(), n_input=len(messages))
                   for messages in conversations]
        active = list(range(len(results)))
        with self._eval_mode():
            while active:
                # conversations that must answer are generated apart: their turns cannot write markup
                by_index = {}
                for answer_only in (False, True):
                    group = [i for i in active if (self._allowed(results[i]) == 0) == answer_only]
                    if group:
                        done = self.engine.turns([(results[i].messages, self.tools) for i in group],
                                                 max_calls=0 if answer_only else self.max_calls_per_turn,
                                                 batch_size=batch_size)
                        by_index.update(zip(group, done, strict=True))
                turns = [by_index[i] for i in active]
                still = []
                for i, turn in zip(active, turns, strict=True):
                    result = results[i]
                    calls, content = self._text_calls(turn, result.stats, self._allowed(result), None)
                    if not self._step(calls, content, result.messages, result, None):
                        still.append(i)
                active = still
        return results

    @contextmanager
    def _eval_mode(self):
        module = self.model if isinstance(self.model, torch.nn.Module) else self.lm
        was_training = module.training
        module.eval()
        try:
            yield
        finally:
            module.train(was_training)

    def _allowed(self, result: ChatResult) -> int:
        """How many calls the next turn may make: none once the limit is reached, or once the
        model repeated a call that had already failed (it has seen the error: now it answers)."""
        if result.stats.repeats_blocked:
            return 0
        return max(self.max_calls_per_turn - len(result.calls), 0)

    def _step(self, calls: list[dict], content: str, conversation: list[dict], result: ChatResult,
              on_event: EventCallback | None) -> bool:
        """Record one decoded turn: the answer (True: done), or its calls run and their results added.

        A call identical (name and arguments) to one that already failed for this message is
        not run again: the model saw that error as the tool's result. When a turn holds only
        such repeats, nothing runs and the next turn is the answer, without calls."""
        result.stats.turns += 1
        repeats = [c for c in calls if _call_key(c) in result.stats.failed_calls]
        if repeats:
            for call in repeats:
                problem = f"{call['name']} was called again with the same arguments after it failed; not run again"
                result.stats.problems.append(problem)
                _tell(on_event, {"type": "problem", "text": problem})
            calls = [c for c in calls if _call_key(c) not in result.stats.failed_calls]
            if not calls:
                result.stats.repeats_blocked += len(repeats)
                return False
        if not calls:
            result.response = content
            conversation.append({"role": "assistant", "content": content})
            return True
        self._run(calls, content, conversation, result, on_event)
        if len(result.calls) >= self.max_calls_per_turn:
            result.stats.call_limit_hit = True
            logger.info("call limit (%d) reached; asking for the final answer", self.max_calls_per_turn)
            _tell(on_event, {"type": "call_limit", "max_calls": self.max_calls_per_turn})
        return False

    # -- one assistant turn --------------------------------------------------------------
    def _turn(self, conversation: list[dict], stats: ChatStats, allowed: int, on_text: TextCallback | None = None,
              on_event: EventCallback | None = None) -> tuple[list[dict], str]:
        """(calls, content) of the next assistant turn; no calls when ``allowed`` is 0."""
        turn = self.engine.turn(conversation, self.tools, max_calls=allowed, on_text=on_text, on_event=on_event)
        if self.mode == "heads":
            for key, seconds in turn.timings.items():
                stats.add_time(key, seconds)
            stats.decisions += turn.decisions
            stats.problems += turn.problems
            stats.new_tokens += turn.new_tokens
            stats.reused_tokens += turn.reused_tokens
            return turn.calls, turn.content
        return self._text_calls(turn, stats, allowed, on_event)

    def _text_calls(self, turn: Turn, stats: ChatStats, allowed: int,
                    on_event: EventCallback | None) -> tuple[list[dict], str]:
        # Every call the model wrote goes to the executor, which refuses unknown functions and
        # invalid arguments without running anything: the model sees why, as the tool result.
        calls, problems = list(turn.calls), list(turn.parse_problems)
        if allowed <= 0:
            if calls:
                problems.append(f"{len(calls)} call(s) written after the call limit were not run")
            calls = []
        elif len(calls) > allowed:
            problems.append(f"{len(calls) - allowed} call(s) beyond the limit of "
                            f"{self.max_calls_per_turn} were not run")
            calls = calls[:allowed]
        stats.problems += problems
        stats.add_time("arguments" if calls else "response", turn.seconds)
        for problem in problems:
            _tell(on_event, {"type": "problem", "text": problem})
        for call in calls or [None]:
            _tell(on_event, {"type": "decision", "function": call and call["name"], "p_no_call": None})
        return calls, turn.content  # the text outside calls

    def _run(self, calls: list[dict], content: str, conversation: list[dict], result: ChatResult,
             on_event: EventCallback | None = None) -> None:
        conversation.append({"role": "assistant", "content": content,
                             "tool_calls": [{"name": c["name"], "arguments": c["arguments"]} for c in calls]})
        for call in calls:
            _tell(on_event, {"type": "call", "name": call["name"], "arguments": call["arguments"]})
            start = time.perf_counter()
            outcome = self.executor.execute(call)
            seconds = time.perf_counter() - start
            result.stats.add_time("execution", seconds)
            result.calls.append(outcome)
            if outcome.status != "ok":
                result.stats.failed_calls.add(_call_key(call))
            conversation.append(outcome.message())
            _tell(on_event, {"type": "result", "name": outcome.name, "status": outcome.status,
                             "content": outcome.content, "seconds": seconds})


def _call_key(call: dict) -> str:
    """A call's identity: its name and its arguments, keys sorted."""
    return json.dumps([call.get("name"), call.get("arguments")], sort_keys=True, default=str)


def _tell(on_event: EventCallback | None, event: dict) -> None:
    if on_event is not None:
        on_event(event)
