"""Heads mode: one assistant turn decoded with the selector and the argument head.

The decode loop of DESIGN.md ("Inference: the loop"), with a KV cache and
``output_hidden_states`` at every step (which ``generate`` would not expose):

1. render the conversation, tokenise it as training does (pieces cut at assistant turns),
   one forward pass: the last hidden state ``h`` (the decision point), the tools'
   embeddings ``e_f`` pooled over their definitions in the prompt, and the request match
   (the latest user message against each definition, see ``model.heads``);
2. selector: ``P(NO_CALL)`` against the best tool, ``sigmoid((s_NO_CALL - max_f s_f) /
   selector_temperature)`` (``model.heads.no_call_probability``; the softmax's ``P(NO_CALL)`` for
   folders calibrated before that rule), ``>= no_call_threshold`` (0.5 when unset) ends the calls;
   once calls have been made since the request (in this turn or the ones before),
   ``more_calls_threshold`` takes its place when set; the call goes to the softmax's best tool;
3. a call: the text up to ``"arguments":`` is forced, then the arguments object is decoded
   under the tool's JSON schema, each step's logits from the argument head
   ``param_logits(h_t, e_f)``; the grammar also covers the space before the object and
   ``}`` + ``call_close`` after it (tokens merged across those boundaries stay reachable).
   Inside argument strings a copy bias (``copy_bias``, :class:`~.constrained.CopyBias`) adds
   ``COPY_BIAS`` to the logit of the allowed token, among the best, that goes on copying this
   turn's messages (the latest user message and the tool results after it) as the tokenizer
   writes them, and to a quote that opens or closes such a copy: a small model's close call
   between "the living room" it saw in training and "the dining room" the user said goes to the
   user's words. Numbers likewise: once the model has begun a number, a token that writes on
   towards a number the turn's messages say, or ends it where it is one, gains
   (:func:`~.constrained.request_numbers`: "$100,000" is 100000, "three" 3, "5%" 5 and 0.05),
   so "$400,000" is not written 400 and "the next three hours" not 30. A token that writes the call's end inside a string closes the string
   (:meth:`~.constrained.ConstrainedDecoder.select`).
   The first call since the request must take a word of the conversation as a value
   (``drop_ungrounded_calls``; ``data.coverage``'s words, the numbers inside words and the
   numbers said in words, flags aside; a call without other values passes): one whose every
   value was made up serves nothing asked, so it is not made and the turn answers, as it
   would after ``NO_CALL`` (a small model offered one unrelated tool often calls it with
   invented values rather than decline). Nor is one whose required argument (not a flag, not an
   enum's choice) takes no word of the conversation, nor shortens one ("ft" for "feet"; the
   rule is ``drop_made_up_required``): the function cannot do without that value and the
   request never gave it, so the call answers another question ("annual_interest_rate": 5 for
   "the prime factors of 100"); a required number must be one the conversation says, not
   only share its digits (5.0555 for "5"). Nor is one that writes a number in more arguments
   than the conversation says it (``drop_reused_numbers``: ``"weight": 150, "height": 150``
   for "a price of 150"; "4 ft x 4 ft" says 4 twice): a small model fills a function it does not
   fit with the one number it found. These are checked on the call as finally written (the bias may
   copy a value the model half knew). That call is written without the copy bias, which would
   make any call look grounded; when it passes and the bias would have written it
   differently, it is written again with the bias from the same cache position. An optional argument whose value takes no
   word of the conversation (``drop_made_up_options``; not a flag, not an enum's choice) is left
   out of the call, which is written again without it from the same cache position (where the
   cache can be cut back: not for sliding-window or recurrent caches, whose calls stay as
   decoded): a small model fills ``"guests": 2`` or ``"label": "Alarm time"`` nobody asked
   for, where leaving it out keeps the function's default;
4. the state after ``call_close`` is the next decision point (another call after
   ``call_separator``, or ``NO_CALL``: end of turn). A call identical to one already made in
   this turn (same name and arguments) would only repeat its result: it is decoded again
   with a word it repeated banned where the model chose it (the token that began the word in
   an argument value, and every token that starts spelling the same word there), the least
   sure first (the smallest margin over the next allowed token), at most
   ``MAX_REPEAT_RETRIES`` times, until it takes a value of the request that no call has taken
   yet, as a new value: not an earlier call's value of the same argument with words added
   (``"y = x^2"`` after ``"x^2"`` only rewords it). A ban that led to a call taking nothing new
   is lifted before the next word is tried; one that led to another repeat stays. The selector
   asked for another call, and "for Paris and London" must not call Paris twice; without a new
   value the repeat is dropped. ``NO_CALL`` after a call of this turn, while request words
   the value tag marks are untaken by any call (``probe_untaken_values``), tries one more
   call of the selector's best tool, kept only when it takes one of them as a new value
   (dropped otherwise): the selector often stops after the first of several values asked for.
   A call dropped for adding nothing (a repeat, or such a probe) is followed, from where it
   began, by the same decision with the tools this turn called taken out
   (``fallback_to_other_tool``): when it calls (its ``P(NO_CALL)`` under the threshold), one call
   of its best tool, kept on the same terms: "a rectangle ...; also a circle of radius 5" goes
   back to the rectangle's tool after its first call; otherwise the calls end. The request
   match of later decisions discounts what the calls made since the request already cover
   (``match_coverage``), from their match-layer states, and the request's value tokens that no
   call has taken yet lower NO_CALL (``match_pending``: the words of the calls' argument
   values against the request's, the rule training reads);
5. a turn that starts with ``NO_CALL`` is a plain answer: greedy decoding with the LM,
   its text passed to ``on_text`` piece by piece as it is decoded. An answer that follows tool
   results is decoded contrastively (``answer_contrast``, context-aware decoding, Shi et al.
   2023): each token's score is ``(1 + a) log p(t | results) - a log p(t | results emptied)``
   over the tokens within a factor ``ANSWER_PLAUSIBILITY`` of the most likely one, so what the
   results make likelier (their values) wins over what any answer would say (a small model's
   "I'm sorry, I can't do that" after a call that worked). It costs a second forward pass per
   answer token (the emptied context's cache is a copy of the prompt's, cut where they differ).

``on_event`` (optional) hears each decision as it is made: ``{"type": "decision", "function":
name or None (NO_CALL), "p_no_call": float}``, and ``{"type": "problem", "text": ...}`` when a
call's arguments cannot be decoded, or a first call is not made because none of its values is in
the conversation (the turn then answers without calling).

Decoding is per sequence (batch size 1): each call's grammar state, the forced prefixes and
the stopping points differ from one conversation to the next.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

import torch
from transformers.cache_utils import DynamicLayer

from ..data.collate import overlapping_tokens, tokenize_pieces
from ..data.contract import IGNORE
from ..data.coverage import first_covering_call, leading_word, token_words, value_words
from ..data.coverage import words as text_words
from ..data.render import locate_request, locate_tool_spans, render_prompt, render_record
from ..data.tool_format import ToolCallFormat
from ..errors import DataError
from ..model.compat import cache_of, with_cache
from ..model.heads import no_call_probability
from .constrained import ArgumentDecodingError, CopyBias, decode_arguments, number_mentions, request_numbers
from .text_decoder import TextStreamFilter, first_marker

logger = logging.getLogger(__name__)

MAX_ROLLBACKS = 4  # call markers avoided in one answer after NO_CALL before it is cut
MAX_REPEAT_RETRIES = 3  # times a call that repeats an earlier one is decoded again
ANSWER_CONTRAST = 1.0  # weight a of context-aware decoding for answers after tool results (0: plain greedy)
ANSWER_PLAUSIBILITY = 0.1  # contrastive scores only for tokens with p >= this x the most likely token's p
COPY_BIAS = 2.0  # logit added to an argument string's token that copies this turn's messages (step 3; 0: off)


@dataclass
class HeadsTurn:
    """What one assistant turn decoded in heads mode produced."""

    calls: list[dict] = field(default_factory=list)  # {"name", "arguments"}, schema-valid
    content: str = ""  # the answer, for a turn without calls
    decisions: list[dict] = field(default_factory=list)  # {"p_no_call", "choice", "probs", "logits"[, "probe", "dropped", "fallback", ...]}
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # selector, arguments, response (s)
    new_tokens: int = 0
    reused_tokens: int = 0  # prompt tokens whose KV cache came from the previous turn
    duplicates_dropped: int = 0  # calls identical to an earlier one of this turn (dropped; they end the calls)
    repeats_avoided: int = 0  # calls that repeated an earlier one and, decoded again, did not
    probes_kept: int = 0  # calls tried after NO_CALL because request values were untaken, and kept
    probes_dropped: int = 0  # such calls that took none of those values (dropped; they end the calls)
    fallbacks_kept: int = 0  # calls of an unused tool tried after a dropped call (step 4), and kept
    fallbacks_dropped: int = 0  # such calls that took no untaken request value or failed to decode (they end the calls)
    options_dropped: int = 0  # optional arguments left out: their values were never said (step 3)
    ungrounded_dropped: int = 0  # a turn's first call that took no word of the conversation (the turn answers)
    rewritten: int = 0  # first calls written again with the copy bias after the grounding check (step 3)


_NUMBER = re.compile(r"\d+")


def _said_words(messages: list[dict]) -> set[str]:
    """The words of the conversation's messages (``data.coverage``'s words, the numbers inside
    words: "6cm" says 6, and the words of the numbers it says otherwise: "three" says 3, "5%"
    0.05, :func:`~.constrained.request_numbers`): what a call's values can be taken from."""
    texts = [m["content"] for m in messages if isinstance(m.get("content"), str)]
    return set().union(*(text_words(t) for t in texts), *(_NUMBER.findall(t) for t in texts),
                       *(text_words(n) for t in texts for n in request_numbers(t)))


