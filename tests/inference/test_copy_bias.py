"""The copy bias of argument strings (constrained.CopyBias) and heads mode's use of it."""

from __future__ import annotations

import json

import pytest
import torch
from helpers.agents import make, thresholds

from fc_finetune.inference.constrained import (
    ArgumentDecodingError,
    CopyBias,
    JsonStrings,
    decode_arguments,
    schema_compiler,
)
from fc_finetune.testing import tiny_tokenizer

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


def scan(text: str) -> JsonStrings:
    return JsonStrings().feed(text)


def test_the_scanner_tells_keys_from_values_at_any_depth():
    assert scan('{"ci').in_string and not scan('{"ci').in_value
    state = scan('{"city": "Par')
    assert state.in_value and state.value == "Par"
    assert scan('{"a": ["x", "Lon').value == "Lon" and scan('{"a": ["x", "Lon').in_value
    assert not scan('{"a": {"b').in_value  # a key of the inner object
    assert scan('{"a": {"b": 1}, "c": "d').in_value  # after the inner object closes: key "c", value "d"
    assert not scan('{"a": "x", "b').in_value
    assert scan(r'{"q": "say \"hi').in_value and scan(r'{"q": "say \"hi').value == r'say \"hi'
    assert not scan('{"a": "done"}').in_string


def test_a_piece_starts_at_a_word_and_a_closed_value_ends_at_one(tok):
    bias = CopyBias(["Book a flight to San Francisco.", '"quoted".'], 2.0, tok)
    assert bias.said("San Fran", closed=False) and bias.said("San Francisco", closed=True)
    assert bias.said("Francisco", closed=True) and not bias.said("Fran", closed=True)
    assert not bias.said("ancisco", closed=False)  # inside a word
    assert not bias.said("san", closed=False)  # spelled as it was said
    assert not bias.said(".", closed=False)  # a full stop after a quote starts no word
    assert bias.said("quoted", closed=True)  # a letter after a quote does
    assert not bias.said("Paris", closed=False)


def _ids(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def test_the_copying_token_is_the_tokenizers_own_next_token(tok):
    vocab = schema_compiler(tok, len(tok)).vocab
    source = "fly me to Paris tonight"
    bias = CopyBias([source], 2.0, tok)
    paris = _ids(tok, "Paris tonight")
    assert bias.copies("", vocab) == {_ids(tok, source[i:])[0] for i in (0, 4, 7, 10, 16)}  # every word start
    written = tok.decode(paris[:1])
    assert bias.copies(written, vocab) == {paris[1]}  # on from where the tokenizer stopped
    assert bias.copies("Rome", vocab) == set() and bias.copies("aris", vocab) == set()  # not said; no word start
    assert bias.copies(source, vocab) == set()  # nothing left to copy
    assert bias.closes(scan('{"city": "Paris'), '"') and bias.closes(scan('{"city": "Paris'), '"}')
    assert not bias.closes(scan('{"city": "Par'), '"')  # "Par" ends no word
    assert not bias.closes(scan('{"city": "Par'), "is")
    closing = next(t for t in range(len(tok)) if vocab[t] == b'"')
    assert bias.apply(torch.zeros(len(tok)), scan('{"city": "Paris'), vocab)[closing] == 2.0


def test_apply_raises_only_copying_tokens_among_the_best(tok):
    vocab = schema_compiler(tok, len(tok)).vocab
    bias = CopyBias(["fly me to Paris"], 2.0, tok, top_k=8)
    wanted = _ids(tok, "Paris")[0]
    other = next(t for t in range(len(tok)) if vocab[t] == b"R")
    far = _ids(tok, "fly me")[0]  # copies "fly" but is not among the best
    logits = torch.full((len(tok),), float("-inf"))
    logits[list(range(40, 80))] = torch.linspace(-4, -3, 40)
    logits[[other, wanted, far]] = torch.tensor([1.0, 0.5, -50.0])
    out = bias.apply(logits, scan('{"city": "'), vocab)
    assert out[wanted] == pytest.approx(2.5) and out[other] == 1.0 and out[far] == -50.0
    assert int(torch.argmax(out)) == wanted
    assert bias.apply(logits, scan('{"'), vocab) is logits  # no value open: nothing gains
    assert bias.apply(logits, scan('{"n": '), vocab) is logits  # a number: nothing gains
    assert CopyBias([], 2.0, tok).apply(logits, scan('{"city": "'), vocab) is logits


def _teacher(tok, wanted: dict[str, float]):
    """A step_fn whose logits favour the tokens that write on towards each of ``wanted`` (text:
    score); every other token gets -10."""
    vocab = [tok.decode([t]) for t in range(len(tok))]
    ids: list[int] = []

    def step(token):
        if token is not None:
            ids.append(token)
        written = tok.decode(ids)
        logits = torch.full((len(tok),), -10.0)
        for target, score in wanted.items():
            for t, piece in enumerate(vocab):
                if piece and target.startswith(written + piece):
                    logits[t] = max(float(logits[t]), score + 0.01 * len(piece))
        return logits

    return step


def test_a_close_choice_goes_to_the_words_said_and_a_clear_one_does_not(tok):
    close = {'{"city": "Rome"}': 1.0, '{"city": "Paris"}': 0.5}
    said = ["Get me a flight to Paris."]
    plain = decode_arguments(_teacher(tok, close), tok, CITY, max_tokens=40)
    assert plain.arguments == {"city": "Rome"}
    biased = decode_arguments(_teacher(tok, close), tok, CITY, max_tokens=40, bias=CopyBias(said, 2.0, tok))
    assert biased.arguments == {"city": "Paris"} and json.loads(tok.decode(biased.token_ids)) == {"city": "Paris"}
    clear = {'{"city": "Rome"}': 4.0, '{"city": "Paris"}': 0.5}
    assert decode_arguments(_teacher(tok, clear), tok, CITY, max_tokens=40,
                            bias=CopyBias(said, 2.0, tok)).arguments == {"city": "Rome"}
    watched = decode_arguments(_teacher(tok, close), tok, CITY, max_tokens=40, bias=CopyBias(said, 2.0, tok, watch=True))
    assert watched == plain and watched.bias_changed and not plain.bias_changed
    assert not decode_arguments(_teacher(tok, clear), tok, CITY, max_tokens=40,
                                bias=CopyBias(said, 2.0, tok, watch=True)).bias_changed


def test_copy_sources_are_this_turns_request_and_results():
    from fc_finetune.inference.heads_decoder import _copy_sources

    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Oslo?"},
                {"role": "assistant", "content": "Sunny."}, {"role": "user", "content": "And in Bergen?"},
                {"role": "assistant", "content": None, "tool_calls": []}, {"role": "tool", "content": '{"t": 4}'}]
    assert _copy_sources(messages) == ["And in Bergen?", '{"t": 4}']
    assert _copy_sources([{"role": "system", "content": "x"}]) == []


