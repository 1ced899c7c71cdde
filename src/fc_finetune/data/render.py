"""Render a canonical record to text, with the character spans training needs.

One rendering serves training and inference: the tokenizer's chat template (after
:func:`~fc_finetune.data.templates.prepare_tokenizer`). Spans come from the template's
own output, never from decoding tokens:

* each assistant turn's text is located by rendering the conversation up to it
  (``add_generation_prompt=True``) and up to its end: the difference is the turn;
* calls, their arguments and the tools' definitions are located by their exact
  serialisation (``tojson``), so a mismatch is an error, not a guess.

:class:`RenderedRecord` holds the text, where to cut it for tokenisation (the prompt and
each assistant turn are tokenised separately, as at inference), the spans the LM learns
from, the argument spans (with the gold tool), the tools' definition spans and
the decision points (char position, target: a tool index or ``NO_CALL``, and the request: the
latest user message's content, which the selector matches against the tools).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DataError
from .contract import NO_CALL
from .templates import hf_messages
from .tool_format import HERMES, ToolCallFormat, dumps

Span = tuple[int, int]


@dataclass
class Decision:
    char: int  # the next character written after this point
    target: int  # index into the record's tools, or NO_CALL
    message: int  # index of the assistant message
    request: Span | None = None  # the content of the latest user message before it (selector match)


@dataclass
class RenderedRecord:
    text: str
    cuts: list[int] = field(default_factory=list)  # char offsets where tokenisation restarts
    lm_spans: list[Span] = field(default_factory=list)
    argument_spans: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, tool index)
    tool_spans: list[Span] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    call_spans: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, tool index)
    call_arguments: list[dict] = field(default_factory=list)  # each call's arguments, as call_spans


def render_prompt(tokenizer, messages: list[dict], tools: list[dict], *, add_generation_prompt: bool = True) -> str:
    """The text the model sees at inference (same template as training)."""
    return tokenizer.apply_chat_template(hf_messages(messages), tools=tools or None, tokenize=False,
                                         add_generation_prompt=add_generation_prompt)


def locate_request(tokenizer, messages: list[dict], tools: list[dict], text: str) -> Span | None:
    """Char span in ``text`` (a rendering that continues ``messages``) of the latest user
    message's content: the request the selector matches against the tools. ``None`` when there
    is no user message, or the template does not write its content verbatim at that place in
    ``text`` (then no match term is used for it)."""
    users = [i for i, m in enumerate(messages) if m["role"] == "user" and (m.get("content") or "").strip()]
    if not users:
        return None
    content = messages[users[-1]]["content"]
    upto = render_prompt(tokenizer, messages[: users[-1] + 1], tools, add_generation_prompt=False)
    at = upto.rfind(content)
    return (at, at + len(content)) if at >= 0 and text[at: at + len(content)] == content else None


def _turn_end(segment: str, end_markers: tuple[str, ...]) -> int:
    """Where the trained part of an assistant segment ends: just after its end-of-turn marker."""
    best = -1
    for marker in end_markers:
        at = segment.rfind(marker)
        if at >= 0:
            best = max(best, at + len(marker))
    return best if best >= 0 else len(segment.rstrip())


def locate_tool_spans(text: str, tools: list[dict]) -> list[Span]:
    spans, pos = [], 0
    for i, tool in enumerate(tools):
        needle = dumps(tool)
        at = text.find(needle, pos)
        if at < 0:
            at = text.find(needle)
        if at < 0:
            raise DataError("the chat template does not write this tool as JSON, so its span cannot be "
                            "located; use the built-in tool template (prepare_tokenizer(force_builtin=True))",
                            field=f"tools[{i}]")
        spans.append((at, at + len(needle)))
        pos = at + len(needle)
    return spans


def render_record(record: dict, tokenizer, *, fmt: ToolCallFormat = HERMES,
                  end_markers: tuple[str, ...] | None = None) -> RenderedRecord:
    """Render ``record`` (validated, canonical) and locate every span training needs."""
    messages, tools = record["messages"], record.get("tools") or []
    index = {t["function"]["name"]: i for i, t in enumerate(tools)}
    markers = end_markers or tuple(m for m in {tokenizer.eos_token, "<|im_end|>"} if m)
    full = render_prompt(tokenizer, messages, tools, add_generation_prompt=False)
    out = RenderedRecord(text=full, tool_spans=locate_tool_spans(full, tools))

    for m_idx, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prefix = render_prompt(tokenizer, messages[:m_idx], tools, add_generation_prompt=True)
        upto = render_prompt(tokenizer, messages[: m_idx + 1], tools, add_generation_prompt=False)
        where = f"messages[{m_idx}]"
        if not (full.startswith(prefix) and full.startswith(upto) and len(upto) >= len(prefix)):
            raise DataError("the chat template is not prefix-stable at this assistant turn, so the turn "
                            "cannot be located; use the built-in tool template", field=where)
        start, seg_end = len(prefix), len(upto)
        request = locate_request(tokenizer, messages[:m_idx], tools, full)
        end = start + _turn_end(full[start:seg_end], markers)
        out.cuts += [start, end]
        out.lm_spans.append((start, end))

        calls = message.get("tool_calls") or []
        if not calls:
            out.decisions.append(Decision(start, NO_CALL, m_idx, request))
            continue
        pos = start
        preamble = bool((message.get("content") or "").strip())
        for c_idx, call in enumerate(calls):
            text = fmt.render_call(call["name"], call["arguments"])
            at = full.find(text, pos, end)
            if at < 0:
                raise DataError(f"the rendered turn does not contain the call in {fmt.name} format",
                                field=f"{where}.tool_calls[{c_idx}]")
            if call["name"] not in index:
                raise DataError(f"calls '{call['name']}', which is not among the offered tools",
                                field=f"{where}.tool_calls[{c_idx}].name")
            tool = index[call["name"]]
            if c_idx == 0:
                out.decisions.append(Decision(at if preamble else start, tool, m_idx, request))
            else:
                out.decisions.append(Decision(pos, tool, m_idx, request))
            out.call_spans.append((at, at + len(text), tool))
            out.call_arguments.append(call["arguments"])
            a_start, a_end = fmt.argument_span(call["name"], call["arguments"])
            out.argument_spans.append((at + a_start, at + a_end, tool))
            pos = at + len(text)
        out.decisions.append(Decision(pos, NO_CALL, m_idx, request))
    out.cuts = sorted({c for c in out.cuts if 0 < c < len(full)})
    return out