def _said_numbers(messages: list[dict]) -> Counter:
    """The numbers the conversation's messages say (as :class:`~decimal.Decimal`), each with
    how many times it says it (:func:`~.constrained.number_mentions`: "4 ft x 4 ft" says 4
    twice, "5%" says 5 and 0.05 once); digits inside a word ("x2") count as a number said 0
    times: a value can be taken from them, but they are no mention of their own."""
    texts = [m["content"] for m in messages if isinstance(m.get("content"), str)]
    counts: Counter = Counter()
    for text in texts:
        for forms in number_mentions(text):
            counts.update({Decimal(form) for form in forms})
    for digits in (d for text in texts for d in _NUMBER.findall(text)):
        counts.setdefault(Decimal(digits), 0)
    return counts


def _number(value) -> Decimal | None:
    """A JSON number's value (``None`` for anything else, booleans included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return Decimal(str(value))


def _grounded(arguments: dict, said: set[str]) -> bool:
    """Whether a call's argument values take a word of the conversation (``said``, see
    :func:`_said_words`), or it has no values to take: a call whose every value was made up
    answers nothing asked. Flags (``true``, ``false``, ``null``) are choices, not values to copy:
    a call with no other values passes."""
    taken = value_words(_without_flags(arguments))
    return not taken or bool(taken & said)


def _chosen(schema: dict) -> bool:
    """Whether a parameter's value is a choice among listed ones (an enum, or a list of them)."""
    return "enum" in schema or "enum" in (schema.get("items") or {})


def _abbreviates(word: str, said: set[str]) -> bool:
    """Whether ``word`` (letters, three at most) shortens a longer word of ``said`` that begins
    with its first letter and holds its letters in order: "m" for "meters", "ft" for "feet",
    "kg" for "kilograms", "eur" for "euro" (not "lb" for "pounds")."""
    if not (word.isalpha() and len(word) <= 3):
        return False
    for longer in said:
        if len(longer) > len(word) and longer[0] == word[0]:
            rest = iter(longer)
            if all(letter in rest for letter in word):
                return True
    return False


def _made_up_required(arguments: dict, parameters: dict, said: set[str], numbers: Counter) -> list[str]:
    """The required arguments whose value takes no word of the conversation (``said``), nor
    shortens one (:func:`_abbreviates`: a unit or a currency written as its code), flags and
    enum choices aside: values the request never gave for what the function cannot do without
    ("annual_interest_rate": 5 for "the prime factors of 100"). A number must be one of
    ``numbers`` (:func:`_said_numbers`): 5.0555 shares the word "5" with "5", but the request
    never said it."""
    properties, required = parameters.get("properties") or {}, parameters.get("required") or ()

    def unsaid(value) -> bool:
        if (number := _number(value)) is not None:
            return number not in numbers
        taken = value_words(_without_flags({"value": value}))  # a flag alone takes no word
        return bool(taken) and not taken & said and not any(_abbreviates(w, said) for w in taken)

    return [key for key in required if key in arguments and not _chosen(properties.get(key) or {})
            and unsaid(arguments[key])]