def _tools():
    return [{"type": "function", "function": {"name": "find", "description": "Finds a word.", "parameters": {
        "type": "object", "properties": {"word": {"type": "string", "maxLength": 12}}, "required": ["word"]}}}]


# The random model below writes ": f f f f f*" unaided; the first two requests say some of it.
REQUESTS = [[{"role": "user", "content": text}] for text in (
    "use : f f f f f then x", "find : f f f f and then f*", "look for 1 2 3 now")]


@pytest.mark.grounding
def test_the_first_call_is_judged_unaided_then_written_with_the_bias(monkeypatch):
    """The turn's first call is decoded with the bias only watching (the grounding check must read
    what the model writes unaided); where the bias would have changed it, it is written again from
    the same cache position, and the turn (calls, later decisions) is then exactly the turn of a
    decoder that applies the bias at once (no grounding check). Off, the calls are the unaided ones."""
    from fc_finetune.data.tool_format import FORMATS
    from fc_finetune.inference import constrained, heads_decoder
    from fc_finetune.inference.heads_decoder import HeadsDecoder

    model, tok = make(seed=3)
    monkeypatch.setattr(heads_decoder, "_grounded", lambda arguments, messages: True)
    monkeypatch.setattr(constrained, "COPY_TOP_K", len(tok))  # a random model's values: any token may gain
    fmt = FORMATS[model.call_format]
    with thresholds(model):  # one call, then a decision to stop
        checked, direct, off = (HeadsDecoder(model, tok, fmt, max_new_tokens=24) for _ in range(3))
        direct.drop_ungrounded_calls = False
        for decoder in (checked, direct, off):
            decoder.probe_untaken_values = False  # one call per turn: the one written twice
        off.copy_bias = 0.0
        rewritten = 0
        for messages in REQUESTS:
            a, b, c = (d.turn(messages, _tools(), max_calls=2) for d in (checked, direct, off))
            assert a.calls == b.calls and len(a.calls) == 1
            assert a.decisions[1]["p_no_call"] == pytest.approx(b.decisions[1]["p_no_call"], abs=1e-5)
            assert b.rewritten == 0 and c.rewritten == 0
            rewritten += a.rewritten
            if not a.rewritten:
                assert a.calls == c.calls  # nothing to change: the unaided call stands
            else:
                assert a.calls != c.calls
    assert rewritten >= 1  # the bias changed at least one of these calls


