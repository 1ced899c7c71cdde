"""Schema-constrained argument decoding (fc_finetune.inference.constrained) with tiny random models."""

from __future__ import annotations

import json
import math
import time

import pytest
import torch

jsonschema = pytest.importorskip("jsonschema")
xgr = pytest.importorskip("xgrammar")

from fc_finetune.data.tool_format import HERMES  # noqa: E402
from fc_finetune.inference.constrained import (  # noqa: E402
    ArgumentDecodingError,
    ConstrainedDecoder,
    SchemaCompiler,
    decode_arguments,
    generate_arguments,
    schema_compiler,
)
from fc_finetune.testing import tiny_model, tiny_tokenizer  # noqa: E402


def obj(properties: dict, required: list[str] | None = None, **extra) -> dict:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required, **extra}


STR = {"type": "string", "maxLength": 8}
# Every string and number is bounded, so a greedy random model terminates.
SCHEMAS: dict[str, dict] = {
    "enum": obj({"unit": {"type": "string", "enum": ["celsius", "fahrenheit", "kelvin"]}}),
    "enum_mixed": obj({"v": {"enum": ["a", 1, True, None]}}),
    "const": obj({"c": {"const": "fixed"}}),
    "integer_bounds": obj({"n": {"type": "integer", "minimum": 0, "maximum": 100}}),
    "integer_negative": obj({"n": {"type": "integer", "minimum": -50, "maximum": -3}}),
    "integer_exclusive": obj({"n": {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 4}}),
    "number_bounds": obj({"x": {"type": "number", "minimum": -1.5, "maximum": 2.5}}),
    "number_unit": obj({"p": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}}),
    "multiple_of": obj({"n": {"type": "integer", "multipleOf": 5, "minimum": 0, "maximum": 50}}),
    "boolean": obj({"flag": {"type": "boolean"}}),
    "null_or_int": obj({"n": {"type": ["integer", "null"], "minimum": 0, "maximum": 9}}),
    "string_max": obj({"city": STR}),
    "string_min_max": obj({"code": {"type": "string", "minLength": 3, "maxLength": 5}}),
    "string_pattern": obj({"s": {"type": "string", "pattern": "^[a-z]{2,4}$"}}),
    "string_date": obj({"d": {"type": "string", "format": "date"}}),
    "nested": obj({"loc": obj({"city": STR, "zip": {"type": "integer", "minimum": 0, "maximum": 99999}}),
                   "unit": {"enum": ["c", "f"]}}),
    "deep": obj({"a": obj({"b": obj({"c": {"type": "boolean"}, "d": {"enum": [1, 2]}})})}),
    "array_strings": obj({"tags": {"type": "array", "items": STR, "minItems": 1, "maxItems": 3}}),
    "array_ints_exact": obj({"xs": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 9},
                                    "minItems": 2, "maxItems": 2}}),
    "array_objects": obj({"items": {"type": "array", "minItems": 1, "maxItems": 2,
                                    "items": obj({"name": STR, "qty": {"type": "integer", "minimum": 1,
                                                                       "maximum": 5}})}}),
    "array_empty_ok": obj({"xs": {"type": "array", "items": {"enum": ["x", "y"]}, "maxItems": 2}}),
    "optional": obj({"q": STR, "limit": {"type": "integer", "minimum": 1, "maximum": 10},
                     "lang": {"enum": ["en", "fr"]}}, required=["q"]),
    "all_optional": obj({"a": {"type": "boolean"}, "b": {"enum": ["x"]}}, required=[]),
    "no_properties": {"type": "object", "properties": {}},
    "any_of": obj({"o": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 3}, STR]}}),
    "refs": {"type": "object", "$defs": {"pt": obj({"x": {"type": "integer", "minimum": 0, "maximum": 9},
                                                     "y": {"type": "integer", "minimum": 0, "maximum": 9}})},
             "properties": {"a": {"$ref": "#/$defs/pt"}, "b": {"$ref": "#/$defs/pt"}}, "required": ["a", "b"]},
    "many_fields": obj({"s": STR, "i": {"type": "integer", "minimum": 0, "maximum": 3}, "b": {"type": "boolean"},
                        "e": {"enum": ["one", "two"]}, "n": {"type": "number", "minimum": 0, "maximum": 1},
                        "l": {"type": "array", "items": {"type": "boolean"}, "maxItems": 2}},
                       required=["s", "i", "e"]),
    "unicode_enum": obj({"city": {"enum": ["Zürich", "東京", "São Paulo"]}}),
}

