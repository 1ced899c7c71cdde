"""Batch inference: generate_turns gives what generate_turn gives one by one, in input
order, and chat_batch runs the whole loop for many conversations with chat's results."""

import pytest
from helpers.agents import call_text, fault_registry, make, thresholds

from fc_finetune.inference.agent import FunctionCallingAgent
from fc_finetune.inference.text_decoder import ParsedTurn, generate_turn, generate_turns

CONVERSATIONS = [
    [{"role": "user", "content": "hello"}],
    [{"role": "user", "content": "what is the weather in paris today, please tell me"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "convert 10 miles to km"}],
    [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
     {"role": "user", "content": "book a table for two at eight"}],
    [{"role": "user", "content": "thank you"}],
]


@pytest.fixture(scope="module")
def tiny():
    return make()


@pytest.mark.parametrize("batch_size", [1, 2, 8])
def test_generate_turns_matches_generate_turn(tiny, batch_size):
    model, tok = tiny
    tools = fault_registry("raises", "hangs").tools()
    items = [(messages, tools if i % 2 else []) for i, messages in enumerate(CONVERSATIONS)]
    one_by_one = [generate_turn(model.lm, tok, m, t, max_new_tokens=16) for m, t in items]
    batched = generate_turns(model.lm, tok, items, max_new_tokens=16, batch_size=batch_size)
    assert [b.text for b in batched] == [o.text for o in one_by_one]
    assert batched == one_by_one
    assert tok.padding_side == "right"  # the tokenizer is left as it was


def test_generate_turns_rejects_a_bad_batch_size(tiny):
    model, tok = tiny
    with pytest.raises(ValueError, match="batch_size"):
        generate_turns(model.lm, tok, [(CONVERSATIONS[0], [])], batch_size=0)
    assert generate_turns(model.lm, tok, [], batch_size=2) == []


def _same(a, b):
    assert a.messages == b.messages and a.response == b.response and a.n_input == b.n_input
    assert [(c.name, c.arguments, c.status, c.content) for c in a.calls] == \
        [(c.name, c.arguments, c.status, c.content) for c in b.calls]
    assert (a.stats.turns, a.stats.call_limit_hit, a.stats.problems) == (b.stats.turns, b.stats.call_limit_hit,
                                                                         b.stats.problems)


def test_chat_batch_equals_chat_in_text_mode(tiny):
    model, tok = tiny
    agent = FunctionCallingAgent(model, tok, fault_registry("raises"), mode="text", max_new_tokens=16)
    batched = agent.chat_batch(CONVERSATIONS, batch_size=2)
    assert len(batched) == len(CONVERSATIONS)
    for conversation, result in zip(CONVERSATIONS, batched, strict=True):
        _same(result, agent.chat(conversation))


def _script(user_text):
    """Per conversation: two turns with calls for 'a', one for 'b', none for the others."""
    turns = {"a": [call_text("raises", '{"x": 1}'), call_text("raises", '{"x": 2}') + call_text("nope", "{}")],
             "b": ["Checking.\n" + call_text("raises", '{"x": "bad"}')]}
    return turns.get(user_text, [])


def test_chat_batch_runs_the_loop_per_conversation(tiny, monkeypatch):
    model, tok = tiny
    conversations = [[{"role": "user", "content": c}] for c in ("a", "b", "c", "a")]
    batch_sizes = []

    def turn_for(messages):
        done = sum(m["role"] == "assistant" for m in messages)
        script = _script(messages[0]["content"])
        return ParsedTurn(text=script[done] if done < len(script) else f"answer to {messages[0]['content']}")

    def fake_turns(lm, tokenizer, items, **kwargs):
        batch_sizes.append(len(items))
        return [turn_for(messages) for messages, _ in items]

    def fake_turn(lm, tokenizer, messages, tools, **kwargs):
        return turn_for(messages)

    monkeypatch.setattr("fc_finetune.inference.engine.generate_turns", fake_turns)
    monkeypatch.setattr("fc_finetune.inference.engine.generate_turn", fake_turn)
    agent = FunctionCallingAgent(model, tok, fault_registry("raises"), mode="text", max_calls_per_turn=2)
    batched = agent.chat_batch(conversations)
    assert batch_sizes == [4, 3, 2]  # finished conversations leave the batch
    for conversation, result in zip(conversations, batched, strict=True):
        _same(result, agent.chat(conversation))
    a = batched[0]
    assert [c.status for c in a.calls] == ["error", "error"] and a.stats.call_limit_hit
    assert a.stats.problems == ["1 call(s) beyond the limit of 2 were not run"]
    assert batched[1].calls[0].status == "invalid_arguments" and batched[1].new_messages[0]["content"] == "Checking."
    assert batched[2].response == "answer to c" and batched[2].calls == []


def test_chat_batch_equals_chat_in_heads_mode(tiny):
    model, tok = tiny
    with thresholds(model, 1.01, later=None):
        agent = FunctionCallingAgent(model, tok, fault_registry("raises"), max_calls_per_turn=1, max_new_tokens=16)
        batched = agent.chat_batch(CONVERSATIONS[:3])
        for conversation, result in zip(CONVERSATIONS[:3], batched, strict=True):
            _same(result, agent.chat(conversation))
            assert result.stats.decisions and len(result.calls) == 1