def test_a_string_the_model_leaves_open_is_closed_where_it_writes_what_follows(tok):
    """A small model sometimes ends a value with the call's end and no closing quote
    (``"Rome}}</tool_call>``), and the string then runs to ``max_tokens``: the token that writes
    the end closes the string instead. A brace the value opened itself is left alone."""
    suffix = "}</tool_call>"
    open_ended = {' {"city": "Rome}}</tool_call> and more and more and more': 1.0, ' {"city": "Rome"}}</tool_call>': 0.2}
    closed = decode_arguments(_teacher(tok, open_ended), tok, CITY, max_tokens=40, prefix=" ", suffix=suffix)
    assert closed.arguments == {"city": "Rome"}
    markup = {' {"city": "Rome</tool_call> and more and more and more': 1.0, ' {"city": "Rome"}}</tool_call>': 0.2}
    assert decode_arguments(_teacher(tok, markup), tok, CITY, max_tokens=40, prefix=" ",
                            suffix=suffix).arguments == {"city": "Rome"}
    braces = {' {"city": "{Rome}"}}</tool_call>': 1.0}
    assert decode_arguments(_teacher(tok, braces), tok, CITY, max_tokens=40, prefix=" ",
                            suffix=suffix).arguments == {"city": "{Rome}"}
    with pytest.raises(ArgumentDecodingError):  # without a suffix to recognise, the string runs on
        decode_arguments(_teacher(tok, {'{"city": "Rome}} and more and more and more and more': 1.0}), tok, CITY,
                         max_tokens=20)


def test_the_quote_alone_opens_a_copy_and_a_quote_with_other_text_does_not(tok):
    bias = CopyBias(["Calculate 9350 / 11."], 2.0, tok)
    before = scan('{"expression":')
    assert bias.opens(before, ' "') and bias.opens(before, ' "93')
    assert not bias.opens(before, ' ">') and not bias.opens(before, "9")
    assert not bias.opens(scan("{"), '"')  # a key


def test_the_numbers_a_request_says_are_read_as_json_writes_them():
    from fc_finetune.inference.constrained import request_numbers

    assert request_numbers("a loan of $400,000 at 4% over fifteen or 20.0 years") == {"400000", "4", "0.04", "15", "20"}
    assert request_numbers("the factorial of 1,5 and 10") == {"1", "5", "10"}  # no thousands there
    assert request_numbers("twenty-five and ninety nine, 1.5 million") == {"25", "99", "1.5", "1500000"}
    assert request_numbers("-3.5 below, page x-2, 6cm") == {"-3.5", "2", "6"}
    assert request_numbers("$1.2M, 10k, 100m and 3 Percent") == {"1.2", "1200000", "10", "10000", "100", "3", "0.03"}
    assert request_numbers("no numbers here") == set()
    assert request_numbers("charges of 2e-9, each") == {"0.000000002", "2e-9", "2e-09"}


def test_the_scanner_follows_the_number_being_written():
    assert scan('{"n": 12').number == "12" and scan('{"n": -0.5e').number == "-0.5e"
    assert scan('{"n": 12,').number == "" and scan('{"n": "12').number == ""  # ended; a string's digits
    assert scan('{"n": [1, 2').number == "2"


LOAN = {"type": "object", "properties": {"amount": {"type": "number"}, "hours": {"type": "integer"}},
        "required": ["amount", "hours"]}


def test_a_close_choice_of_number_goes_to_the_numbers_said(tok):
    said = ["A loan of $100,000, for the next three hours."]
    close = {'{"amount": 1000000, "hours": 30}': 1.0, '{"amount": 100000, "hours": 3}': 0.5}
    plain = decode_arguments(_teacher(tok, close), tok, LOAN, max_tokens=40)
    assert plain.arguments == {"amount": 1000000, "hours": 30}
    biased = decode_arguments(_teacher(tok, close), tok, LOAN, max_tokens=40, bias=CopyBias(said, 2.0, tok))
    assert biased.arguments == {"amount": 100000, "hours": 3}
    clear = {'{"amount": 1000000, "hours": 30}': 4.0, '{"amount": 100000, "hours": 3}': 0.5}
    assert decode_arguments(_teacher(tok, clear), tok, LOAN, max_tokens=40,
                            bias=CopyBias(said, 2.0, tok)).arguments == {"amount": 1000000, "hours": 30}
    vocab = schema_compiler(tok, len(tok)).vocab
    bias = CopyBias(said, 2.0, tok)
    assert bias.writes_number(scan('{"amount": 1000'), "0") and bias.writes_number(scan('{"amount": 100000'), ",")
    assert not bias.writes_number(scan('{"amount": 100000'), "0") and not bias.writes_number(scan('{"amount": 10'), "}")
    assert not bias.writes_number(scan('{"amount": "10'), "0")  # inside a string: the string copy's business
    assert not bias.writes_number(scan('{"amount": '), "1") and not bias.writes_number(scan('{"amount":'), " 1")
    # (a number's first character is the model's own choice)
    assert not any(CopyBias(["no numbers"], 2.0, tok).writes_number(scan('{"n": 1'), p) for p in ("0", "}", ","))
    wanted = next(t for t in range(len(tok)) if vocab[t] == b"0")
    logits = torch.zeros(len(tok))
    logits[wanted] = 5.0
    assert bias.apply(logits, scan('{"amount": 1000'), vocab)[wanted] == 7.0
