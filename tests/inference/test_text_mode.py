"""Text mode: what the model writes is parsed, checked against the offered tools, never run blindly."""

import pytest
from helpers.fc_records import WEATHER

from fc_finetune.data.templates import prepare_tokenizer
from fc_finetune.data.tool_format import HERMES
from fc_finetune.inference.text_decoder import generate_turn, parse_turn
from fc_finetune.testing import tiny_model_and_tokenizer


def test_parse_keeps_only_valid_calls_and_explains_the_rest():
    text = ('Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>\n'
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "unit": "kelvin"}}\n</tool_call>\n'
            '<tool_call>\n{"name": "launch_rockets", "arguments": {}}\n</tool_call>\n'
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": __import__("os")}}\n</tool_call>')
    turn = parse_turn(text, [WEATHER], HERMES)
    assert turn.calls == [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}]
    assert turn.content == "Sure."
    assert len(turn.problems) == 3
    assert any("kelvin" in p and "unit" in p for p in turn.problems)
    assert any("unknown function 'launch_rockets'" in p for p in turn.problems)
    assert any("not valid JSON" in p for p in turn.problems)


def test_plain_answer_has_no_calls():
    turn = parse_turn("It is sunny.", [WEATHER], HERMES)
    assert turn.calls == [] and turn.problems == [] and turn.content == "It is sunny."


def test_lenient_reading_takes_plain_json_calls_only_without_markup():
    fenced = ('Here is the call:\n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```\n'
              'and {"not": "a call"} then [{"name": "get_weather", "parameters": "{\\"city\\": \\"Rome\\"}"}, '
              '{"name": "get_weather", "arguments": {"city": "Oslo"}}] {broken')
    assert HERMES.parse(fenced) == ([], [])
    calls, problems = HERMES.parse_lenient(fenced)
    assert [c["arguments"]["city"] for c in calls] == ["Paris", "Rome", "Oslo"] and problems == []
    # A list holding anything but calls is not a list of calls; prose with braces is not a call.
    assert HERMES.parse_lenient('[{"name": "f", "arguments": {}}, 3] and {"name": "g"}') == ([], [])
    # Markup present: strictly what the markup says, even when plain JSON follows.
    marked = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call> {"name": "x", "arguments": {}}'
    assert HERMES.parse_lenient(marked) == HERMES.parse(marked)
    broken = '<tool_call>\n{"name": "get_weather", "arguments": {city}}\n</tool_call>'
    assert HERMES.parse_lenient(broken)[1], "a call in markup that does not parse stays a problem"


def test_generate_turn_runs_on_a_tiny_model():
    model, tok = tiny_model_and_tokenizer("llama")
    prepare_tokenizer(tok)
    turn = generate_turn(model, tok, [{"role": "user", "content": "Weather in Paris?"}], [WEATHER], max_new_tokens=8)
    assert isinstance(turn.text, str)
    assert all(c["name"] == "get_weather" for c in turn.calls)


def test_an_unclosed_call_is_a_problem_and_never_the_answer():
    cut = 'Let me look.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par'
    turn = parse_turn(cut, [WEATHER], HERMES)
    assert turn.calls == [] and turn.content == "Let me look."
    assert len(turn.problems) == 1 and turn.problems[0].startswith("unclosed <tool_call> (never closed")
    assert '{"name": "get_weather"' in turn.problems[0]
    alone = parse_turn(cut.split("\n", 1)[1], [WEATHER], HERMES)
    assert alone.content == "" and alone.problems  # empty, but never silently
    # an unclosed tag before a complete call: the call is still read, the stray tag reported
    nested = parse_turn('<tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n'
                        "</tool_call>", [WEATHER], HERMES)
    assert nested.calls == [{"name": "get_weather", "arguments": {"city": "Oslo"}}] and len(nested.problems) == 1


@pytest.mark.parametrize("text", [
    "Sunny. <tool_call>\n{}", "Sunny. </tool_call> then", "Sunny.\n<tool_", "Sunny. </tool", "Sunny. <tool_call",
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\nSunny.',
])
def test_an_answer_never_holds_call_markup(text):
    content = parse_turn(text, [WEATHER], HERMES).content
    assert "<tool_call" not in content and "</tool" not in content and not content.endswith("<")
    assert content in ("Sunny.", "")


def test_hostile_call_text_is_a_problem_not_an_exception():
    deep = '{"name": "get_weather", "arguments": {"city": ' + "[" * 10_000 + "]" * 10_000 + "}}"
    digits = '{"name": "get_weather", "arguments": {"city": ' + "9" * 5_000 + "}}"
    string_args = '{"name": "get_weather", "arguments": "' + "[" * 5_000 + '"}'
    text = "".join(f"<tool_call>\n{body}\n</tool_call>" for body in (deep, digits, string_args))
    turn = parse_turn(text, [WEATHER], HERMES)
    assert turn.calls == [] and len(turn.problems) == 3 and all(len(p) < 300 for p in turn.problems)
    assert HERMES.parse_lenient("[" * 5_000 + " " + digits) == ([], [])


def test_the_agent_reports_an_unclosed_call_and_survives_hostile_calls(monkeypatch):
    from helpers.agents import USER, fault_registry, make, scripted

    from fc_finetune.inference.agent import FunctionCallingAgent

    model, tok = make()
    deep = '{"name": "raises", "arguments": {"x": ' + "[" * 5_000 + "]" * 5_000 + "}}"
    digits = '{"name": "raises", "arguments": {"x": ' + "9" * 5_000 + "}}"
    agent = FunctionCallingAgent(model, tok, fault_registry("raises"), mode="text", max_calls_per_turn=4)
    scripted(monkeypatch, [f"<tool_call>\n{deep}\n</tool_call><tool_call>\n{digits}\n</tool_call>"])
    hostile = agent.chat(USER)
    assert hostile.calls == [] and len(hostile.stats.problems) == 2
    assert "nested deeper" in hostile.stats.problems[0] and "too many digits" in hostile.stats.problems[1]
    scripted(monkeypatch, ['<tool_call>\n{"name": "raises", "arguments": {"x": 1'])
    events = []
    cut = agent.chat(USER, on_event=events.append)
    assert cut.calls == [] and cut.response == "" and len(cut.stats.problems) == 1
    assert cut.stats.problems[0].startswith("unclosed <tool_call>")
    assert [e["text"] for e in events if e["type"] == "problem"] == cut.stats.problems
