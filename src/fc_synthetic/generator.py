"""Build one canonical record of a given kind from the catalogue, a random generator and pools.

:class:`RecordBuilder` writes the six kinds of examples (see :data:`KINDS`). Every call is
executed by the function's fake implementation, so tool outputs are consistent with the
arguments, and the final answer is written from the output. The offered tools are the
relevant ones plus distractors (2-6 in all, shuffled), some of them (``library_rate``) real
library functions (:mod:`fc_synthetic.library`); for "no call" examples no offered tool can serve
the request. Some of those are near misses: a request written for one function
is offered another of its domain that cannot serve it (a stock price request, only the crypto
price tool), the tool the same request is told to prefer in a ``single`` turn that offers both.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field

from . import phrasing as ph
from .chains import Chain
from .functions import BY_NAME, CATALOGUE
from .library import KEEP_AWAY_DOMAINS, LibraryTool
from .masking import mask_record
from .spec import Args, FunctionSpec, template_fields

KINDS = ("single", "parallel", "sequential", "multi_turn", "no_call_irrelevant", "no_call_chitchat")
MAX_TOOLS = 6
LOOKALIKE_RATE = 0.5  # requests for an unavailable function that are offered a look-alike first
NEAR_MISS_RATE = 0.5  # requests for an unavailable function that are offered a function of its domain instead
REPEAT_RATE = 0.5  # parallel turns that repeat one call with one value changed
CONJOIN_RATE = 0.6  # of those, asked with the values joined in place ("in Paris and London"), else "then repeat with"
_TOOL_JSON = {spec.name: json.dumps(spec.tool(), ensure_ascii=False) for spec in CATALOGUE}


def _serving(spec: FunctionSpec) -> frozenset[str]:
    names = {spec.name}
    for group in ph.OVERLAPS:
        if spec.name in group:
            names |= group
    return frozenset(names)


_SERVING = {spec.name: _serving(spec) for spec in CATALOGUE}
_EXCLUDED = {spec.name: _SERVING[spec.name] | {s.name for s in CATALOGUE if s.domain == spec.domain}
             for spec in CATALOGUE}


def serving(spec: FunctionSpec) -> frozenset[str]:
    """Functions that can serve a request meant for ``spec``: itself and its overlap groups."""
    return _SERVING[spec.name]


def excluded_with(spec: FunctionSpec) -> frozenset[str]:
    """Functions never offered with an unrelated request meant for ``spec``: those that can serve
    it and the rest of its domain (offered only as a deliberate near miss)."""
    return _EXCLUDED[spec.name]


@dataclass
class Pools:
    """Which functions a split may call, offer and chain; ``heldout`` only ever appears in eval."""

    targets: list[FunctionSpec]
    offerable: list[FunctionSpec]
    chains: list[Chain]
    heldout: frozenset[str] = frozenset()
    heldout_share: float = 0.0
    library: list[LibraryTool] = field(default_factory=list)
    heldout_targets: list[FunctionSpec] = field(init=False)
    seen_targets: list[FunctionSpec] = field(init=False)

    def __post_init__(self) -> None:
        self.heldout_targets = [s for s in self.targets if s.name in self.heldout]
        self.seen_targets = [s for s in self.targets if s.name not in self.heldout]


class RecordBuilder:
    """Writes records; all randomness comes from ``rng``, so a seed fixes the output."""

    def __init__(self, rng: random.Random, pools: Pools, *, system_prompt_rate: float = 0.5,
                 max_tools: int = MAX_TOOLS, mask_rate: float = 0.0,
                 lookalike_rate: float = LOOKALIKE_RATE, repeat_rate: float = REPEAT_RATE,
                 near_miss_rate: float = NEAR_MISS_RATE, library_rate: float = 0.0):
        if not 2 <= max_tools <= MAX_TOOLS:
            raise ValueError(f"max_tools must be between 2 and {MAX_TOOLS}, got {max_tools}")
        for name, rate in (("mask_rate", mask_rate), ("lookalike_rate", lookalike_rate), ("repeat_rate", repeat_rate),
                           ("near_miss_rate", near_miss_rate), ("library_rate", library_rate)):
            if not 0 <= rate <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {rate}")
        self.lookalike_rate, self.repeat_rate, self.near_miss_rate = lookalike_rate, repeat_rate, near_miss_rate
        self.rng, self.pools, self.system_prompt_rate = rng, pools, system_prompt_rate
        self.max_tools, self.mask_rate, self.library_rate = max_tools, mask_rate, library_rate
        self._meta_extra: dict = {}

    # ------------------------------------------------------------------ helpers
    def _target(self, avoid: set[str] | None = None) -> FunctionSpec:
        pools, rng = self.pools, self.rng
        use_heldout = pools.heldout_targets and rng.random() < pools.heldout_share
        pool = pools.heldout_targets if use_heldout else (pools.seen_targets or pools.targets)
        choices = [s for s in pool if not avoid or s.name not in avoid] or pool
        return rng.choices(choices, weights=[s.weight for s in choices])[0]

    def _offer(self, required: list[FunctionSpec], exclude: frozenset[str] = frozenset(),
               lookalike: FunctionSpec | None = None, library_ok: bool | None = None) -> list[FunctionSpec]:
        """The offered tools: ``required``, then distractors (never one in ``exclude``). A quarter
        of the time nothing else (a single tool for a no-call request); else 2 to ``max_tools``,
        half the time with a hard negative from the required function's domain. ``lookalike``
        (a function that is not offered) puts first the distractor whose parameters look most
        like its own, a tool that is tempting to call and wrong. Each other distractor is a library
        function with probability ``library_rate``, unless ``library_ok`` is False or (None) a function
        the request involves, or a distractor already chosen, is of a domain a library function could
        serve (``KEEP_AWAY_DOMAINS``; checking the chosen ones too only ever offers fewer)."""
        rng = self.rng
        chosen = list(dict.fromkeys(required))
        limit = max(self.max_tools, len(chosen))
        if len(chosen) > MAX_TOOLS:
            raise ValueError(f"{len(chosen)} functions needed but at most {MAX_TOOLS} may be offered")
        fewest = 1 if rng.random() < 0.25 else 2
        total = rng.randint(max(fewest, len(chosen)), limit)
        taken = {s.name for s in chosen} | set(exclude)
        if lookalike is not None:
            best = _lookalikes(lookalike, [s for s in self.pools.offerable if s.name not in taken])
            if best:
                chosen.append(rng.choice(best))
                taken.add(chosen[-1].name)
        if chosen and len(chosen) < total and rng.random() < 0.5:  # a hard negative from the same domain
            same = [s for s in self.pools.offerable if s.domain == chosen[0].domain and s.name not in taken]
            if same:
                chosen.append(rng.choice(same))
                taken.add(chosen[-1].name)
        others = [s for s in self.pools.offerable if s.name not in taken]
        wanted, from_library = total - len(chosen), 0
        if library_ok is None:
            library_ok = not self._keeps_away(taken)
        if wanted > 0 and self.library_rate and self.pools.library and library_ok:
            from_library = sum(rng.random() < self.library_rate for _ in range(wanted))
        chosen += rng.sample(others, min(wanted - from_library, len(others)))
        if from_library:
            chosen += rng.sample(self.pools.library, from_library)
            self._meta_extra["library_tools"] = from_library
        rng.shuffle(chosen)
        return chosen

    @staticmethod
    def _keeps_away(names: set[str]) -> bool:
        """Whether a request involving these functions must not meet library tools (one could serve it)."""
        return any(name in BY_NAME and BY_NAME[name].domain in KEEP_AWAY_DOMAINS for name in names)

    def _request(self, spec: FunctionSpec, args: Args, *, greet: bool = True) -> str:
        text, starts_with_slot = ph.describe(self.rng, spec, args)
        return ph.polish(self.rng, text, starts_with_slot=starts_with_slot, greet=greet)

    def _answer(self, spec: FunctionSpec, args: Args, output: dict) -> str:
        slots = spec.output_slots(args, output)
        templates = [t for t in spec.answers if template_fields(t) <= slots.keys()]
        if not templates:
            raise ValueError(f"{spec.name}: no answer template fits the output {sorted(output)}")
        return self.rng.choice(templates).format_map(slots)

    def _vary(self, spec: FunctionSpec, args: Args) -> Args | None:
        """``args`` with the ``spec.vary`` value replaced by a different one, or None."""
        if spec.vary is None or spec.vary not in args:
            return None
        for _ in range(8):
            value = spec.sample(self.rng).get(spec.vary)
            if value is not None and value != args[spec.vary] and value not in args.values():
                return {**args, spec.vary: value}
        return None

    @staticmethod
    def _execute(calls: list[tuple[FunctionSpec, Args]]) -> tuple[dict, list[dict], list[dict]]:
        outputs = [spec.execute(args) for spec, args in calls]
        assistant = {"role": "assistant", "content": "",
                     "tool_calls": [{"name": spec.name, "arguments": args} for spec, args in calls]}
        tools = [{"role": "tool", "name": spec.name, "content": json.dumps(out, ensure_ascii=False)}
                 for (spec, _), out in zip(calls, outputs, strict=True)]
        return assistant, tools, outputs

    def _call_turn(self, user: str, calls: list[tuple[FunctionSpec, Args]]) -> list[dict]:
        assistant, tools, outputs = self._execute(calls)
        answers = [self._answer(spec, args, out) for (spec, args), out in zip(calls, outputs, strict=True)]
        return [{"role": "user", "content": user}, assistant, *tools,
                {"role": "assistant", "content": ph.join_answers(self.rng, answers)}]

    # ------------------------------------------------------------------ kinds
    def single(self) -> tuple[list[dict], list[FunctionSpec], list[str]]:
        spec = self._target()
        args = spec.sample(self.rng)
        return self._call_turn(self._request(spec, args), [(spec, args)]), self._offer([spec]), [spec.name]

    def parallel(self) -> tuple[list[dict], list[FunctionSpec], list[str]]:
        rng = self.rng
        spec = self._target()
        args = spec.sample(rng)
        mode = rng.random()
        varied = self._vary(spec, args) if spec.vary and mode < self.repeat_rate else None
        if varied is not None and spec.pair_requests and rng.random() < 0.4:
            slots = {"x1": spec.slots(args)[spec.vary], "x2": spec.slots(varied)[spec.vary]}
            text, sws = ph.describe(rng, spec, args, spec.pair_requests, slots, skip=(spec.vary,))
            calls = [(spec, args), (spec, varied)]
            user = ph.polish(rng, text, starts_with_slot=sws)
        elif varied is not None:  # "... in Paris and London" / "..., then repeat with 15 instead of 20"
            calls = [(spec, args), (spec, varied)]
            if rng.random() < 0.3:
                third = self._vary(spec, args)
                if third is not None and all(third != a for _, a in calls):
                    calls.append((spec, third))
            text, sws = ph.describe(rng, spec, args)
            values = [spec.slots(a)[spec.vary] for _, a in calls]
            both = ph.conjoin_values(rng, text, values[0], values[1:]) if rng.random() < CONJOIN_RATE else None
            user = ph.polish(rng, both or ph.repeat_request(rng, text, values[0], values[1:]), starts_with_slot=sws)
        else:
            if mode < 0.6:  # the same function twice or three times, independent arguments
                calls = [(spec, args)]
                for _ in range(rng.choice((1, 1, 2))):
                    other = spec.sample(rng)
                    if all(other != a for _, a in calls):
                        calls.append((spec, other))
            else:
                calls = [(spec, args)]
            while len(calls) < 2 or (len(calls) < 3 and rng.random() < 0.25):
                other_spec = self._target(avoid={s.name for s, _ in calls})
                calls.append((other_spec, other_spec.sample(rng)))
            parts = [ph.describe(rng, s, a) for s, a in calls]
            user = ph.polish(rng, ph.join_requests(rng, [text for text, _ in parts]), starts_with_slot=parts[0][1])
        specs = list(dict.fromkeys(s for s, _ in calls))
        return self._call_turn(user, calls), self._offer(specs), [s.name for s, _ in calls]

    def sequential(self) -> tuple[list[dict], list[FunctionSpec], list[str]]:
        rng, pools = self.rng, self.pools
        with_heldout = [c for c in pools.chains if {c.first, c.second} & pools.heldout]
        use_heldout = with_heldout and rng.random() < pools.heldout_share
        chain = rng.choice(with_heldout if use_heldout else [c for c in pools.chains if c not in with_heldout]
                           or pools.chains)
        first, second = BY_NAME[chain.first], BY_NAME[chain.second]
        args1, extra = chain.sample(rng)
        text, sws = ph.describe(rng, first, args1, chain.requests, extra, skip=chain.implied)
        call1, tool1, (out1,) = self._execute([(first, args1)])
        args2 = chain.link(args1, out1, extra, rng)
        call2, tool2, (out2,) = self._execute([(second, args2)])
        answer = rng.choice(chain.answers).format_map(chain.answer_slots(args1, out1, args2, out2))
        messages = [{"role": "user", "content": ph.polish(rng, text, starts_with_slot=sws)}, call1, *tool1, call2,
                    *tool2, {"role": "assistant", "content": answer}]
        return messages, self._offer([first, second]), [first.name, second.name]

    def multi_turn(self) -> tuple[list[dict], list[FunctionSpec], list[str]]:
        rng = self.rng
        plan: list[tuple[str, FunctionSpec | None]] = []
        if rng.random() < 0.2:
            plan.append(("greeting", None))
        plan.append(("call", self._target()))
        for _ in range(rng.choice((1, 1, 2, 2, 3)) - (plan[0][0] == "greeting")):
            last = next(s for kind, s in reversed(plan) if s is not None)
            roll = rng.random()
            if roll < 0.3 and last.vary:
                plan.append(("followup", last))
            elif roll < 0.7 and len({s.name for _, s in plan if s}) < 3:
                plan.append(("call", self._target(avoid={s.name for _, s in plan if s})))
            elif roll < 0.85:
                plan.append(("knowledge", None))
            else:
                plan.append(("irrelevant", None))
        if rng.random() < 0.4:
            plan.append(("thanks", None))
        required = list(dict.fromkeys(s for _, s in plan if s is not None))
        needed = {s.name for s in required}
        if needed & ph.KNOWLEDGE_UNFIT:  # a knowledge question is answered directly only where no tool could
            plan = [("thanks", None) if kind == "knowledge" else (kind, s) for kind, s in plan]
        asked, blocked = None, ph.KNOWLEDGE_UNFIT - needed if any(k == "knowledge" for k, _ in plan) else frozenset()
        if any(kind == "irrelevant" for kind, _ in plan):
            candidates = [s for s in self.pools.targets if not excluded_with(s) & needed]
            asked = rng.choice(candidates) if candidates else None
            blocked = blocked | (excluded_with(asked) if asked else frozenset())
        offered = self._offer(required, blocked)
        messages, called, last_call = [], [], None
        for kind, spec in plan:
            if kind == "greeting":
                messages += _exchange(*rng.choice(ph.GREETINGS))
            elif kind == "knowledge":
                messages += _exchange(*rng.choice(ph.KNOWLEDGE))
            elif kind == "thanks":
                messages += _exchange(*rng.choice(ph.THANKS))
            elif kind == "irrelevant":
                if asked is None or asked.name in {s.name for s in offered}:
                    knows = not {s.name for s in offered} & ph.KNOWLEDGE_UNFIT
                    messages += _exchange(*rng.choice(ph.KNOWLEDGE if knows else ph.THANKS))
                    continue
                text = self._request(asked, asked.sample(rng), greet=not messages)
                messages += _exchange(text, ph.refusal(rng, asked.task, offered))
            elif kind == "followup" and last_call is not None and last_call[0] is spec:
                varied = self._vary(spec, last_call[1])
                if varied is None:
                    messages += _exchange(*rng.choice(ph.THANKS))
                    continue
                x = spec.slots(varied)[spec.vary]
                messages += self._call_turn(rng.choice(spec.followups or ph.FOLLOWUPS).format(x=x), [(spec, varied)])
                called.append(spec.name)
                last_call = (spec, varied)
            else:
                args = spec.sample(rng)
                messages += self._call_turn(self._request(spec, args, greet=not messages), [(spec, args)])
                called.append(spec.name)
                last_call = (spec, args)
        return messages, offered, called

    def no_call_irrelevant(self) -> tuple[list[dict], list[FunctionSpec], list[str]]:
        rng = self.rng
        if rng.random() < 0.6:
            spec = self._target()
            text = self._request(spec, spec.sample(rng))
            near = [s for s in self.pools.offerable if s.domain == spec.domain and s.name not in serving(spec)]
            if near and rng.random() < self.near_miss_rate:  # a function of the same domain that cannot serve it
                offered = self._offer([rng.choice(near)], serving(spec))
                self._meta_extra["near_miss"] = True
            else:
                lookalike = spec if rng.random() < self.lookalike_rate else None
                offered = self._offer([], excluded_with(spec), lookalike=lookalike)
            self._meta_extra["unavailable_function"] = spec.name
            return _exchange(text, ph.refusal(rng, spec.task, offered)), offered, []
        request, task, domains = rng.choice(ph.OUTSIDE_REQUESTS)
        blocked = frozenset(s.name for s in CATALOGUE if s.domain in domains)
        offered = self._offer([], blocked)
        return _exchange(ph.polish(rng, request), ph.refusal(rng, task, offered)), offered, []

    def no_call_chitchat(self) -> tuple[list[dict], list[FunctionSpec], list[str]]:
        rng = self.rng
        offered = self._offer([], ph.KNOWLEDGE_UNFIT, library_ok=True)  # no library function answers these
        roll = rng.random()
        if roll < 0.25:
            user, answer = rng.choice(ph.GREETINGS)
        elif roll < 0.4:
            user, answer = rng.choice(ph.CAPABILITY_QUESTIONS)
            answer = answer.format(caps=ph.capabilities(offered))
        else:
            user, answer = rng.choice(ph.KNOWLEDGE)
        return _exchange(user, answer), offered, []

    # ------------------------------------------------------------------ one record
    def build(self, kind: str) -> dict:
        """One canonical record of ``kind``.

        ``meta``: ``kind``, ``functions`` (names called, in order), ``heldout_function`` (a held-out
        function is called), ``offered_heldout`` (one is offered) and, for an irrelevant request
        written for a catalogue function that is not offered, ``unavailable_function``.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        self._meta_extra = {}
        messages, offered, called = getattr(self, kind)()
        if self.rng.random() < self.system_prompt_rate:
            messages = [{"role": "system", "content": self.rng.choice(ph.SYSTEM_PROMPTS)}, *messages]
        heldout = self.pools.heldout
        tools = [s.tool() if isinstance(s, LibraryTool) else json.loads(_TOOL_JSON[s.name]) for s in offered]
        record = {"messages": messages, "tools": tools,
                  "meta": {"source": "synthetic", "kind": kind, "functions": called,
                           "heldout_function": any(name in heldout for name in called),
                           "offered_heldout": any(s.name in heldout for s in offered), **self._meta_extra}}
        if self.mask_rate and self.rng.random() < self.mask_rate:
            record = mask_record(record, self.rng)
        return record


def _param_types(spec: FunctionSpec) -> Counter:
    types = (p.get("type") for p in spec.parameters.get("properties", {}).values())
    return Counter(tuple(t) if isinstance(t, list) else t for t in types)


def _lookalikes(spec: FunctionSpec, candidates: list[FunctionSpec]) -> list[FunctionSpec]:
    """The candidates sharing the most parameter types with ``spec`` (at least one)."""
    want = _param_types(spec)
    scores = {c.name: sum((_param_types(c) & want).values()) for c in candidates}
    top = max(scores.values(), default=0)
    return [c for c in candidates if top and scores[c.name] == top]


def _exchange(user: str, answer: str) -> list[dict]:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
