"""Schema-constrained decoding of tool-call arguments (xgrammar), model-agnostic.

The building block of heads-mode inference (DESIGN.md, "Inference: the loop"): once a
function is chosen and :meth:`ToolCallFormat.call_prefix` written, its arguments are
decoded token by token under a grammar compiled from the function's JSON schema, so
the result always parses and matches the schema (within what xgrammar enforces, see
"Limits" below).

Three layers:

* :class:`SchemaCompiler` -- one per (tokenizer, vocab size); compiles a schema once
  and caches the grammar by the schema's JSON text (property order matters: xgrammar
  writes properties in schema order, so keys are not sorted).
* :class:`ConstrainedDecoder` -- one grammar matcher for one call: ``select(logits)``
  masks disallowed tokens and picks one (greedy, or sampled with a generator),
  ``accept(token)`` advances, ``done`` says the object (and ``suffix``) is complete.
  A decode loop of one's own (argument head, hidden states) drives this directly.
* :class:`CopyBias` -- an optional nudge inside argument strings and numbers towards text
  and numbers the conversation said (see its docstring); :meth:`ConstrainedDecoder.select`
  applies it.
* :func:`decode_arguments` -- the loop over a ``step_fn(token_id) -> logits`` callable,
  and :func:`generate_arguments` -- the same with a plain transformers causal LM and a
  KV cache, one token per step.

JSON is written as :func:`fc_finetune.data.tool_format.dumps` writes it (``", "`` and
``": "``, no other whitespace), which is the layout the model was trained on.
``prefix``/``suffix`` let the grammar cover literal text around the object, e.g. the
space after ``"arguments":`` or the ``}`` + ``call_close`` after it, so tokens that the
tokenizer merges across those boundaries stay reachable.

Limits (xgrammar 0.2.8): ``type``, ``properties``, ``required``, ``enum``, ``const``,
``minimum``/``maximum``/``exclusive*``, ``minLength``/``maxLength``, ``pattern``,
``minItems``/``maxItems``, ``items``/``prefixItems``, ``anyOf``/``oneOf``, ``$ref``/``$defs``,
``additionalProperties``, ``multipleOf``, ``format: date`` are enforced (tests cover
them); properties come out in schema order and, without ``additionalProperties``, no
others (xgrammar's strict mode). ``uniqueItems`` is NOT enforced (seen producing
``[4, 4]``), nor presumably ``minProperties``/``maxProperties``/``not``/``if``; keywords
xgrammar does not know are ignored, so validate the result with ``jsonschema`` where
that matters (the executor does). xgrammar's rule for strings with
``minLength``/``maxLength`` allows raw control characters and no escapes; it is patched
here (:func:`_fix_bounded_strings`) to JSON's string rule. An unbounded string or number can run until
``max_tokens``, which raises :class:`ArgumentDecodingError` rather than returning a
truncated object. Inside a value string, a token that writes what follows the value (the
closing brackets and ``suffix``, e.g. ``}}</tool_call>``: a small model that left out the
closing quote) closes the string instead (:meth:`ConstrainedDecoder.select`).

Installation: ``make setup`` installs ``xgrammar`` with ``--no-deps`` (its Linux wheel
declares ``triton``, ~290 MB, which the CPU path never imports) plus its real runtime
requirements; see the Makefile.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import torch

from ..errors import FcFinetuneError
from ..model.compat import cache_of, with_cache

logger = logging.getLogger(__name__)

#: Separators of ``json.dumps`` (and so of ``tool_format.dumps``): item, key.
JSON_SEPARATORS = (", ", ": ")
MAX_DIGIT_RUN = 16  # the longest run of digits a decoded value may have (see ConstrainedDecoder)
MAX_EXPONENT_DIGITS = 2  # a number's exponent has at most this many digits: 1e99 is a float, 1e999 is inf
_EXPONENT = re.compile(r"[0-9.][eE][+-]?([0-9]*)$")
MAX_CYCLE_PERIOD, MAX_CYCLE_REPEATS = 4, 8  # a cycle of <= 4 tokens may repeat 8 times in a row
COPY_TOP_K = 16  # a copy bias looks at this many of the best allowed tokens of a step

# The numbers a text says (request_numbers): digits with an optional sign, thousands separators
# and decimals, and a percent or a scale after them ("5%", "2 million", "$1.2M", "10k"); number
# words ("twenty-five").
_SAID_NUMBER = re.compile(r"(?<![\w.])(-?)(\d{1,3}(?:,\d{3})+(?!,?\d)|\d+)(\.\d+)?(?!\.?\d)([eE][+-]?\d+\b)?"
                          r"(\s*%|\s+(?i:percent|thousand|million|billion)\b|(?:[kKM]|bn)\b)?")
_SCALES = {"%": Decimal("0.01"), "percent": Decimal("0.01"), "thousand": Decimal(1000), "k": Decimal(1000),
           "million": Decimal(10) ** 6, "m": Decimal(10) ** 6, "billion": Decimal(10) ** 9, "bn": Decimal(10) ** 9}
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_NUMBER_WORDS = {**{w: n for n, w in enumerate(_UNITS)}, **_TENS, "dozen": 12, "hundred": 100, "thousand": 1000}
_WORD_NUMBER = re.compile(rf"\b(?:({'|'.join(_TENS)})[- ]({'|'.join(_UNITS[1:10])})|({'|'.join(_NUMBER_WORDS)}))\b", re.I)
_DIGITS, _NUMBER_CHARS = frozenset("0123456789"), frozenset("0123456789.eE+-")


class ArgumentDecodingError(FcFinetuneError):
    """Constrained decoding did not produce a complete arguments object."""


def _xgrammar():
    # Imported on first use: xgrammar is installed by `make setup` outside the dependencies
    # (without triton), and heads-mode decoding is its only user.
    try:
        import xgrammar
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Constrained argument decoding needs xgrammar 0.2.8: run `make setup`, or "
            "`pip install --no-deps xgrammar==0.2.8 apache-tvm-ffi pydantic` (without --no-deps pip "
            "also installs triton, which the CPU path does not need)."
        ) from exc
    return xgrammar


def _schema_text(schema: dict | str) -> str:
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError:
            return schema  # compile() reports it
    return json.dumps(_declare_required(schema), ensure_ascii=False)


_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def _declare_required(schema):
    """``schema`` with every ``required`` name declared in its object's ``properties`` (as
    any value, ``{}``, where it was missing). xgrammar only enforces required names that are
    declared, so ``{"type": "object", "required": ["adults"]}`` (no properties; BFCL has such
    parameters) would let ``{}`` through, which the schema rejects."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {k: _declare_required(v) for k, v in out[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_declare_required(v) for v in out[key]]
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = _declare_required(out[key])
    required = out.get("required")
    if isinstance(required, list):
        properties = dict(out.get("properties") or {})
        missing = [name for name in required if isinstance(name, str) and name not in properties]
        if missing:
            out["properties"] = {**properties, **{name: {} for name in missing}}
    return out


