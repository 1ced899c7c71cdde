"""Property tests: the L_param mask and the decision points, checked against an
independent reading of the text (json raw_decode for values, byte-level token bytes for
token positions), on random conversations with random arguments."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers.convert_slow_tokenizer import bytes_to_unicode

from fc_finetune.data.collate import encode_record
from fc_finetune.data.contract import NO_CALL
from fc_finetune.data.render import render_record
from fc_finetune.data.templates import prepare_tokenizer
from fc_finetune.testing import tiny_tokenizer

TOK = tiny_tokenizer()
prepare_tokenizer(TOK)
_BYTE = {v: k for k, v in bytes_to_unicode().items()}
_SPECIAL = set(TOK.all_special_tokens)

names = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
leaf = st.one_of(text, st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                 st.booleans(), st.none())
value = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(names, inner, max_size=3)), max_leaves=6)
arguments = st.dictionaries(names, value, max_size=4)


@st.composite
def records(draw):
    tool_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    tools = [{"type": "function", "function": {"name": n, "description": "d", "parameters": {"type": "object"}}}
             for n in tool_names]
    messages = []
    for _ in range(draw(st.integers(1, 3))):
        messages.append({"role": "user", "content": draw(text) or "hi"})
        calls = [{"name": draw(st.sampled_from(tool_names)), "arguments": draw(arguments)}
                 for _ in range(draw(st.integers(0, 3)))]
        if calls:
            messages.append({"role": "assistant", "content": draw(st.sampled_from(["", "Checking."])),
                             "tool_calls": calls})
            messages += [{"role": "tool", "name": c["name"], "content": draw(text)} for c in calls]
        messages.append({"role": "assistant", "content": draw(text)})
    return {"messages": messages, "tools": tools}


def token_byte_spans(ids):
    spans, pos = [], 0
    for tok in TOK.convert_ids_to_tokens(ids):
        size = len(tok.encode()) if tok in _SPECIAL else len(bytes(_BYTE[c] for c in tok))
        spans.append((pos, pos + size))
        pos += size
    return spans


def argument_byte_spans(rendered_text, record):
    """Independent: each call's arguments object, from just after ``"arguments":`` (the space
    before the object included) through its ``</tool_call>``, found by raw_decode."""
    decoder = json.JSONDecoder()
    spans, pos = [], rendered_text.find("<|im_start|>user")
    for m in record["messages"]:
        for call in m.get("tool_calls") or []:
            head = json.dumps({"name": call["name"], "arguments": None}, ensure_ascii=False)[:-5]
            at = rendered_text.find("<tool_call>\n" + head, pos) + len("<tool_call>\n" + head)
            obj_end = decoder.raw_decode(rendered_text, at)[1]
            assert rendered_text.startswith("}\n</tool_call>", obj_end)
            end = obj_end + len("}\n</tool_call>")
            spans.append((len(rendered_text[:at - 1].encode()), len(rendered_text[:end].encode())))
            pos = end
    return spans


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_param_mask_covers_exactly_the_argument_tokens(record):
    rendered = render_record(record, TOK)
    ex = encode_record(rendered, TOK)
    assert TOK.decode(ex["input_ids"]) == rendered.text
    tokens = token_byte_spans(ex["input_ids"])
    values = argument_byte_spans(rendered.text, record)
    expected = {t for t, (a, b) in enumerate(tokens) for (va, vb) in values if a < vb and va < b}
    marked = {t for t, p in enumerate(ex["param_tool"]) if p >= 0}
    assert marked == expected
    assert all(ex["labels"][t] != -100 for t in marked), "argument tokens are also LM targets"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_decision_points_sit_where_calls_start(record):
    ex = encode_record(render_record(record, TOK), TOK)
    ids, names_ = ex["input_ids"], [t["function"]["name"] for t in record["tools"]]
    expected = []  # (target, text that must end just before the point, text that must follow)
    for m in record["messages"]:
        if m["role"] != "assistant":
            continue
        calls = m.get("tool_calls") or []
        heads = ["<tool_call>\n" + json.dumps({"name": c["name"]}, ensure_ascii=False)[:-1] for c in calls]
        if not calls:
            expected.append((NO_CALL, "<|im_start|>assistant\n", m["content"] + "<|im_end|>"))
            continue
        opening = m["content"] + "\n" if m["content"] else "<|im_start|>assistant\n"
        expected.append((names_.index(calls[0]["name"]), opening, heads[0]))
        expected += [(names_.index(c["name"]), "</tool_call>", "\n" + h) for c, h in zip(calls[1:], heads[1:], strict=True)]
        expected.append((NO_CALL, "</tool_call>", "<|im_end|>"))
    assert ex["decision_target"] == [t for t, _, _ in expected]
    for pos, (_, before, after) in zip(ex["decision_pos"], expected, strict=True):
        assert TOK.decode(ids[: pos + 1]).endswith(before)
        assert TOK.decode(ids[pos + 1:]).startswith(after)
        if before == "<|im_start|>assistant\n":
            assert ex["labels"][pos] == -100, "a turn's first decision sits on the prompt's last token"
        assert ex["labels"][pos + 1] != -100, "what follows a decision point is learned"
