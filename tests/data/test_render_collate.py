import json

import datasets
import pytest
import torch
from helpers.fc_records import TIME, WEATHER, multi_turn_record, parallel_record

from fc_finetune.data.collate import (
    IGNORE,
    EncodeStats,
    FunctionCallingCollator,
    encode_dataset,
    encode_record,
    encode_with_truncation,
)
from fc_finetune.data.contract import NO_CALL
from fc_finetune.data.render import render_prompt, render_record
from fc_finetune.data.templates import builtin_template, check_template, prepare_tokenizer
from fc_finetune.data.tool_format import HERMES
from fc_finetune.errors import DataError
from fc_finetune.testing import CHATML_TEMPLATE, tiny_tokenizer

# A template of our own in the Qwen style: renders tools with tojson and Hermes calls.
NATIVE_TOOL_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\nTools:\n<tools>{% for t in tools %}\n{{ t | tojson }}{% endfor %}\n</tools><|im_end|>\n{% endif %}"
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}"
    "{%- if m.tool_calls %}{% for c in m.tool_calls %}{% if not loop.first %}\n{% endif %}<tool_call>\n"
    "{{ {'name': c.function.name, 'arguments': c.function.arguments} | tojson }}\n</tool_call>{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Renders tools but writes calls as a function-call expression: not locatable.
OTHER_CALLS_TEMPLATE = NATIVE_TOOL_TEMPLATE.replace(
    "<tool_call>\n{{ {'name': c.function.name, 'arguments': c.function.arguments} | tojson }}\n</tool_call>",
    "[{{ c.function.name }}({{ c.function.arguments | tojson }})]")


@pytest.fixture
def tok():
    t = tiny_tokenizer()
    prepare_tokenizer(t)
    return t


def test_tool_unaware_template_gets_builtin_and_saves_with_tokenizer(tmp_path):
    t = tiny_tokenizer()
    assert t.chat_template == CHATML_TEMPLATE and not check_template(t).renders_tools
    assert prepare_tokenizer(t) is HERMES
    assert t.chat_template == builtin_template()
    t.save_pretrained(tmp_path)
    from transformers import AutoTokenizer

    again = AutoTokenizer.from_pretrained(tmp_path)
    record = parallel_record()
    assert render_prompt(again, record["messages"], record["tools"]) == render_prompt(t, record["messages"], record["tools"])
    assert check_template(again).usable


def test_native_tool_template_is_kept():
    t = tiny_tokenizer()
    t.chat_template = NATIVE_TOOL_TEMPLATE
    assert check_template(t).usable
    prepare_tokenizer(t)
    assert t.chat_template == NATIVE_TOOL_TEMPLATE
    rendered = render_record(parallel_record(), t)
    assert [d.target for d in rendered.decisions] == [1, 1, NO_CALL, NO_CALL]


def test_template_with_unlocatable_calls_is_replaced():
    t = tiny_tokenizer()
    t.chat_template = OTHER_CALLS_TEMPLATE
    check = check_template(t)
    assert check.renders_tools and check.renders_calls and check.call_format is None
    prepare_tokenizer(t)
    assert t.chat_template == builtin_template()


def test_training_and_inference_render_identically(tok):
    record = parallel_record()
    rendered = render_record(record, tok)
    for i, m in enumerate(record["messages"]):
        if m["role"] == "assistant":
            prompt = render_prompt(tok, record["messages"][:i], record["tools"])
            assert rendered.text.startswith(prompt)
            assert prompt.endswith("<|im_start|>assistant\n")


def test_encode_masks_and_decisions(tok):
    ex = encode_record(render_record(parallel_record(), tok), tok)
    ids = ex["input_ids"]
    learned = tok.decode([i for i, lab in zip(ids, ex["labels"], strict=True) if lab != IGNORE])
    assert learned == ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n'
                       '</tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "unit": '
                       '"celsius"}}\n</tool_call><|im_end|>Paris is 21 °C and Rome 24 °C.<|im_end|>')
    arguments = tok.decode([i for i, p in zip(ids, ex["param_tool"], strict=True) if p >= 0])
    # the argument head learns what heads mode decodes with it: each arguments object through
    # its closing tag, and never the forced name or the text between calls
    assert arguments == (' {"city": "Paris", "unit": "celsius"}}\n</tool_call> {"city": "Rome", '
                         '"unit": "celsius"}}\n</tool_call>')
    assert set(p for p in ex["param_tool"] if p >= 0) == {1}
    assert ex["decision_target"] == [1, 1, NO_CALL, NO_CALL]
    # The user and system text, the tools block and the tool outputs are never targets.
    context = tok.decode([i for i, lab in zip(ids, ex["labels"], strict=True) if lab == IGNORE])
    assert "Weather in Paris" in context and "temp_c" in context and "Be brief." in context
    for (a, b), tool in zip(ex["tool_spans"], [TIME, WEATHER], strict=True):
        assert json.loads(tok.decode(ids[a:b])) == tool


def test_no_call_turn_has_single_no_call_decision(tok):
    record = {"tools": [WEATHER], "messages": [{"role": "user", "content": "Hi!"},
                                                 {"role": "assistant", "content": "Hello! How can I help?"}]}
    ex = encode_record(render_record(record, tok), tok)
    assert ex["decision_target"] == [NO_CALL]
    assert tok.decode(ex["input_ids"][ex["decision_pos"][0] + 1:]).startswith("Hello!")
    assert all(p == -1 for p in ex["param_tool"])