# xgrammar 0.2.8 writes the characters of a string with minLength/maxLength as
# [^"\\\r\n]: raw control characters (invalid JSON) allowed, escapes not. Patched
# to JSON's rule: any char but controls, '"' and '\\', or an escape sequence.
_BOUNDED_STRING_CHAR = '[^\\"\\\\\\r\\n]'
_JSON_STRING_CHAR = '[^\\0-\\x1f\\"\\\\]'


def _fix_bounded_strings(xgr, grammar):
    text = str(grammar)
    if _BOUNDED_STRING_CHAR not in text:
        return grammar
    char = _JSON_STRING_CHAR
    if "basic_escape ::=" in text:
        char = f'({char}) | ("\\\\" basic_escape)'
    try:
        return xgr.Grammar.from_ebnf(text.replace(_BOUNDED_STRING_CHAR, char))
    except Exception:  # pragma: no cover - a future xgrammar printing differently
        logger.warning("Could not patch xgrammar's bounded-string rule; control characters may be decoded.")
        return grammar


def _literal_ebnf(text: str) -> str:
    # JSON string escapes (\n, \", \\, \uXXXX) are valid EBNF string-literal escapes.
    return "root ::= " + json.dumps(text)


class CompiledArguments(NamedTuple):
    """A compiled grammar with the literal text it wraps around the arguments object."""

    grammar: Any  # xgrammar.CompiledGrammar
    prefix: str
    suffix: str