def _reused_numbers(arguments: dict, numbers: Counter) -> list[str]:
    """The numbers a call writes as the value of more of its arguments than the conversation
    says them (``numbers``, :func:`_said_numbers`): ``"weight": 150, "height": 150`` for "a
    price of 150" (a small model fills a function it does not fit with the one number it
    found), not for "150 by 150"."""
    written = Counter(n for n in map(_number, arguments.values()) if n is not None)
    return [format(n, "f") for n, times in written.items() if times > 1 and numbers[n] < times]


def _without_made_up_options(arguments: dict, parameters: dict, said: set[str]) -> dict:
    """``arguments`` without the optional ones whose value takes no word of the conversation
    (``said``): a value the request never gave ("guests": 2, "grams": 1, "label": "Alarm time")
    is the model's invention, and leaving an optional argument out leaves the function's own
    default. Kept whatever their words: required arguments, flags, values of an enum (a choice
    the request may word otherwise: "cheapest" is ``price_asc``), and every argument when
    dropping would leave the call no value at all (the first call's grounding check judges that
    call whole)."""
    properties, required = parameters.get("properties") or {}, set(parameters.get("required") or ())
    kept = {key: value for key, value in arguments.items()
            if key in required or _chosen(properties.get(key) or {}) or _grounded({key: value}, said)}
    return kept if value_words(_without_flags(kept)) else arguments


def _problem(out: HeadsTurn, text: str, on_event: Callable[[dict], None] | None) -> None:
    """Record a decoding problem of the turn and tell ``on_event``."""
    out.problems.append(text)
    if on_event is not None:
        on_event({"type": "problem", "text": text})


