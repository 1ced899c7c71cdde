"""Text mode: what the model writes is parsed, checked against the offered tools, never run blindly."""

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