PROMPTS = ["what is the weather in paris", "book a table for two at eight", "<|im_start|>user\nhello"]


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def models(tok):
    # llama: vocab == len(tokenizer); qwen2: padded vocabulary (model vocab > len(tokenizer)).
    return {"llama": tiny_model("llama", vocab_size=len(tok), seed=1),
            "qwen2_padded": tiny_model("qwen2", vocab_size=len(tok) + 64, seed=2)}


def _prompt_ids(tok, prompt: str) -> list[int]:
    return tok(prompt + "\n" + HERMES.call_prefix("f"))["input_ids"]


def _full_recompute_step(lm, ids: list[int], record: list[torch.Tensor] | None = None):
    """A step_fn without KV cache: the whole sequence every step (a reference for the cached loop)."""
    seq = list(ids)

    def step(token):
        if token is not None:
            seq.append(token)
        with torch.no_grad():
            logits = lm(input_ids=torch.tensor([seq])).logits[0, -1]
        if record is not None:
            record.append(logits.clone())
        return logits

    return step


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_untrained_model_always_gives_schema_valid_json(name, tok, models):
    schema = SCHEMAS[name]
    jsonschema.Draft202012Validator.check_schema(schema)
    for arch, lm in models.items():
        for prompt in PROMPTS:
            args, token_ids = generate_arguments(lm, tok, _prompt_ids(tok, prompt), schema, max_tokens=120)
            jsonschema.validate(args, schema)
            assert isinstance(args, dict)
            assert all(t < len(tok) for t in token_ids), arch
            text = tok.decode(token_ids)
            assert json.loads(text) == args
            # The layout the model was trained on (tool_format.dumps): ", " and ": ", nothing else.
            assert text == json.dumps(args, ensure_ascii=False), (arch, prompt, text)


def test_result_is_the_greedy_choice_among_allowed_tokens(tok, models):
    lm = models["llama"]
    schema = SCHEMAS["many_fields"]
    ids = _prompt_ids(tok, PROMPTS[0])
    record: list[torch.Tensor] = []
    result = decode_arguments(_full_recompute_step(lm, ids, record), tok, schema, max_tokens=120)
    # The KV-cached loop chooses exactly the same tokens as a full recompute each step.
    assert generate_arguments(lm, tok, ids, schema, max_tokens=120) == result
    assert len(record) == len(result.token_ids)  # the last token is not fed back

    compiled = schema_compiler(tok, len(tok)).compile(schema)
    matcher = xgr.GrammarMatcher(compiled.grammar, terminate_without_stop_token=True)
    unconstrained_choices = 0
    for logits, chosen in zip(record, result.token_ids, strict=True):
        better = torch.nonzero(logits > logits[chosen]).flatten().tolist()
        for token in better:  # every token the model preferred is one the grammar forbids here
            assert not matcher.fork().accept_token(token), tok.decode([token])
        unconstrained_choices += not better
        assert matcher.accept_token(chosen)
    assert matcher.is_terminated()
    assert unconstrained_choices < len(record)  # the random model did need the mask