class SchemaCompiler:
    """Compiles JSON schemas for one tokenizer and logits width, caching each grammar.

    ``vocab_size`` is the width of the logits (the model's vocabulary), which may exceed
    ``len(tokenizer)`` (padded embeddings); the extra ids are never allowed.
    """

    def __init__(self, tokenizer, vocab_size: int | None = None, *,
                 separators: tuple[str, str] = JSON_SEPARATORS, max_threads: int = 1):
        xgr = _xgrammar()
        self.vocab_size = int(vocab_size if vocab_size is not None else len(tokenizer))
        if self.vocab_size < len(tokenizer):
            raise ArgumentDecodingError(
                f"The logits have {self.vocab_size} entries but the tokenizer has {len(tokenizer)} "
                "tokens: the model and tokenizer do not match (resize the model's embeddings)."
            )
        self.separators = tuple(separators)
        self.tokenizer_info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=self.vocab_size)
        self._compiler = xgr.GrammarCompiler(self.tokenizer_info, max_threads=max_threads)
        self._cache: dict[tuple[str, str, str], CompiledArguments] = {}
        self._lock = threading.Lock()
        # Special tokens (end of turn, padding, ...): xgrammar does not know them as special
        # for these tokenizers and would allow their text inside a JSON string.
        special = set(tokenizer.all_special_ids) | {
            i for i, t in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items() if t.special}
        self.special_tokens = torch.tensor(sorted(i for i in special if 0 <= i < self.vocab_size), dtype=torch.long)
        # Tokens made of ASCII digits only, and each token's trailing digit count: for the
        # bound on digit runs in ConstrainedDecoder.
        vocab = self.vocab = self.tokenizer_info.decoded_vocab  # each token's bytes (a copy bias reads them)
        self.digit_tokens = torch.tensor([i for i, t in enumerate(vocab) if t.isdigit()], dtype=torch.long)
        self.trailing_digits = [len(t) - len(t.rstrip(b"0123456789")) for t in vocab]
        self.all_digits = [bool(t) and t.isdigit() for t in vocab]
        # Tokens that begin with a quote (one closes a string): see ConstrainedDecoder._close_instead.
        self.quote_tokens = torch.tensor([i for i, t in enumerate(vocab) if t.startswith(b'"')], dtype=torch.long)
        self.hits = self.misses = 0

    def compile(self, schema: dict | str, *, prefix: str = "", suffix: str = "") -> CompiledArguments:
        """The grammar for ``prefix + <object matching schema> + suffix`` (cached)."""
        key = (_schema_text(schema), prefix, suffix)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self.hits += 1
                return found
        xgr = _xgrammar()
        try:
            grammar = xgr.Grammar.from_json_schema(key[0], any_whitespace=False, separators=self.separators)
        except Exception as exc:  # xgrammar raises RuntimeError/InvalidJSONError on bad schemas
            raise ArgumentDecodingError(f"Cannot compile the JSON schema {key[0][:200]}: {exc}") from exc
        grammar = _fix_bounded_strings(xgr, grammar)
        parts = [xgr.Grammar.from_ebnf(_literal_ebnf(prefix))] if prefix else []
        parts.append(grammar)
        if suffix:
            parts.append(xgr.Grammar.from_ebnf(_literal_ebnf(suffix)))
        if len(parts) > 1:
            grammar = xgr.Grammar.concat(*parts)
        compiled = CompiledArguments(self._compiler.compile_grammar(grammar), prefix, suffix)
        with self._lock:
            self.misses += 1
            return self._cache.setdefault(key, compiled)


_COMPILERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_COMPILERS_LOCK = threading.Lock()


def schema_compiler(tokenizer, vocab_size: int | None = None) -> SchemaCompiler:
    """The shared :class:`SchemaCompiler` for this tokenizer object and logits width."""
    vocab_size = int(vocab_size if vocab_size is not None else len(tokenizer))
    with _COMPILERS_LOCK:
        per_tokenizer = _COMPILERS.setdefault(tokenizer, {})
        compiler = per_tokenizer.get(vocab_size)
        if compiler is None:
            compiler = per_tokenizer[vocab_size] = SchemaCompiler(tokenizer, vocab_size)
        return compiler


