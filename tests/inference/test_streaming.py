"""Streaming: the answer's text arrives piece by piece and adds up to the response, call
markup is never streamed, and the loop's decisions, calls and results are told as they happen."""

import pytest
import torch
from helpers.agents import USER, fault_registry, make, thresholds

from fc_finetune.data.tool_format import HERMES
from fc_finetune.inference.agent import FunctionCallingAgent
from fc_finetune.inference.text_decoder import CallAwareStreamer, TextStreamFilter, visible_text
from fc_finetune.testing import tiny_tokenizer

CALL = '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>'
TEXTS = ["Hello world", "  spaced out  \n", "The answer is 391.\n" + CALL, CALL, "Let me check. " + CALL + " and more",
         "a <to", "x < y and <tool", "<", "tool_call> is not a call", "naïve café ☕ ok", "", "\n\n"]


def _stream_chars(text, marker=HERMES.call_open):
    pieces = []
    f = TextStreamFilter(pieces.append, marker)
    for i in range(1, len(text) + 1):
        f.update(text[:i])
    f.finish(text)
    return pieces


@pytest.mark.parametrize("text", TEXTS)
def test_filter_pieces_add_up_to_the_visible_text(text):
    pieces = _stream_chars(text)
    assert "".join(pieces) == visible_text(text, HERMES.call_open)
    assert all(pieces) and not any("<tool_call" in p for p in pieces)


@pytest.mark.parametrize("text", ["It is 9 degrees.\n</tool_call>", "Error: unknown unit </tool_call> sorry",
                                  "</tool_call>"])
def test_a_stray_closing_tag_is_markup_too(text):
    """A weak model answers with a tool's error text and a stray ``</tool_call>``: the answer
    (and what is streamed of it) stops before any call markup, opening or closing."""
    pieces = _stream_chars(text, HERMES.markers)
    answer = visible_text(text, HERMES.markers)
    assert "".join(pieces) == answer and "</tool_call" not in answer
    assert answer == text.split("</tool_c")[0].strip()


def test_filter_holds_back_what_may_start_a_call_and_trailing_space():
    pieces = []
    f = TextStreamFilter(pieces.append, HERMES.call_open)
    f.update(" Sure ")
    assert pieces == ["Sure"]  # leading space dropped, trailing space held
    f.update(" Sure <tool")
    assert pieces == ["Sure"]
    f.update(" Sure <tool_call>\n{")
    f.update(" Sure <tool_call>\n{\"name\"")
    f.finish(" Sure <tool_call>\n{\"name\"")
    assert pieces == ["Sure"]
    g = TextStreamFilter(pieces.append)  # no marker (heads mode answers)
    g.update("a <tool_call>")
    assert pieces[-1] == "a <tool_call>"


def test_filter_waits_for_complete_characters():
    pieces = []
    f = TextStreamFilter(pieces.append)
    f.update("caf\ufffd")
    assert pieces == []
    f.update("café")
    f.finish("café")
    assert pieces == ["café"]


@pytest.mark.parametrize("text", TEXTS)
def test_generate_streamer_token_by_token(text):
    tok = tiny_tokenizer()
    ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    pieces = []
    streamer = CallAwareStreamer(tok, pieces.append, HERMES)
    streamer.put(torch.tensor([[5, 6, 7]]))  # the prompt: skipped
    for t in ids:
        streamer.put(torch.tensor([t]))
    streamer.end()
    decoded = tok.decode(ids, skip_special_tokens=True)
    assert "".join(pieces) == visible_text(decoded, HERMES.call_open)
    assert streamer.token_ids == ids


@pytest.fixture(scope="module")
def tiny():
    return make()


def _collect(agent, messages=USER):
    pieces, events = [], []
    result = agent.chat(messages, on_text=pieces.append, on_event=events.append)
    return result, pieces, events


def test_text_mode_streams_the_answer(tiny):
    model, tok = tiny
    agent = FunctionCallingAgent(model, tok, fault_registry("raises"), mode="text", max_new_tokens=24)
    plain = agent.chat(USER)
    result, pieces, events = _collect(agent)
    assert result.response and "".join(pieces) == result.response == plain.response
    assert len(pieces) > 1  # incremental, not one piece at the end
    assert result.messages == plain.messages
    assert {"type": "decision", "function": None, "p_no_call": None} in events


def test_heads_mode_streams_the_answer(tiny):
    model, tok = tiny
    with thresholds(model, 0.0, later=None):
        agent = FunctionCallingAgent(model, tok, fault_registry("raises"), max_new_tokens=24)
        plain = agent.chat(USER)
        result, pieces, events = _collect(agent)
    assert result.response and "".join(pieces) == result.response == plain.response
    assert len(pieces) > 1
    assert [e["type"] for e in events] == ["decision"] and events[0]["function"] is None


def test_heads_mode_tells_calls_and_results_as_they_happen(tiny):
    model, tok = tiny
    with thresholds(model, 1.01, later=None):  # the untrained selector must call
        agent = FunctionCallingAgent(model, tok, fault_registry("raises"), max_calls_per_turn=2, max_new_tokens=24)
        agent.engine.heads.drop_repeated_calls = False  # the untrained model writes the same call twice
        result, pieces, events = _collect(agent)
    assert [e["type"] for e in events] == ["decision", "decision", "call", "result", "call", "result", "call_limit"]
    assert events[0]["function"] == "raises" and 0 <= events[0]["p_no_call"] <= 1
    calls = [e for e in events if e["type"] == "call"]
    assert [(c["name"], c["arguments"]) for c in calls] == [(c.name, c.arguments) for c in result.calls]
    outcome = [e for e in events if e["type"] == "result"][0]
    assert outcome["status"] == "error" and "kaput" in outcome["content"] and outcome["seconds"] >= 0
    assert "".join(pieces) == result.response


def test_text_mode_events_for_scripted_calls(tiny, monkeypatch):
    from helpers.agents import call_text, scripted

    model, tok = tiny
    scripted(monkeypatch, [call_text("raises", '{"x": 1}') + "\n<tool_call>\n{bad}\n</tool_call>"])
    agent = FunctionCallingAgent(model, tok, fault_registry("raises"), mode="text")
    result, _, events = _collect(agent)
    kinds = [e["type"] for e in events]
    assert kinds == ["problem", "decision", "call", "result", "decision"]
    assert events[1]["function"] == "raises" and events[-1]["function"] is None
    assert result.response == "All done."