def test_preamble_moves_first_decision_to_the_call(tok):
    record = parallel_record()
    record["messages"][2]["content"] = "Let me check both."
    ex = encode_record(render_record(record, tok), tok)
    after = tok.decode(ex["input_ids"][ex["decision_pos"][0] + 1:])
    assert after.startswith("<tool_call>")


def test_oldest_turns_are_removed_whole(tok):
    record = multi_turn_record(4)
    full = encode_record(render_record(record, tok), tok)["length"]
    stats = EncodeStats()
    ex = encode_with_truncation(record, tok, max_length=full - 10, stats=stats)
    assert ex is not None and ex["length"] <= full - 10 and stats.shortened == 1
    text = tok.decode(ex["input_ids"])
    assert "Question 0" not in text and "Question 3" in text
    learned = tok.decode([i for i, lab in zip(ex["input_ids"], ex["labels"], strict=True) if lab != IGNORE])
    assert learned.count("<tool_call>") == learned.count("</tool_call>") == 3
    assert len(ex["decision_target"]) == 3 * 3  # 3 exchanges: call turn (2) + answer (1)
    # Dropping instead, and an example too long even for one exchange.
    stats = EncodeStats()
    assert encode_with_truncation(record, tok, max_length=full - 10, truncation="drop", stats=stats) is None
    assert stats.dropped_too_long == 1
    assert encode_with_truncation(record, tok, max_length=20, stats=stats) is None
    assert stats.dropped_too_long == 2


def test_unused_tools_go_first_longest_first_and_one_always_stays(tok):
    long_unused = {"type": "function", "function": {"name": "describe_everything", "description": "x " * 60,
                                                    "parameters": {"type": "object", "properties": {}}}}
    record = {**parallel_record(), "tools": [TIME, long_unused, WEATHER]}  # the calls use WEATHER only
    full = encode_record(render_record(record, tok), tok)["length"]
    stats = EncodeStats()
    ex = encode_with_truncation(record, tok, max_length=full - 10, truncation="unused_tools", stats=stats)
    assert ex is not None and stats.shortened == 1
    assert len(ex["tool_spans"]) == 2  # only the long unused tool went
    text = tok.decode(ex["input_ids"])
    assert "describe_everything" not in text and '"get_time"' in text and '"get_weather"' in text
    assert encode_with_truncation(record, tok, max_length=full - 10, stats=EncodeStats()) is None  # oldest_turns
    # both unused tools go before anything else; the called one always stays
    without = encode_record(render_record({**record, "tools": [WEATHER]}, tok), tok)["length"]
    ex = encode_with_truncation(record, tok, max_length=without, truncation="unused_tools")
    assert ex is not None and ex["length"] == without
    # a request to decline keeps one tool, then the example is dropped
    decline = {"tools": [TIME, WEATHER], "messages": [{"role": "user", "content": "Hi!"},
                                                       {"role": "assistant", "content": "Hello!"}]}
    one = min(encode_record(render_record({**decline, "tools": [t]}, tok), tok)["length"] for t in (TIME, WEATHER))
    ex = encode_with_truncation(decline, tok, max_length=one + 5, truncation="unused_tools")
    assert ex is not None and len(ex["tool_spans"]) == 1 and ex["decision_target"] == [NO_CALL]
    assert encode_with_truncation(decline, tok, max_length=one - 5, truncation="unused_tools") is None


def test_encode_dataset_counts_every_outcome(tok):
    bad = parallel_record()
    bad["messages"][2]["tool_calls"][0]["name"] = "nope"
    rows = [parallel_record(), multi_turn_record(4), bad]
    ds = datasets.Dataset.from_dict({"record": [json.dumps(r) for r in rows]})
    long_len = encode_record(render_record(multi_turn_record(4), tok), tok)["length"]
    encoded, stats = encode_dataset(ds, tok, max_length=long_len - 10)
    assert len(encoded) == 2
    assert stats.encoded == 2 and stats.shortened == 1 and sum(stats.failed.values()) == 1
    assert "failed" in stats.report()


def test_collator_pads(tok):
    a = encode_record(render_record(parallel_record(), tok), tok)
    b = encode_record(render_record({"tools": [], "messages": [{"role": "user", "content": "Hi"},
                                                               {"role": "assistant", "content": "Hey"}]}, tok), tok)
    batch = FunctionCallingCollator(tok.pad_token_id, pad_to_multiple_of=8)([a, b])
    n = batch["input_ids"].shape[1]
    assert n % 8 == 0 and n >= a["length"]
    assert batch["attention_mask"][1].sum() == b["length"]
    assert (batch["labels"][1, b["length"]:] == IGNORE).all()
    assert batch["decision_pos"][1].tolist() == [b["decision_pos"][0], -1, -1, -1]
    assert batch["decision_target"][1].tolist() == [NO_CALL, IGNORE, IGNORE, IGNORE]
    assert batch["tool_mask"].tolist() == [[True, True], [False, False]]
    assert batch["tool_spans"].dtype == torch.long


def test_unknown_template_layout_is_a_clear_error(tok):
    record = parallel_record()
    rendered = render_record(record, tok)
    t = tiny_tokenizer()
    t.chat_template = OTHER_CALLS_TEMPLATE
    with pytest.raises(DataError, match=r"messages\[2\].tool_calls\[0\]"):
        render_record(record, t)
    assert rendered.text