class ConstrainedDecoder:
    """One grammar matcher for one arguments object: mask -> select -> accept, until done."""

    def __init__(self, compiled: CompiledArguments, vocab_size: int, *, compiler: SchemaCompiler | None = None,
                 max_digit_run: int | None = MAX_DIGIT_RUN, max_cycle_repeats: int | None = MAX_CYCLE_REPEATS):
        xgr = _xgrammar()
        self.compiled = compiled
        self.vocab_size = vocab_size
        # JSON numbers (and digit strings) may be arbitrarily long, and a weak model can
        # repeat a digit until max_tokens runs out. With a compiler to say which tokens are
        # digits, a run of max_digit_run digits may not grow further (None: no bound).
        self._digits = compiler if max_digit_run else None
        self._compiler = compiler
        self.max_digit_run, self.digit_run = max_digit_run, 0
        # A number's exponent is bounded harder: "4e811" parses as inf, which no schema's
        # number accepts (seen from a 135M model on BFCL's multiple_37; see _exponent_full).
        # Likewise a string can loop ("-/-/-/-/..." seen from a 135M model): when the last
        # tokens are one cycle of up to MAX_CYCLE_PERIOD tokens repeated max_cycle_repeats
        # times, the token that would repeat it once more is not allowed (digit cycles are
        # left to the digit bound: 1000000000 is a fine number).
        self.max_cycle_repeats = max_cycle_repeats
        # Terminate when the grammar is complete: the object is followed by the caller's
        # own text (call_close), never by an end-of-sequence token.
        self.matcher = xgr.GrammarMatcher(compiled.grammar, terminate_without_stop_token=True)
        self._bitmask = xgr.allocate_token_bitmask(1, vocab_size)
        self.token_ids: list[int] = []
        self.last_margin = float("inf")  # the last select's best allowed logit above the second
        self.strings = JsonStrings()  # where the text decoded so far stands (for a copy bias)
        self.bias_changed = False  # a watching copy bias would have chosen another token (see select)

    @property
    def done(self) -> bool:
        return self.matcher.is_terminated()

    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        """A float32 copy of ``logits`` (shape ``[V]`` or ``[1, V]``) with disallowed tokens at -inf."""
        if self.done:
            raise ArgumentDecodingError("The arguments object is already complete; nothing more is allowed.")
        flat = logits.detach().reshape(-1)
        if flat.numel() != self.vocab_size:
            raise ArgumentDecodingError(
                f"Got logits over {flat.numel()} tokens but the grammar was compiled for {self.vocab_size}."
            )
        masked = flat.to(device="cpu", dtype=torch.float32).clone().reshape(1, -1)
        self.matcher.fill_next_token_bitmask(self._bitmask)
        _xgrammar().apply_token_bitmask_inplace(masked, self._bitmask)
        if self._compiler is not None and self._compiler.special_tokens.numel():
            masked[0, self._compiler.special_tokens] = float("-inf")
        if self._digits is not None and (self.digit_run >= self.max_digit_run or self._exponent_full()):
            digits = self._digits.digit_tokens
            masked = _ban(masked, digits[digits < self.vocab_size])
        repeat = self.cycle_continuation()
        if repeat is not None:
            masked = _ban(masked, torch.tensor([repeat]))
        return masked[0]

    def _exponent_full(self) -> bool:
        """Whether the number being written ends with an exponent of MAX_EXPONENT_DIGITS digits."""
        found = _EXPONENT.search(self.strings.number)
        return found is not None and len(found.group(1)) >= MAX_EXPONENT_DIGITS

    def cycle_continuation(self) -> int | None:
        """The token that would repeat the current cycle once more, if the decoded tokens
        end with ``max_cycle_repeats`` copies of a cycle of at most MAX_CYCLE_PERIOD tokens."""
        ids, repeats = self.token_ids, self.max_cycle_repeats
        if not repeats:
            return None
        for period in range(1, MAX_CYCLE_PERIOD + 1):
            span = period * repeats
            if len(ids) < span or any(ids[-i] != ids[-i - period] for i in range(1, span - period + 1)):
                continue
            cycle = ids[-period:]
            digits = self._compiler.all_digits if self._compiler is not None else None
            if digits is not None and all(t < len(digits) and digits[t] for t in cycle):
                continue
            return ids[-period]
        return None

    def select(self, logits: torch.Tensor, *, temperature: float = 0.0,
               generator: torch.Generator | None = None, ban: Sequence[int] = (),
               bias: CopyBias | None = None) -> int:
        """The next token among the allowed ones: argmax, or a sample at ``temperature``;
        ``ban``: tokens not to take here (ignored where they are all that is allowed);
        ``bias``: a :class:`CopyBias` added to the allowed logits (one that only ``watches``
        changes nothing, and sets ``bias_changed`` where it would have changed the greedy choice).
        A choice that writes the end of the call inside a value string closes the string
        instead (:meth:`_close_instead`)."""
        masked = self.mask(logits)
        if len(ban):
            masked = _ban(masked[None], torch.as_tensor(list(ban), dtype=torch.long))[0]
        if bias is not None and self._compiler is not None:
            biased = bias.apply(masked, self.strings, self._compiler.vocab)
            if bias.watch:
                self.bias_changed |= biased is not masked and int(torch.argmax(biased)) != int(torch.argmax(masked))
            else:
                masked = biased
        self.last_margin = _margin(masked)
        if not torch.isfinite(masked).any():
            raise ArgumentDecodingError(
                "No token allowed by the schema has a finite logit (the model gives them all -inf)."
            )
        if temperature and temperature > 0:
            probs = torch.softmax(masked / temperature, dim=-1)
            token = int(torch.multinomial(probs, 1, generator=generator).item())
        else:
            token = int(torch.argmax(masked).item())
        return self._close_instead(token, masked)

    def _close_instead(self, token: int, masked: torch.Tensor) -> int:
        """Inside a value string, a token that writes what comes after the value (the open
        containers' closing brackets, then the grammar's suffix: ``}}</tool_call>``; or the
        suffix's markup alone) means the model is done with the value and left out its closing
        quote; left alone, the string runs on until ``max_tokens``. The best allowed token that
        closes the string is taken instead (where one is allowed; not while the value holds a
        ``{`` of its own that the bracket would close)."""
        if self._compiler is None or not self.strings.in_value or self.strings.escape or not self.compiled.suffix:
            return token  # (after a backslash a quote would not close the string)
        text, value = _token_text(self._compiler.vocab, token), self.strings.value
        after = "".join("}" if c == "{" else "]" for c in reversed(self.strings.stack)) + self.compiled.suffix
        if not text or not (after.startswith(text) or after.lstrip("}]").startswith(text)) \
                or value.count("{") > value.count("}"):
            return token
        closers = self._compiler.quote_tokens
        scores = masked[closers]
        if not torch.isfinite(scores).any():
            return token
        return int(closers[int(torch.argmax(scores))])

    def accept(self, token_id: int) -> None:
        if not self.matcher.accept_token(int(token_id)):
            raise ArgumentDecodingError(f"Token {token_id} is not allowed here by the schema's grammar.")
        self.token_ids.append(int(token_id))
        if self._compiler is not None:
            self.strings.feed(_token_text(self._compiler.vocab, token_id))
        if self._digits is not None and token_id < len(self._digits.trailing_digits):
            trailing = self._digits.trailing_digits[token_id]
            self.digit_run = self.digit_run + trailing if self._digits.all_digits[token_id] else trailing

    def text(self, tokenizer) -> str:
        return tokenizer.decode(self.token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def arguments(self, tokenizer) -> dict:
        """The decoded object (the grammar's prefix and suffix stripped); needs ``done``."""
        if not self.done:
            raise ArgumentDecodingError("The arguments object is not complete yet.")
        text = self.text(tokenizer)
        prefix, suffix = self.compiled.prefix, self.compiled.suffix
        if not (text.startswith(prefix) and text.endswith(suffix)):
            raise ArgumentDecodingError(f"Decoded text {text!r} does not start with {prefix!r} and end with {suffix!r}.")
        body = text[len(prefix): len(text) - len(suffix)]
        try:
            return json.loads(body)
        except json.JSONDecodeError as exc:  # would be an xgrammar/tokenizer bug
            raise ArgumentDecodingError(f"Decoded arguments are not JSON: {body!r} ({exc})") from exc


def _margin(masked: torch.Tensor) -> float:
    """How far the best allowed logit is above the second (``inf``: only one is allowed)."""
    top = masked.topk(2).values
    return float(top[0] - top[1]) if torch.isfinite(top[1]) else float("inf")


def _ban(masked: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """``masked`` with ``tokens`` also at -inf, unless that would leave nothing allowed."""
    capped = masked.clone()
    capped[0, tokens] = float("-inf")
    return capped if torch.isfinite(capped).any() else masked


def _token_text(vocab: Sequence[bytes], token_id: int) -> str:
    """A token's text (xgrammar's decoded vocabulary: the bytes it writes, leading space
    included); a token that ends inside a UTF-8 character gives replacement characters."""
    return vocab[token_id].decode("utf-8", errors="replace") if 0 <= token_id < len(vocab) else ""


class JsonStrings:
    """Where a JSON text scanned so far stands: inside a string or not, whether that string is
    an object key or a value, and the value's text so far (as written, escapes not undone).
    Text outside the JSON (a grammar's prefix or suffix) passes through: it has no quotes."""

    __slots__ = ("stack", "in_string", "is_key", "escape", "value", "expect_key", "number")

    def __init__(self):
        self.stack: list[str] = []  # "{" or "[" for each open container
        self.in_string = self.is_key = self.escape = False
        self.value = ""  # the open value string's text so far
        self.expect_key = False  # in an object, after "{" or ",": the next string is a key
        self.number = ""  # the number being written (outside strings) so far; "" where none is

    def copy(self) -> JsonStrings:
        other = JsonStrings.__new__(JsonStrings)
        other.stack = list(self.stack)
        other.in_string, other.is_key, other.escape = self.in_string, self.is_key, self.escape
        other.value, other.expect_key, other.number = self.value, self.expect_key, self.number
        return other

    @property
    def in_value(self) -> bool:
        """Inside a string that is a value (not a key)."""
        return self.in_string and not self.is_key

    def feed(self, text: str) -> JsonStrings:
        for char in text:
            self.step(char)
        return self

    def step(self, char: str) -> None:
        if self.in_string:
            if self.escape:
                self.escape = False
            elif char == "\\":
                self.escape = True
            elif char == '"':
                self.in_string = False
                return
            if not self.is_key:
                self.value += char
            return
        if char in _DIGITS or (char == "-" and not self.number) or (self.number and char in _NUMBER_CHARS):
            self.number += char
            return
        self.number = ""
        if char == '"':
            self.in_string, self.value = True, ""
            self.is_key = self.expect_key
            self.expect_key = False
        elif char == "{":
            self.stack.append("{")
            self.expect_key = True
        elif char == "[":
            self.stack.append("[")
            self.expect_key = False
        elif char in "}]":
            if self.stack:
                self.stack.pop()
            self.expect_key = False
        elif char == ",":
            self.expect_key = bool(self.stack) and self.stack[-1] == "{"


def request_numbers(text: str) -> set[str]:
    """The numbers ``text`` says, written as JSON writes them: "$250,000" is 250000, "5.60" 5.6,
    "three" 3, "twenty-five" 25, "5%" both 5 and 0.05, "1.5 million" and "$1.5M" both 1.5 and
    1500000, "2e-9" 0.000000002, 2e-9 and 2e-09;
    "1,5 and 10" is 1, 5 and 10 (a comma groups thousands only before three digits).

    >>> sorted(request_numbers("a loan of $400,000 at 4% for fifteen or 20.0 years"), key=float)
    ['0.04', '4', '15', '20', '400000']
    """
    return set().union(*number_mentions(text))


def number_mentions(text: str) -> list[set[str]]:
    """Each number ``text`` says, in order of kind (digits, then words), as the set of JSON
    numbers it stands for (see :func:`request_numbers`): how many times a number is said.

    >>> [sorted(forms) for forms in number_mentions("a 4 ft x 4 ft box for 5%")]
    [['4'], ['4'], ['0.05', '5']]
    """
    found = []
    for match in _SAID_NUMBER.finditer(text):
        sign, whole, fraction, exponent, scale = match.groups()
        written = sign + whole.replace(",", "") + (fraction or "") + (exponent or "")
        value = Decimal(written)
        forms = {_json_number(value)}
        if exponent:  # "2e-9" also as written, and as Python writes it (2e-09)
            forms |= {written, repr(float(value))}
        if scale:
            forms.add(_json_number(value * _SCALES[scale.strip().lower()]))
        found.append(forms)
    for match in _WORD_NUMBER.finditer(text):
        tens, unit, word = match.groups()
        found.append({str(_TENS[tens.lower()] + _NUMBER_WORDS[unit.lower()] if tens else _NUMBER_WORDS[word.lower()])})
    return found


def _json_number(value: Decimal) -> str:
    """A number as JSON writes it: no exponent, no trailing zeros after the point."""
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


class CopyBias:
    """A nudge for argument strings towards what the conversation said, spelled as it said it.

    A small model's values often come from its training data rather than the request
    ("kitchen speaker" where the user said "the headphones"). Inside a value string, the
    text written so far is found in ``sources`` where a word starts (after a space, or at a
    letter or digit after something else; case as written there; an empty value is found at
    every word start); the token that goes on copying from there, as the tokenizer writes that
    text (the first token of its own tokenisation of the rest, so "M" of "Maple" is not a
    copy, "Maple" is), gets ``weight`` added to its logit, and so does a token that closes the
    string where a found piece ends a word, and one that opens a value string writing nothing
    else or a found piece (``"`` gains over ``">``, which starts no copy). Only the ``top_k``
    best allowed tokens can gain (the bias settles the model's close choices, not a value it
    never considered); keys and what the grammar decides alone are untouched.

    Numbers likewise: a small model writes "1000000" for "$100,000" and 30 for "three hours".
    Once the model has begun a number, a token that writes on towards a number the sources say
    (:func:`request_numbers`: "$100,000" is 100000, "three" 3, "5%" 5 and 0.05) gains, and so
    does one that ends the number where it is one of them (:meth:`writes_number`).

    ``watch``: apply nothing, only report (``ConstrainedDecoder.bias_changed``) whether the
    greedy choice would have been another. One per conversation turn: it caches the sources'
    tokenisation.
    """

    WINDOW = 48  # characters of a source tokenised to find the next token of a copy

    def __init__(self, sources: Sequence[str], weight: float, tokenizer, *, top_k: int | None = None,
                 watch: bool = False):
        top_k = COPY_TOP_K if top_k is None else top_k
        if weight < 0 or top_k < 1:
            raise ValueError(f"CopyBias needs weight >= 0 and top_k >= 1, got {weight} and {top_k}")
        self.sources = [s for s in sources if s]
        self.tokenizer = tokenizer
        self.weight, self.top_k, self.watch = float(weight), int(top_k), watch
        self._starts = [[i for i in range(len(s)) if _word_start(s, i)] for s in self.sources]
        self._next: dict[tuple[int, int, int], int | None] = {}
        self.numbers: frozenset[str] = frozenset().union(*(request_numbers(s) for s in self.sources))
        self._number_starts = frozenset(n[:k] for n in self.numbers for k in range(1, len(n) + 1))

    def apply(self, masked: torch.Tensor, strings: JsonStrings, vocab: Sequence[bytes]) -> torch.Tensor:
        """``masked`` (allowed logits ``[V]``) with the bias added: a new tensor where a token gains,
        ``masked`` itself where none does."""
        if not self.sources or not self.weight or (strings.in_string and strings.is_key):
            return masked
        allowed = int(torch.isfinite(masked).sum())
        if allowed < 2:
            return masked
        top = torch.topk(masked, min(self.top_k, allowed)).indices.tolist()
        if strings.in_value:
            copies = self.copies(strings.value, vocab)
            gains = [t for t in top if t in copies or self.closes(strings, _token_text(vocab, t))]
        else:
            gains = [t for t in top if self.opens(strings, piece := _token_text(vocab, t))
                     or self.writes_number(strings, piece)]
        if not gains:
            return masked
        out = masked.clone()
        out[gains] += self.weight
        return out

    def copies(self, value: str, vocab: Sequence[bytes]) -> set[int]:
        """The tokens that go on copying a source from where ``value`` is found in it."""
        found = set()
        for k, source in enumerate(self.sources):
            for at in self._starts[k]:
                if source.startswith(value, at) and at + len(value) < len(source):
                    token = self._next_token(k, at, len(value), vocab)
                    if token is not None:
                        found.add(token)
        return found

    def _next_token(self, k: int, at: int, length: int, vocab: Sequence[bytes]) -> int | None:
        """The token after the first ``length`` characters of source ``k`` from ``at``, in the
        tokenizer's own writing of that text (from ``at``; where its tokens do not end there, of
        the rest alone)."""
        key = (k, at, length)
        if key not in self._next:
            source = self.sources[k]
            target, written, token = len(source[at: at + length].encode()), 0, None
            for t in self._ids(source[at: at + length + self.WINDOW]):
                if written == target:
                    token = t
                    break
                written += len(vocab[t]) if 0 <= t < len(vocab) else 0
                if written > target:  # the tokenizer writes across the value's end: the rest alone
                    rest = self._ids(source[at + length: at + length + self.WINDOW])
                    token = rest[0] if rest else None
                    break
            self._next[key] = token
        return self._next[key]

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []

    def opens(self, strings: JsonStrings, piece: str) -> bool:
        """Whether ``piece`` opens a value string with nothing in it yet or with a piece found in
        the sources (an opening quote merged with other text, ``">``, starts no copy)."""
        if '"' not in piece:
            return False
        state = strings.copy().feed(piece)
        return state.in_value and (not state.value or self.said(state.value, closed=False))

    def closes(self, strings: JsonStrings, piece: str) -> bool:
        """Whether ``piece`` closes the value string with a whole found piece, up to a word end."""
        if '"' not in piece:
            return False
        state = strings.copy()
        for char in piece:
            state.step(char)
            if not state.in_string:
                return bool(state.value) and self.said(state.value, closed=True)
        return False

    def writes_number(self, strings: JsonStrings, piece: str) -> bool:
        """Whether ``piece``, outside strings, writes on a number that is so far the start of
        one the sources say, or ends the number where it is one of them. A number's first
        character is the model's own: which value a parameter takes, and whether it takes one
        at all, is not the bias's to choose (a bias that starts numbers gives a made-up
        ``"initial_speed"`` a said value, and favours a merged ``" -"`` over a space before a
        digit)."""
        if not self.numbers or not strings.number:  # (a number is only written outside strings)
            return False
        state = strings.copy()
        for char in piece:
            number = state.number
            state.step(char)
            if not state.number:  # the piece ends the number
                return number in self.numbers
        return state.number in self._number_starts

    def said(self, text: str, *, closed: bool) -> bool:
        """Whether ``text`` is in a source from a word start (and, ``closed``, up to a word end)."""
        for source in self.sources:
            at = source.find(text)
            while at >= 0:
                end = at + len(text)
                ends = end == len(source) or not (text[-1].isalnum() and source[end].isalnum())
                if _word_start(source, at) and (ends or not closed):
                    return True
                at = source.find(text, at + 1)
        return False


def _word_start(text: str, at: int) -> bool:
    """Whether a word starts at ``text[at]``: not a space, and after a space (or the start), or a
    letter or digit after something else."""
    char = text[at]
    if char.isspace():
        return False
    return at == 0 or text[at - 1].isspace() or (char.isalnum() and not text[at - 1].isalnum())


class _Decoded(NamedTuple):
    arguments: dict
    token_ids: list[int]


class DecodedArguments(_Decoded):
    """``(arguments, token_ids)``, and ``margins``: for each token, its logit above the best
    other allowed token's (``inf``: the grammar allowed nothing else), and ``bias_changed``
    (a watching copy bias would have chosen another token somewhere), attributes outside the
    tuple, so it unpacks and compares as the pair."""

    def __new__(cls, arguments: dict, token_ids: list[int], margins: list[float] | None = None,
                bias_changed: bool = False):
        self = super().__new__(cls, arguments, token_ids)
        self.margins = list(margins or [])
        self.bias_changed = bias_changed
        return self


def decode_arguments(step_fn: Callable[[int | None], torch.Tensor], tokenizer, schema: dict | str, *,
                     max_tokens: int, first_logits: torch.Tensor | None = None, prefix: str = "",
                     suffix: str = "", temperature: float = 0.0, generator: torch.Generator | None = None,
                     compiler: SchemaCompiler | None = None,
                     ban: Callable[[list[int]], Sequence[int]] | None = None,
                     bias: CopyBias | None = None) -> DecodedArguments:
    """Decode one arguments object under ``schema``.

    ``step_fn(token_id)`` feeds the token just accepted to the model and returns the next
    logits (``[V]`` or ``[1, V]``); the logits for the first token are ``first_logits``, or
    ``step_fn(None)`` when not given. The last token (which completes the object, or
    ``suffix``) is *not* fed: the caller feeds it together with the text that follows.
    ``ban(token_ids)`` (optional) names tokens not to take after ``token_ids`` (a decoder that
    must not write the same call twice). ``bias`` (optional): a :class:`CopyBias`, applied at
    every step (or, watching, only reported in ``bias_changed``).
    Returns the parsed object, the token ids (prefix and suffix tokens included) and each
    token's margin over the best other allowed token.
    Raises :class:`ArgumentDecodingError` when ``max_tokens`` run out first.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    logits = step_fn(None) if first_logits is None else first_logits
    vocab_size = int(logits.shape[-1])
    if compiler is None:
        compiler = schema_compiler(tokenizer, vocab_size)
    decoder = ConstrainedDecoder(compiler.compile(schema, prefix=prefix, suffix=suffix), vocab_size,
                                 compiler=compiler)
    margins = []
    for step in range(max_tokens):
        token = decoder.select(logits, temperature=temperature, generator=generator,
                               ban=ban(decoder.token_ids) if ban is not None else (), bias=bias)
        margins.append(decoder.last_margin)
        decoder.accept(token)
        if decoder.done:
            return DecodedArguments(decoder.arguments(tokenizer), decoder.token_ids, margins, decoder.bias_changed)
        if step + 1 < max_tokens:
            logits = step_fn(token)
    raise ArgumentDecodingError(
        f"The arguments were not complete after max_tokens={max_tokens} tokens "
        f"(so far: {decoder.text(tokenizer)[:200]!r}); raise max_tokens or bound the schema's "
        "strings and arrays (maxLength, maxItems)."
    )


@torch.inference_mode()
def generate_arguments(lm, tokenizer, prompt_ids: Sequence[int] | torch.Tensor, schema: dict | str,
                       max_tokens: int = 256, **kwargs: Any) -> DecodedArguments:
    """:func:`decode_arguments` with a plain transformers causal LM: KV cache, one token per step.

    ``prompt_ids`` is the text before the arguments (e.g. the tokenized chat with
    ``call_prefix``); ``kwargs`` go to :func:`decode_arguments` (``prefix``, ``suffix``,
    ``temperature``, ``generator``, ``compiler``).
    """
    ids = torch.as_tensor(prompt_ids, dtype=torch.long).reshape(1, -1)
    device = next(lm.parameters()).device
    out = lm(input_ids=ids.to(device), use_cache=True)
    state = {"past": cache_of(out)}

    def step(token: int | None) -> torch.Tensor:
        out = lm(input_ids=torch.tensor([[token]], device=device), use_cache=True, **with_cache(state["past"]))
        state["past"] = cache_of(out)
        return out.logits[0, -1]

    return decode_arguments(step, tokenizer, schema, max_tokens=max_tokens, first_logits=out.logits[0, -1],
                            **kwargs)