def test_ban_moves_a_step_to_the_next_allowed_token_and_margins_are_reported(tok, models):
    lm = models["llama"]
    schema = SCHEMAS["many_fields"]
    ids = _prompt_ids(tok, PROMPTS[0])
    record: list[torch.Tensor] = []
    free = decode_arguments(_full_recompute_step(lm, ids, record), tok, schema, max_tokens=120)
    compiled = schema_compiler(tok, len(tok)).compile(schema)
    matcher = xgr.GrammarMatcher(compiled.grammar, terminate_without_stop_token=True)
    choices = []  # (step, allowed logits sorted) where the grammar allowed more than one token
    for step, (logits, chosen) in enumerate(zip(record, free.token_ids, strict=True)):
        allowed = [t for t in range(len(tok)) if matcher.fork().accept_token(t)]
        top = sorted(logits[allowed].tolist(), reverse=True)
        expected = top[0] - top[1] if len(top) > 1 else float("inf")
        assert free.margins[step] == pytest.approx(expected, abs=1e-5)
        if len(allowed) > 1:
            choices.append((step, allowed, logits))
        assert matcher.accept_token(chosen)
    assert choices  # the schema leaves the model choices
    step, allowed, logits = choices[0]
    banned_token = free.token_ids[step]
    seen = []

    def ban(so_far):
        seen.append(len(so_far))
        return [banned_token] if len(so_far) == step else []

    moved = decode_arguments(_full_recompute_step(lm, ids), tok, schema, max_tokens=120, ban=ban)
    assert moved.token_ids[:step] == free.token_ids[:step]
    runner_up = max((t for t in allowed if t != banned_token), key=lambda t: float(logits[t]))
    assert moved.token_ids[step] == runner_up
    jsonschema.validate(moved.arguments, schema)
    assert seen == list(range(len(moved.token_ids)))  # asked once per step, with the tokens so far


def test_padded_vocabulary_ids_are_never_chosen(tok, models):
    lm = models["qwen2_padded"]
    ids = _prompt_ids(tok, PROMPTS[1])
    inner = _full_recompute_step(lm, ids)

    def step(token):
        logits = inner(token).clone()
        logits[len(tok):] = 1e4  # ids the tokenizer does not have: must stay masked
        return logits

    args, token_ids = decode_arguments(step, tok, SCHEMAS["nested"], max_tokens=120)
    jsonschema.validate(args, SCHEMAS["nested"])
    assert max(token_ids) < len(tok)


def test_sampling_is_valid_and_reproducible(tok, models):
    lm = models["llama"]
    ids = _prompt_ids(tok, PROMPTS[2])
    schema = SCHEMAS["array_objects"]
    runs = []
    for seed in (0, 0, 1, 2, 3):
        gen = torch.Generator().manual_seed(seed)
        result = generate_arguments(lm, tok, ids, schema, max_tokens=120, temperature=1.0, generator=gen)
        jsonschema.validate(result.arguments, schema)
        runs.append(result)
    assert runs[0] == runs[1]


def test_prefix_and_suffix_cover_the_call_around_the_object(tok, models):
    lm = models["llama"]
    schema = SCHEMAS["optional"]
    before = HERMES.call_prefix("search")
    assert before.endswith(": ")
    prompt_ids = tok("find flights\n" + before[:-1])["input_ids"]  # stop at '"arguments":'
    suffix = "}" + HERMES.call_close
    args, token_ids = generate_arguments(lm, tok, prompt_ids, schema, max_tokens=150, prefix=" ", suffix=suffix)
    jsonschema.validate(args, schema)
    text = tok.decode(token_ids)
    assert text.startswith(" {") and text.endswith(suffix)
    calls, problems = HERMES.parse(before[:-1] + text)
    assert problems == [] and calls == [{"name": "search", "arguments": args}]


def test_max_tokens_exhaustion_is_a_clear_error(tok, models):
    lm = models["llama"]
    ids = _prompt_ids(tok, PROMPTS[0])
    unbounded = obj({"n": {"type": "integer"}, "s": {"type": "string"}})
    with pytest.raises(ArgumentDecodingError, match="max_tokens=12"):
        generate_arguments(lm, tok, ids, unbounded, max_tokens=12)
    with pytest.raises(ArgumentDecodingError, match="max_tokens=1 "):
        generate_arguments(lm, tok, ids, SCHEMAS["enum"], max_tokens=1)
    with pytest.raises(ValueError, match="max_tokens"):
        generate_arguments(lm, tok, ids, SCHEMAS["enum"], max_tokens=0)


