"""Heads mode: answers after tool results are decoded contrastively (context-aware decoding)."""

import math

import pytest
import torch
from helpers.agents import USER, fault_registry, make

from fc_finetune.data.tool_format import HERMES
from fc_finetune.inference.heads_decoder import HeadsDecoder, _Contrast, encode_prompt


@pytest.fixture(scope="module")
def tiny():
    return make()


def _after_result(tools):
    name = tools[0]["function"]["name"]
    return [*USER, {"role": "assistant", "content": "", "tool_calls": [{"name": name, "arguments": {"x": 3}}]},
            {"role": "tool", "name": name, "content": '{"result": 41, "unit": "km"}'}]


def _logprobs(model, ids):
    with torch.inference_mode():
        return torch.log_softmax(model.lm(input_ids=torch.tensor([ids])).logits[0, -1].float(), -1)


def test_contrastive_answer_is_what_two_full_forward_passes_give(tiny, monkeypatch):
    """Each answer token maximises (1 + a) log p(t | results) - a log p(t | results emptied) among
    the plausible tokens; recomputed here without any cache, so a wrong copy or cut of the
    decoder's caches changes the answer."""
    from fc_finetune.inference import heads_decoder

    # a random tiny model is sure of its next token: widen the plausible set so the contrast shows
    monkeypatch.setattr(heads_decoder, "ANSWER_PLAUSIBILITY", 1e-3)
    model, tok = tiny
    tools = fault_registry("raises").tools()
    messages = _after_result(tools)
    emptied = [*messages[:-1], {**messages[-1], "content": ""}]
    full, empty = encode_prompt(tok, messages, tools).ids, encode_prompt(tok, emptied, tools).ids
    decoder = HeadsDecoder(model, tok, HERMES, max_new_tokens=8)
    decoder.answer_contrast = 50.0  # the tiny model's two contexts differ little
    turn = decoder.turn(messages, tools, max_calls=0)
    expected, plain = [], []
    for _ in range(8):
        a, b = _logprobs(model, full + expected), _logprobs(model, empty + expected)
        scores = (51.0 * a - 50.0 * b).masked_fill(a < a.max() + math.log(1e-3), float("-inf"))
        token = int(scores.argmax())
        if token in decoder.eos:
            break
        expected.append(token)
    for _ in range(8):
        token = int(_logprobs(model, full + plain).argmax())
        if token in decoder.eos:
            break
        plain.append(token)
    assert expected != plain, "the contrast changes this answer (else the test shows nothing)"
    assert turn.content == tok.decode(expected, skip_special_tokens=True).strip()
    decoder.answer_contrast = 0.0
    assert decoder.turn(messages, tools, max_calls=0).content == tok.decode(plain, skip_special_tokens=True).strip()


def test_the_contrast_cache_rewinds_exactly(tiny):
    model, tok = tiny
    tools = fault_registry("raises").tools()
    messages = _after_result(tools)
    decoder = HeadsDecoder(model, tok, HERMES)
    prompt = encode_prompt(tok, messages, tools)
    with torch.inference_mode():
        decoder._feed(prompt.ids)
        contrast = decoder._contrast(messages, tools)
        answer = tok("one two three", add_special_tokens=False)["input_ids"]
        for token in answer:
            contrast.feed(token)
        contrast.rewind(answer[:1])
        emptied_ids = encode_prompt(tok, [*messages[:-1], {**messages[-1], "content": ""}], tools).ids
        assert isinstance(contrast, _Contrast) and contrast.past.get_seq_length() == len(emptied_ids) + 1
        fresh = _logprobs(model, emptied_ids + answer[:1])
        assert torch.allclose(torch.log_softmax(contrast.logits.float(), -1), fresh, atol=1e-4)
        contrast.rewind([])  # back to the prompt: the logits after it
        assert torch.allclose(torch.log_softmax(contrast.logits.float(), -1), _logprobs(model, emptied_ids), atol=1e-4)


def test_no_contrast_for_an_answer_that_follows_no_tool_result(tiny):
    model, tok = tiny
    tools = fault_registry("raises").tools()
    decoder = HeadsDecoder(model, tok, HERMES)
    with torch.inference_mode():
        decoder._feed(encode_prompt(tok, USER, tools).ids)
        assert decoder._contrast(USER, tools) is None


def test_a_contrastive_answer_does_not_end_before_its_first_token(tiny):
    """Emptied results make ending likelier, so the contrast can favour the end of the answer
    at once; the first token is never the end (an answer after tool results is never empty)."""
    model, tok = tiny
    tools = fault_registry("raises").tools()
    messages = _after_result(tools)
    decoder = HeadsDecoder(model, tok, HERMES)
    with torch.inference_mode():
        decoder._feed(encode_prompt(tok, messages, tools).ids)
        contrast = decoder._contrast(messages, tools)
    eos = sorted(decoder.eos)
    logits = torch.zeros(contrast.logits.shape[-1])
    logits[eos] = 5.0  # the end is the likeliest token with the results ...
    contrast.logits = torch.zeros_like(logits)
    contrast.logits[eos] = -5.0  # ... and far less likely without them
    assert int(contrast.scores(logits, 1.0).argmax()) in eos
    first = contrast.scores(logits, 1.0, never=decoder.eos)
    assert int(first.argmax()) not in eos and not torch.isinf(first).all()
    # a rollback banned the one other plausible token (a call marker's): the next likeliest one
    logits[7], logits[9] = 5.0, 1.0
    after = contrast.scores(logits, 1.0, never={7, *decoder.eos})
    assert int(after.argmax()) == 9