def _copy_sources(messages: list[dict]) -> list[str]:
    """The texts a copy bias copies from: the latest user message and the tool results after
    it (this turn's request and what its calls returned)."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last is None:
        return []
    return [m["content"] for m in messages[last:]
            if m.get("role") in ("user", "tool") and isinstance(m.get("content"), str) and m["content"]]


def _without_flags(value):
    """``value`` without its booleans and nulls, at any depth."""
    if isinstance(value, dict):
        return {k: _without_flags(v) for k, v in value.items() if not (isinstance(v, bool) or v is None)}
    if isinstance(value, list):
        return [_without_flags(v) for v in value if not (isinstance(v, bool) or v is None)]
    return value


def _takes_new_value(calls: list[dict], untaken: set[str]) -> bool:
    """Whether the last of ``calls`` writes one of the ``untaken`` request words as a new value:
    in an argument that no earlier call of the same function filled with a value whose words it
    only adds to (``"y = x^2"`` after ``"x^2"`` rewords one value; ``"London"`` after
    ``"Paris"`` is another)."""
    last = calls[-1]
    earlier = [c["arguments"] for c in calls[:-1] if c["name"] == last["name"]]
    for key, value in last["arguments"].items():
        found = value_words(value)
        if found & untaken and not any(key in e and value_words(e[key]) and value_words(e[key]) <= found
                                       for e in earlier):
            return True
    return False


def _common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _croppable(past) -> bool:
    """Whether a KV cache can be cut back exactly (every layer a plain DynamicLayer: not
    sliding-window or recurrent)."""
    layers = getattr(past, "layers", None)
    return bool(layers) and all(type(x) is DynamicLayer for x in layers)


def _cut(past, length: int) -> None:
    """Cut a croppable KV cache back to its first ``length`` tokens (transformers' ``crop`` takes
    the number to remove, as a negative count)."""
    drop = past.get_seq_length() - length
    if drop > 0:
        past.crop(-drop)


def _eos_ids(tokenizer, lm) -> set[int]:
    ids = {tokenizer.eos_token_id}
    for marker in ("<|im_end|>", "<|endoftext|>"):
        tid = tokenizer.convert_tokens_to_ids(marker) if marker in tokenizer.get_vocab() else None
        if tid is not None:
            ids.add(tid)
    eos = getattr(getattr(lm, "generation_config", None), "eos_token_id", None)
    ids.update(eos if isinstance(eos, list) else [eos])
    return {i for i in ids if i is not None}


class PromptTokens(NamedTuple):
    """The prompt as the decoder feeds it, with the spans the heads read (token indices)."""

    ids: list[int]
    tool_spans: list[list[int]]  # each tool's definition
    request: list[int]  # the latest user message's content; [0, 0] when there is none
    calls: list[list[int]]  # the calls written in the history after the request (they serve it)
    request_words: list[frozenset[str]]  # the words each request token is part of (data.coverage)
    call_words: list[set[str]]  # the words of each of ``calls``' argument values


def encode_prompt(tokenizer, messages: list[dict], tools: list[dict]) -> PromptTokens:
    """Token ids of the prompt (cut at assistant turns as in training) and the spans of the
    tools, the request and the calls already made since the request."""
    prompt = render_prompt(tokenizer, messages, tools, add_generation_prompt=True)
    try:
        rendered = render_record({"messages": messages, "tools": tools}, tokenizer)
        cuts, char_spans, call_chars = rendered.cuts, rendered.tool_spans, rendered.call_spans
        call_args = rendered.call_arguments
        if not prompt.startswith(rendered.text):
            raise DataError("the generation prompt does not extend the conversation")
    except DataError as exc:  # e.g. history with calls to tools not offered now: one piece
        logger.debug("tokenising the prompt in one piece (%s)", exc)
        cuts, char_spans, call_chars, call_args = [], locate_tool_spans(prompt, tools), [], []
    ids, offsets = tokenize_pieces(prompt, [c for c in cuts if c < len(prompt)], tokenizer)
    starts = [s for s, _ in offsets]
    ends = [e if e > s else s + 1 for s, e in offsets]
    spans = []
    for a, b in char_spans:
        span = overlapping_tokens(starts, ends, a, b)
        spans.append([span.start, span.stop])
    where = locate_request(tokenizer, messages, tools, prompt)
    request = overlapping_tokens(starts, ends, *where) if where else range(0)
    calls, call_words = [], []
    for (a, b, _), arguments in zip(call_chars, call_args, strict=True):
        c = overlapping_tokens(starts, ends, a, b)
        if len(request) and len(c) and c.start >= request.stop:
            calls.append([c.start, c.stop])
            call_words.append(value_words(arguments))
    request_words = token_words(prompt[where[0]:where[1]], [(offsets[t][0] - where[0], offsets[t][1] - where[0])
                                                            for t in request]) if len(request) else []
    return PromptTokens(ids, spans, [request.start, request.stop] if len(request) else [0, 0], calls,
                        request_words, call_words)


class HeadsDecoder:
    """Decodes assistant turns of a :class:`~fc_finetune.model.modeling.FunctionCallingModel`."""

    drop_ungrounded_calls = True  # a first call that takes no word of the conversation is not made (step 3)
    drop_made_up_required = True  # nor one whose required argument's value takes none (with the rule above)
    drop_reused_numbers = True  # nor one that writes a number in more arguments than it is said (step 3)

    def __init__(self, model, tokenizer, fmt: ToolCallFormat, *, max_new_tokens: int = 256):
        if model.heads.selector is None:
            raise ValueError("heads mode needs the selector head (this model was trained without it); "
                             "use mode='text'")
        self.model, self.tokenizer, self.fmt = model, tokenizer, fmt
        self.max_new_tokens = max_new_tokens
        self.eos = _eos_ids(tokenizer, model.lm)
        base = model.lm.get_base_model() if hasattr(model.lm, "get_base_model") else model.lm
        self._keep_last = "logits_to_keep" in inspect.signature(base.forward).parameters
        self.past = None
        self.reuse_cache = True  # keep the KV cache between turns (see _encode)
        self.drop_repeated_calls = True  # a call identical to an earlier one of the turn is dropped (step 4)
        self.drop_made_up_options = True  # optional arguments whose value the conversation never gave are left out (step 3)
        self.probe_untaken_values = True  # after NO_CALL with request values untaken, try one more call
        self.fallback_to_other_tool = True  # after a call dropped for adding nothing, try the best unused tool once
        self.answer_contrast = ANSWER_CONTRAST  # context-aware decoding of answers after tool results (step 5)
        self.copy_bias = COPY_BIAS  # argument strings lean towards this turn's messages' words (step 3)
        self._copy: CopyBias | None = None  # this turn's copy bias (None: off, or nothing to copy)
        self._watch = False  # the copy bias only watches (the first call, before its grounding check)
        self._last = None  # the last call's DecodedArguments
        self._said: set[str] = set()  # this turn's conversation's words (_said_words)
        self._said_numbers: Counter = Counter()  # and its numbers, with how many times each is said
        self._fed: list[int] = []  # every token in self.past, in order
        self._kept: dict | None = None  # the last turn's cache: {"fed", "past", "tools", "tool_emb", "tool_states"}
        self._match_layer = getattr(model, "match_layer", None) if model.heads.match is not None else None
        self._match_states: torch.Tensor | None = None  # the last feed's match-layer states
        self._tool_states: list[torch.Tensor] | None = None  # the tools' match-layer states (this turn)
        self._asked: torch.Tensor | None = None  # the request's match-layer states (this turn)
        self._served: list[torch.Tensor] = []  # match-layer states of the calls made since the request
        self._request_words: list[frozenset[str]] = []  # the request's tokens' words (data.coverage)
        self._served_words: list[set[str]] = []  # and those of the history's calls' values since it

    # -- model steps --------------------------------------------------------------------
    def _forward(self, ids: list[int], past, hidden: bool = True):
        kwargs = {"logits_to_keep": 1} if self._keep_last else {}
        return self.model.lm(input_ids=torch.tensor([ids], device=self.model.device), use_cache=True,
                             output_hidden_states=hidden, **with_cache(past), **kwargs)

    def _feed(self, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Feed ``ids`` through the KV cache: (hidden states [L, H], next-token logits [V])."""
        out = self._forward(ids, self.past)
        self.past = cache_of(out)
        self._fed += ids
        if self._match_layer is not None:
            self._match_states = out.hidden_states[self._match_layer][0]
        return out.hidden_states[-1][0], out.logits[0, -1]

    def _reset(self) -> None:
        self.past, self._fed = None, []

    def _encode(self, prompt: PromptTokens, tools: list[dict], tools_key: str):
        """Hidden states of the prompt's new tokens, next-token logits, the tools' embeddings and
        how many prompt tokens came from the kept cache; keeps the match-layer states the request
        match reads (the tools', the request's, and those of the calls made since the request).

        KV reuse across turns: the cache of the previous turn (its prompt and everything
        decoded after it) is kept; when the new prompt starts with the same tokens and offers
        the same tools, the cache is cut back to the common prefix and only the rest is fed
        (at least one token, for the decision point's hidden state). The tools' embeddings
        come from their definitions at the start of the prompt, which a causal model does
        not see change, so they are kept too. Caches that cannot be cut back exactly
        (sliding-window or recurrent layers) are not reused. The request's tokens are always fed
        again (the match reads their states); the tools' match-layer states are kept.
        """
        ids, spans, request = prompt.ids, prompt.tool_spans, prompt.request
        kept, self._kept = self._kept, None
        asks = request[1] > request[0]
        if self.reuse_cache and kept is not None and kept["tools"] == tools_key:
            fed = kept["fed"]
            common = _common_prefix(fed, ids)
            reuse = min(common, len(ids) - 1, request[0] if asks else len(ids))
            if reuse >= max((b for _, b in spans), default=1):
                self.past, self._fed = kept["past"], list(fed)
                if self._rewind(reuse):
                    hidden, logits = self._feed(ids[reuse:])
                    self._tool_states = kept["tool_states"]
                    self._keep_request_states(prompt, reuse)
                    return hidden, logits, kept["tool_emb"], reuse
        self._reset()
        hidden, logits = self._feed(ids)
        tool_emb, self._tool_states = None, None
        if tools:
            span_t = torch.tensor([spans], device=hidden.device)
            mask = torch.ones(1, len(tools), dtype=torch.bool, device=hidden.device)
            tool_emb = self.model.heads.tool_embeddings(hidden[None], span_t, mask)
            if self._match_layer is not None:
                self._tool_states = [self._match_states[a:b] for a, b in spans]
        self._keep_request_states(prompt, 0)
        return hidden, logits, tool_emb, 0

    def _keep_request_states(self, prompt: PromptTokens, offset: int) -> None:
        """Keep the match-layer states of the request and of the history's calls since it, from
        the last feed (which began at token ``offset``, before the request)."""
        a, b = prompt.request
        self._asked = self._match_states[a - offset: b - offset] if self._match_layer is not None and b > a else None
        self._served = [self._match_states[s - offset: e - offset] for s, e in prompt.calls] if self._asked is not None else []
        self._request_words = prompt.request_words
        self._served_words = prompt.call_words if self._asked is not None else []

    def _request_match(self, calls: list[torch.Tensor], call_words: list[set[str]]):
        """``(match [T], pending)``: the request's states against the tools', discounted by the
        calls made since the request (the history's, then ``calls`` of this turn, whose value
        words are ``call_words``) when the match has coverage, and the pending term: how many of
        the request's value tokens those calls have not taken, over the square root of how many
        there are (``None`` without the pending term or before any call);
        computed as in training on a compact sequence: the tools' tokens, the request's, then the
        calls'. ``(None, None)`` without the request match."""
        if self._tool_states is None or self._asked is None:
            return None, None
        match = self.model.heads.match
        served = [*self._served, *calls] if (match.coverage or match.value is not None) else []
        pieces = [*self._tool_states, self._asked, *served]
        bounds, pos = [], 0
        for piece in pieces:
            bounds.append([pos, pos + len(piece)])
            pos += len(piece)
        states = torch.cat(pieces)[None]
        device = states.device
        n_tools = len(self._tool_states)
        spans = torch.tensor([bounds[:n_tools]], device=device)
        mask = torch.ones(1, n_tools, dtype=torch.bool, device=device)
        asks = torch.tensor([[bounds[n_tools]]], device=device)
        calls = () if not served else (torch.tensor([bounds[n_tools + 1:]], device=device),
                                       torch.ones(1, 1, len(served), dtype=torch.bool, device=device))
        scores = match(states, spans, mask, asks, *(calls if match.coverage else ()))[0, 0]
        if match.value is None or not served:
            return scores, None
        cover = torch.full(states.shape[:2], IGNORE, dtype=torch.long, device=device)
        first = first_covering_call(self._request_words, [*self._served_words, *call_words])
        cover[0, bounds[n_tools][0]:bounds[n_tools][1]] = torch.tensor(first, device=device)
        pending, _ = match.pending(states, asks, cover, calls[1])
        return scores, pending[0, 0]

    def _decide(self, h: torch.Tensor, tool_emb: torch.Tensor, n_tools: int,
                match: tuple = (None, None), served: bool = False) -> tuple[int | None, dict]:
        mask = torch.ones(1, n_tools, dtype=torch.bool, device=tool_emb.device)
        scores, pending = match
        extra = () if scores is None else (scores[None, None], torch.ones(1, 1, dtype=torch.bool, device=scores.device),
                                           None if pending is None else pending[None, None])
        logits = self.model.heads.select_logits(h[None, None, :], tool_emb, mask, *extra)[0, 0]
        probs = torch.softmax(logits.float() / self.model.selector_temperature, dim=-1)
        p_no = float(no_call_probability(logits, self.model.selector_temperature, self.model.call_decision))
        choice = None if p_no >= self._threshold(served) else int(torch.argmax(probs[:-1]))
        return choice, {"p_no_call": p_no, "choice": choice, "probs": probs.tolist(), "logits": logits.float().tolist()}

    def _threshold(self, served: bool) -> float:
        """The ``P(NO_CALL)`` at which the calls end: ``more_calls_threshold`` once calls have been
        made since the request (when set), else ``no_call_threshold`` (0.5 when unset)."""
        threshold = self.model.more_calls_threshold if served else None
        if threshold is None:
            threshold = 0.5 if self.model.no_call_threshold is None else self.model.no_call_threshold
        return threshold

    def _arguments_logits(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        if self.model.heads.argument is None:  # no argument head: the LM's own output layer
            return self.model.output_layer()(h)
        return self.model.param_logits(h, e)

    # -- one turn -----------------------------------------------------------------------
    @torch.inference_mode()
    def turn(self, messages: list[dict], tools: list[dict], *, max_calls: int,
             on_text: Callable[[str], None] | None = None,
             on_event: Callable[[dict], None] | None = None) -> HeadsTurn:
        """Decode one assistant turn; at most ``max_calls`` calls (0: answer without calling).

        ``on_text`` receives the answer's text as it is decoded (the pieces add up to
        ``content``); ``on_event`` each selector decision and decoding problem."""
        out = HeadsTurn(timings={"selector": 0.0, "arguments": 0.0, "response": 0.0})
        start = time.perf_counter()
        prompt = encode_prompt(self.tokenizer, messages, tools)
        tools_key = json.dumps(tools, sort_keys=True, ensure_ascii=False)
        hidden, logits, tool_emb, out.reused_tokens = self._encode(prompt, tools, tools_key)
        h = hidden[-1]
        calls_states: list[torch.Tensor] = []  # match-layer states of this turn's calls
        calls_words: list[set[str]] = []  # and their values' words
        sources = _copy_sources(messages) if self.copy_bias else []
        self._copy = CopyBias(sources, self.copy_bias, self.tokenizer) if sources else None
        self._said = _said_words(messages)
        self._said_numbers = _said_numbers(messages)
        out.timings["selector"] += time.perf_counter() - start

        def write(index: int):
            """One call of ``tools[index]`` (:meth:`_distinct_call`); ``None`` (a problem) when its
            arguments cannot be decoded."""
            begun = time.perf_counter()
            try:
                return self._distinct_call(out, tools[index]["function"], tool_emb[0, index], calls_words)
            except ArgumentDecodingError as exc:
                _problem(out, f"{tools[index]['function']['name']}: {exc}", on_event)
                return None
            finally:
                out.timings["arguments"] += time.perf_counter() - begun

        while len(out.calls) < max_calls and tool_emb is not None:
            start = time.perf_counter()
            choice, info = self._decide(h, tool_emb, len(tools), self._request_match(calls_states, calls_words),
                                        served=bool(out.calls or prompt.calls))
            out.decisions.append(info)
            out.timings["selector"] += time.perf_counter() - start
            if on_event is not None:
                on_event({"type": "decision", "function": None if choice is None else tools[choice]["function"]["name"],
                          "p_no_call": info["p_no_call"]})
            untaken = None
            if choice is None:
                untaken = self._untaken_values(calls_words) if self.probe_untaken_values and out.calls else None
                if not untaken:
                    break
                choice = info["probe"] = int(torch.argmax(torch.tensor(info["probs"][:-1])))
            mark = len(self._fed)  # the cache before this call: a dropped call's fallback starts here
            checked = self.drop_ungrounded_calls and not out.calls and not prompt.calls  # judged unaided
            self._watch = checked
            written = write(choice)
            if written is None:
                break
            h, states, adds = written
            if untaken and adds:  # a probe: kept only when it takes one of those values
                adds = _takes_new_value(out.calls, untaken)
                out.probes_kept += adds
            if checked and not _grounded(out.calls[0]["arguments"], self._said):
                self._drop_ungrounded(out, info, "none of its values appears in the conversation", on_event)
                break
            if checked and self._last.bias_changed and self._rewind(mark):  # written again, with the bias
                self._watch = False
                out.calls.pop()
                out.new_tokens -= len(self._last.token_ids)
                written = write(choice)
                if written is None:
                    break
                h, states, adds = written
                out.rewritten += 1
            self._watch = False
            made_up = self._made_up_values(out.calls[0], tools[choice]["function"]) if checked else None
            if made_up:
                self._drop_ungrounded(out, info, made_up, on_event)
                break
            if not adds and (untaken or self.drop_repeated_calls):  # it adds nothing: dropped
                dropped = out.calls.pop()
                info["dropped"] = True
                if untaken:
                    out.probes_dropped += 1
                else:
                    out.duplicates_dropped += 1
                start = time.perf_counter()
                fallback = self._fallback_call(out, tools, tool_emb, info, dropped["name"], mark, calls_words, on_event)
                out.timings["arguments"] += time.perf_counter() - start
                if fallback is None:  # the calls end
                    break
                h, states = fallback
            if states is not None:
                calls_states.append(states)
                calls_words.append(value_words(out.calls[-1]["arguments"]))
        if not out.calls:
            start = time.perf_counter()
            if out.problems or out.ungrounded_dropped:  # the cache holds a call: start again from the prompt
                self._reset()
                _, logits = self._feed(prompt.ids)
            contrast = self._contrast(messages, tools) if self.answer_contrast else None
            out.content = self._respond(logits, out, on_text, contrast)
            out.timings["response"] += time.perf_counter() - start
        if self.reuse_cache and self.past is not None:
            self._kept = {"fed": self._fed, "past": self.past, "tools": tools_key, "tool_emb": tool_emb,
                          "tool_states": self._tool_states}
        self._reset()
        return out

    def _drop_ungrounded(self, out: HeadsTurn, info: dict, why: str,
                         on_event: Callable[[dict], None] | None) -> None:
        """Take back a turn's first call that failed a grounding check (step 3): the turn answers."""
        dropped = out.calls.pop()
        info["dropped"] = True
        out.ungrounded_dropped += 1
        if on_event is not None:
            on_event({"type": "problem", "text": f"{dropped['name']}: not called, {why} "
                                                 f"({json.dumps(dropped['arguments'], ensure_ascii=False)})"})

    def _made_up_values(self, call: dict, spec: dict) -> str | None:
        """Why a first call is not made for values the conversation never gave, or ``None``:
        required arguments whose values take no word or number of it (``drop_made_up_required``),
        numbers written in more arguments than it says them (``drop_reused_numbers``)."""
        unsaid = _made_up_required(call["arguments"], spec.get("parameters") or {}, self._said,
                                   self._said_numbers) if self.drop_made_up_required else []
        if unsaid:
            return f"the conversation never gave its required {', '.join(map(repr, unsaid))}"
        reused = _reused_numbers(call["arguments"], self._said_numbers) if self.drop_reused_numbers else []
        if reused:
            return f"it writes {', '.join(reused)} in more arguments than the conversation says {'it' if len(reused) == 1 else 'them'}"
        return None

    def _fallback_call(self, out: HeadsTurn, tools: list[dict], tool_emb: torch.Tensor, info: dict,
                       dropped: str, mark: int, call_words: list[set[str]],
                       on_event: Callable[[dict], None] | None) -> tuple[torch.Tensor, torch.Tensor | None] | None:
        """After a call that added nothing was dropped (step 4): the selector's decision again with
        the tools this turn called (and the dropped one) taken out; when it calls, one call of its
        best tool, written from where the dropped call began and kept only when it takes a request
        value no call has taken yet. A request that asks two tools for two things ("the area of a
        rectangle ...; also of a circle with radius 5"): after the first call the selector, or its
        probe, goes back to the tool just called. ``(h, states)`` of the kept call as
        :meth:`_distinct_call` gives them; ``None`` when no tool is left, no request value is
        untaken, the decision without the used tools is ``NO_CALL``, the cache cannot be cut back,
        or the call takes nothing new (it is dropped too, and the calls end)."""
        if not self.fallback_to_other_tool:
            return None
        untaken = self._untaken_values(call_words)
        used = {dropped, *(c["name"] for c in out.calls)}
        logits = torch.tensor(info["logits"])
        logits[[i for i, t in enumerate(tools) if t["function"]["name"] in used]] = float("-inf")
        if not untaken or torch.isinf(logits[:-1]).all():
            return None
        p_no = float(no_call_probability(logits, self.model.selector_temperature, self.model.call_decision))
        if p_no >= self._threshold(served=True) or not self._rewind(mark):
            return None
        other = int(torch.argmax(logits[:-1]))
        info["fallback"] = other
        try:
            h, states, adds = self._distinct_call(out, tools[other]["function"], tool_emb[0, other], call_words)
        except ArgumentDecodingError as exc:
            _problem(out, f"{tools[other]['function']['name']}: {exc}", on_event)
            adds = None
        if not (adds and _takes_new_value(out.calls, untaken)):
            if adds is not None:
                out.calls.pop()
            info["fallback_dropped"] = True
            out.fallbacks_dropped += 1
            return None
        out.fallbacks_kept += 1
        if on_event is not None:
            on_event({"type": "decision", "function": tools[other]["function"]["name"], "p_no_call": p_no})
        return h, states

    def _distinct_call(self, out: HeadsTurn, spec: dict, e: torch.Tensor,
                       call_words: list[set[str]]) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        """:meth:`_call`, decoded again (from the same cache position) while it repeats an
        earlier call of the turn or, decoded again, takes no request value that no call has
        taken yet (``call_words``: the value words of this turn's calls so far; as the
        selector's pending term counts them: a repeat after a request fully served is an end,
        not a call to rewrite). Each retry bans one more word of the repeated call's values, the
        least sure first (see step 4 of the module's docstring); a ban that led to a call that
        takes nothing new is lifted again (that value was wanted: "the same for Prague"
        keeps the film and changes the city), one that led to another repeat is kept (the third
        call for "Paris, London and Rome" must avoid both). The last result, and whether it adds
        a call."""
        mark = len(self._fed)
        h, states, decoded = self._call(out, spec, e)
        if out.calls[-1] not in out.calls[:-1]:
            return h, states, True
        untaken = self._untaken_values(call_words) if self.drop_repeated_calls else set()
        kept: dict[int, set[str]] = {}  # step -> words not to write from there (they repeated)
        candidates = self._word_margins(out.calls[-1]["arguments"], decoded)
        tried: set[tuple[int, str]] = set()
        for _ in range(MAX_REPEAT_RETRIES if untaken else 0):
            found = next((c[1:] for c in candidates if c[1:] not in tried), None)
            if found is None or not self._rewind(mark):
                break
            tried.add(found)
            banned = {step: set(words) for step, words in kept.items()}
            banned.setdefault(found[0], set()).add(found[1])
            out.calls.pop()
            h, states, decoded = self._call(out, spec, e, banned)
            if out.calls[-1] in out.calls[:-1]:  # another repeat: these words stay banned
                kept = banned
                candidates = sorted(candidates + self._word_margins(out.calls[-1]["arguments"], decoded))
            elif _takes_new_value(out.calls, untaken):
                out.repeats_avoided += 1
                return h, states, True
        return h, states, False

    def _untaken_values(self, call_words: list[set[str]]) -> set[str]:
        """The words of the request's tokens tagged as values (all its tokens' words without the
        pending term's tag) that neither the history's calls since the request nor this turn's
        (``call_words``) took."""
        if self._asked is None:
            return set()
        tokens = self._request_words
        match = self.model.heads.match
        if match is not None and match.value is not None:
            positions = torch.arange(len(self._asked), device=self._asked.device)[None]
            tagged = (match.tags(self._asked[None], positions)[0] > 0).tolist()
            tokens = [w for w, t in zip(tokens, tagged, strict=True) if t]
        return set().union(*tokens) - set().union(*self._served_words, *call_words)

    def _word_margins(self, arguments: dict, decoded) -> list[tuple[float, int, str]]:
        """``(margin, step, word)`` for each word of a call's values where the model chose its
        first token among others (the margin of that token over the next allowed one), the least
        sure first."""
        taken = value_words(arguments)
        texts = [self.tokenizer.decode(decoded.token_ids[:k]) for k in range(len(decoded.token_ids) + 1)]
        found = []
        for step, margin in enumerate(decoded.margins):
            before, after = texts[step], texts[-1][len(texts[step]):]
            word = leading_word(after)
            starts = not before or not before[-1].isalnum() or after[:1].isspace()
            if margin != float("inf") and word and starts and word.lower() in taken:
                found.append((margin, step, word))
        return sorted(found)

    def _spelling(self, ids: list[int], banned: dict[int, set[str]]) -> list[int]:
        """Tokens that would go on spelling a banned word from its step, given the tokens
        ``ids`` decoded so far (in any case; with a leading space where nothing is written yet)."""
        tokens: list[int] = []
        for step, word in ((step, word) for step, words in banned.items() for word in words):
            if len(ids) < step:
                continue
            written = self.tokenizer.decode(ids[step:]).lstrip()
            if not word.lower().startswith(written.lower()):
                continue  # something else was written there
            rest = word[len(written):]
            for end in range(1, len(rest) + 1):
                for piece in {rest[:end], rest[:end].lower(), rest[:end].capitalize()}:
                    for text in (piece, " " + piece) if not written else (piece,):
                        found = self.tokenizer(text, add_special_tokens=False)["input_ids"]
                        if len(found) == 1:
                            tokens.append(found[0])
        return tokens

    def _call(self, out: HeadsTurn, spec: dict, e: torch.Tensor, banned: dict[int, set[str]] | None = None):
        """Write one call (name forced, arguments constrained; ``banned``: step -> words not to
        spell from there, see :meth:`_spelling`): the hidden state after its close, the
        match-layer states of its tokens (``None`` without the request match) and the decoded
        arguments."""
        fmt, name = self.fmt, spec["name"]
        prefix = fmt.call_prefix(name)
        forced = prefix.rstrip(" ")
        lead = prefix[len(forced):]  # the space before the object: decoded under the grammar
        separator = self.tokenizer(fmt.call_separator, add_special_tokens=False)["input_ids"] if out.calls else []

        def tokens(text: str) -> tuple[list[int], int]:
            """The ids of the call's ``text`` after the separator (a later call of the turn), and
            how many of them are the separator's, which is not part of the call's text (a merged
            token belongs to the call)."""
            ids = self.tokenizer((fmt.call_separator if out.calls else "") + text, add_special_tokens=False)["input_ids"]
            return ids, len(separator) - (ids[: len(separator)] != separator) if separator else 0

        ids, skip = tokens(forced)
        collected = []  # the match-layer states of every token fed for this call
        mark = len(self._fed)  # the cache before this call (a call written again starts here)

        def feed(tokens: list[int]) -> torch.Tensor:
            hid, _ = self._feed(tokens)
            if self._match_layer is not None:
                collected.append(self._match_states)
            return hid[-1]

        state = {"h": feed(ids)}

        def step(token: int | None) -> torch.Tensor:
            if token is not None:
                state["h"] = feed([token])
            return self._arguments_logits(state["h"], e)

        if self._copy is not None:
            self._copy.watch = self._watch
        decoded = decode_arguments(step, self.tokenizer, spec.get("parameters") or {"type": "object"},
                                   max_tokens=self.max_new_tokens, prefix=lead, suffix="}" + fmt.call_close,
                                   ban=(lambda ids: self._spelling(ids, banned)) if banned else None,
                                   bias=self._copy)
        self._last = decoded
        arguments = decoded.arguments
        kept = (_without_made_up_options(arguments, spec.get("parameters") or {}, self._said)
                if self.drop_made_up_options else arguments)
        if kept != arguments and self._rewind(mark):  # the call as it would be written without them
            collected.clear()
            ids, skip = tokens(fmt.render_call(name, kept))
            h = feed(ids)
            out.options_dropped += len(arguments) - len(kept)
            arguments = kept
        else:
            h = feed(decoded.token_ids[-1:])  # the last token is not fed by decode_arguments
        out.calls.append({"name": name, "arguments": arguments})
        out.new_tokens += len(decoded.token_ids)
        return h, torch.cat(collected)[skip:] if collected else None, decoded

    def _contrast(self, messages: list[dict], tools: list[dict]) -> _Contrast | None:
        """The answer's contrast context (step 5): the conversation with the tool results after
        its last call emptied, its cache copied from the prompt's up to where the two differ;
        ``None`` when the turn does not follow tool results or the cache cannot be cut."""
        last = len(messages)
        while last and messages[last - 1]["role"] == "tool":
            last -= 1
        if last == len(messages) or not _croppable(self.past):
            return None
        emptied = [*messages[:last], *({**m, "content": ""} for m in messages[last:])]
        ids = encode_prompt(self.tokenizer, emptied, tools).ids
        common = min(_common_prefix(self._fed, ids), len(ids) - 1)
        if common < 1:
            return None
        return _Contrast(self, ids, common)

    def _respond(self, logits: torch.Tensor, out: HeadsTurn, on_text: Callable[[str], None] | None = None,
                 contrast: _Contrast | None = None) -> str:
        """Greedy answer with the LM (contrastive when ``contrast`` is given, see step 5). The
        selector chose NO_CALL, so markup is not an answer: when the text starts a marker
        (``ToolCallFormat.markers``), decoding goes back to the token where it began, bans that token there and goes
        on (at most ``MAX_ROLLBACKS`` times, then the answer is cut before the marker)."""
        markers = self.fmt.markers  # a call's opening tag, a stray closing one, or a result tag
        stream = TextStreamFilter(on_text, markers) if on_text is not None else None
        start = len(self._fed)  # the cache holds the prompt (and this turn's state) up to here
        tokens: list[int] = []
        banned: dict[int, set[int]] = {}
        rollbacks = 0
        while len(tokens) < self.max_new_tokens:
            ban = banned.get(len(tokens), set())
            if contrast is not None:
                scores = contrast.scores(logits, self.answer_contrast, never=ban | (set() if tokens else self.eos))
            elif ban:
                scores = logits.clone()
                scores[list(ban)] = float("-inf")
            else:
                scores = logits
            token = int(torch.argmax(scores))
            if token in self.eos:
                break
            tokens.append(token)
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            found = first_marker(text, markers)
            if found >= 0:
                at = self._token_at(tokens, found)
                if rollbacks < MAX_ROLLBACKS and self._rewind(start + at):
                    rollbacks += 1
                    banned.setdefault(at, set()).add(tokens[at])
                    tokens = tokens[:at]
                    logits = self._logits_at_end()
                    if contrast is not None:
                        contrast.rewind(tokens)
                    continue
                out.problems.append("the answer kept starting a call after the selector chose NO_CALL; cut there")
                tokens = tokens[:at]
                break
            if stream is not None:
                stream.update(text)
            if len(tokens) < self.max_new_tokens:  # the last token's successor is never needed
                _, logits = self._feed([token])
                if contrast is not None:
                    contrast.feed(token)
        if rollbacks:
            logger.debug("answer: %d call marker(s) avoided after NO_CALL", rollbacks)
        out.new_tokens += len(tokens)
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        if stream is not None:
            stream.finish(text)
        return text.strip()

    def _token_at(self, tokens: list[int], char: int) -> int:
        """Index of the token in which character ``char`` of the decoded ``tokens`` lies."""
        for k in range(len(tokens)):
            if len(self.tokenizer.decode(tokens[: k + 1], skip_special_tokens=True)) > char:
                return k
        return len(tokens) - 1

    def _rewind(self, length: int) -> bool:
        """Cut the KV cache back to its first ``length`` tokens; False when it cannot be cut."""
        if length < 1 or not _croppable(self.past):
            return False
        _cut(self.past, length)
        self._fed = self._fed[:length]
        return True

    def _logits_at_end(self) -> torch.Tensor:
        """Next-token logits after the cache's last token (fed again: the cache keeps no logits)."""
        last = self._fed[-1]
        self.past.crop(-1)
        self._fed = self._fed[:-1]
        _, logits = self._feed([last])
        return logits


class _Contrast:
    """The emptied-results context of a contrastive answer (step 5): its own KV cache, fed the
    answer's tokens beside the main one, and cut back with it when the answer rolls back."""

    def __init__(self, decoder: HeadsDecoder, ids: list[int], common: int):
        self.decoder, self.prompt = decoder, ids
        self.past = copy.deepcopy(decoder.past)
        _cut(self.past, common)
        self.logits = self._step(ids[common:])

    def _step(self, ids: list[int]) -> torch.Tensor:
        out = self.decoder._forward(ids, self.past, hidden=False)
        self.past = cache_of(out)
        return out.logits[0, -1]

    def feed(self, token: int) -> None:
        self.logits = self._step([token])

    def rewind(self, answer: list[int]) -> None:
        """Back to the answer's tokens ``answer`` (a prefix of those fed), with the logits after them."""
        fed = [*self.prompt, *answer]
        _cut(self.past, len(fed) - 1)
        self.logits = self._step(fed[-1:])

    def scores(self, logits: torch.Tensor, weight: float, never=()) -> torch.Tensor:
        """``(1 + a) log p - a log p_emptied`` over the plausible tokens, ``-inf`` elsewhere and
        for the tokens in ``never`` (those a rollback banned here, and the end of the answer
        before its first token: emptied results make ending likelier, and an answer after tool
        results is never empty); when that leaves nothing, the likeliest token not in ``never``."""
        full = torch.log_softmax(logits.float(), -1)
        emptied = torch.log_softmax(self.logits.float(), -1)
        out = ((1 + weight) * full - weight * emptied).masked_fill(
            full < full.max() + math.log(ANSWER_PLAUSIBILITY), float("-inf"))
        if never:
            out[list(never)] = float("-inf")
            if torch.isinf(out).all():  # nothing plausible is left
                out = full.clone()
                out[list(never)] = float("-inf")
        return out