def test_digit_runs_are_bounded_so_a_repeating_model_still_finishes(tok):
    """A model that always prefers the digit 1 would write an endless JSON number; the run
    of digits stops at MAX_DIGIT_RUN and the object completes (seen with SmolLM2 on BFCL)."""
    from fc_finetune.inference.constrained import MAX_DIGIT_RUN

    one = tok.convert_tokens_to_ids("1")
    logits = torch.zeros(len(tok))
    logits[one] = 10.0

    def step(token):
        return logits

    schema = obj({"n": {"type": "integer"}, "x": {"type": "number"}, "s": {"type": "string", "maxLength": 40}})
    args, _ = decode_arguments(step, tok, schema, max_tokens=200)
    assert args["n"] == args["x"] == int("1" * MAX_DIGIT_RUN)
    assert args["s"].startswith("1" * MAX_DIGIT_RUN) and "1" * (MAX_DIGIT_RUN + 1) not in args["s"]
    assert jsonschema.Draft202012Validator(schema).is_valid(args)


def test_exponents_are_bounded_so_a_number_is_never_infinite(tok):
    """A model that writes "4e8111..." would give a number that parses as inf, which no schema
    accepts (seen from SmolLM2 on BFCL): an exponent stops at MAX_EXPONENT_DIGITS digits."""
    from fc_finetune.inference.constrained import MAX_EXPONENT_DIGITS

    ids = {c: tok.convert_tokens_to_ids(c) for c in ("4", "e", "1")}
    assert all(isinstance(i, int) and i > 2 for i in ids.values())
    written: list[int] = []

    def step(token):
        if token is not None:
            written.append(token)
        text = tok.decode(written)
        logits = torch.zeros(len(tok))
        for char, score in (("4", 3.0), ("1", 2.0)) if not text.rstrip("41").endswith("e") else (("1", 9.0),):
            logits[ids[char]] = score
        if text.endswith("4") or text.endswith('"4'):
            logits[ids["e"]] = 8.0
        return logits

    schema = obj({"x": {"type": "number"}}, required=["x"])
    args, _ = decode_arguments(step, tok, schema, max_tokens=60)
    assert math.isfinite(args["x"]) and jsonschema.Draft202012Validator(schema).is_valid(args)
    text = tok.decode(_)
    assert "e" in text and text.split("e")[1].rstrip("}").lstrip("+-") == "1" * MAX_EXPONENT_DIGITS, text


def test_token_cycles_in_strings_are_cut_so_a_looping_model_still_finishes(tok, monkeypatch):
    """A model that writes "-/-/-/..." forever inside an unbounded string (seen from the
    quickstart model in `make demo`): after MAX_CYCLE_REPEATS copies of the cycle its next
    repetition is not allowed, so the model's second choice (the closing quote) ends it."""
    from fc_finetune.inference.constrained import MAX_CYCLE_REPEATS

    dash, slash, quote = (tok.convert_tokens_to_ids(t) for t in ("-", "/", '"'))

    def step(token):
        logits = torch.zeros(len(tok))
        logits[slash if token == dash else dash] = 10.0  # a period-2 cycle
        logits[quote] = 5.0
        return logits

    schema = obj({"s": {"type": "string"}})
    args, _ = decode_arguments(step, tok, schema, max_tokens=100)
    assert args["s"] == "-/" * MAX_CYCLE_REPEATS
    # without the bound the same model never closes the string
    monkeypatch.setattr(ConstrainedDecoder, "cycle_continuation", lambda self: None)
    with pytest.raises(ArgumentDecodingError, match="max_tokens=100"):
        decode_arguments(step, tok, schema, max_tokens=100)


def test_special_tokens_never_appear_inside_arguments(tok):
    """End-of-turn and other special tokens are text xgrammar would allow in a JSON string."""
    logits = torch.zeros(len(tok))
    specials = [i for i in tok.all_special_ids if i < len(tok)]
    logits[specials] = 10.0  # the model wants to end the turn inside the string

    def step(token):
        return logits

    schema = obj({"s": {"type": "string", "maxLength": 5}})
    args, token_ids = decode_arguments(step, tok, schema, max_tokens=50)
    assert not set(token_ids) & set(specials) and len(args["s"]) <= 5


def test_step_fn_is_called_once_per_token_but_not_after_the_last(tok):
    calls: list[int | None] = []
    logits = torch.zeros(len(tok))

    def step(token):
        calls.append(token)
        return logits

    args, token_ids = decode_arguments(step, tok, SCHEMAS["const"], max_tokens=50)
    assert args == {"c": "fixed"}
    assert calls == [None] + token_ids[:-1]


def test_grammar_cache(tok):
    compiler = SchemaCompiler(tok, len(tok) + 8)
    schema = SCHEMAS["array_objects"]
    start = time.perf_counter()
    first = compiler.compile(schema)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    second = compiler.compile(json.loads(json.dumps(schema)))  # an equal dict, not the same object
    second_s = time.perf_counter() - start
    assert second is first and (compiler.hits, compiler.misses) == (1, 1)
    assert second_s < max(first_s, 1e-3)
    assert compiler.compile(schema, suffix="}") is not first  # the text around it is part of the key
    assert schema_compiler(tok, len(tok)) is schema_compiler(tok, len(tok))
    assert schema_compiler(tok, len(tok)) is not schema_compiler(tok, len(tok) + 8)


def test_misuse_raises_clear_errors(tok):
    with pytest.raises(ArgumentDecodingError, match="do not match"):
        SchemaCompiler(tok, len(tok) - 1)
    decoder = ConstrainedDecoder(schema_compiler(tok).compile(SCHEMAS["boolean"]), len(tok))
    with pytest.raises(ArgumentDecodingError, match="logits over"):
        decoder.select(torch.zeros(len(tok) + 1))
    with pytest.raises(ArgumentDecodingError, match="not allowed"):
        decoder.accept(tok.convert_tokens_to_ids("<|im_end|>"))
    with pytest.raises(ArgumentDecodingError, match="not complete"):
        decoder.arguments(tok)
    with pytest.raises(ArgumentDecodingError, match="finite"):
        decoder.select(torch.full((len(tok),), float("-inf")))


def test_bounded_strings_never_hold_raw_control_characters(tok):
    # xgrammar 0.2.8 alone lets a maxLength string take raw control characters (invalid JSON).
    control = [i for i in range(len(tok)) if any(ord(ch) < 0x20 for ch in tok.decode([i]))]
    assert control
    logits = torch.zeros(len(tok))
    logits[control] = 100.0
    logits[tok.convert_tokens_to_ids("\\")] = 50.0  # then a backslash: must start a valid escape
    schema = obj({"s": {"type": "string", "minLength": 2, "maxLength": 4}})
    args, token_ids = decode_arguments(lambda token: logits, tok, schema, max_tokens=40)
    jsonschema.validate(args, schema)
    assert json.loads(tok.decode(token_ids)) == args


def test_required_names_that_properties_do_not_declare_are_still_required(tok):
    """BFCL has object parameters with ``required`` and no ``properties``; the grammar must
    not let ``{}`` through where the schema needs the names."""
    schema = obj({"pop": {"type": "object", "required": ["adults", "kids"]}})
    compiled = schema_compiler(tok).compile(schema)

    def accepts(text: str) -> bool:
        matcher = xgr.GrammarMatcher(compiled.grammar, terminate_without_stop_token=True)
        return matcher.accept_string(text) and matcher.is_terminated()

    assert not accepts('{"pop": {}}')
    assert not accepts('{"pop": {"adults": 2}}')
    assert accepts('{"pop": {"adults": 2, "kids": 1}}')
    jsonschema.validate({"pop": {"adults": 2, "kids": 1}}, schema)
