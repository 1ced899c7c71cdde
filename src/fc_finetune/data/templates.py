"""Make sure a tokenizer's chat template really renders tools and tool calls.

Many chat templates (SmolLM2's among them) silently ignore ``tools=``. We detect this by
rendering a probe conversation with and without tools and comparing; if the tools or the
calls do not appear in a format we can locate, the built-in Hermes/ChatML template is
attached to the tokenizer (and saved with it by ``save_pretrained``). Training and
inference then use exactly the same rendering.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

from ..errors import FcFinetuneError
from .tool_format import HERMES, ToolCallFormat, dumps

logger = logging.getLogger(__name__)

_PROBE_TOOL = {"type": "function", "function": {
    "name": "probe_lookup_x7", "description": "Probe tool used to test the chat template.",
    "parameters": {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}}}
_PROBE_ARGS = {"key": "probe-value-q3"}


def builtin_template() -> str:
    return resources.files("fc_finetune").joinpath("templates/hermes_chatml.jinja").read_text(encoding="utf-8")


@dataclass(frozen=True)
class TemplateCheck:
    renders_tools: bool
    renders_calls: bool
    call_format: ToolCallFormat | None

    @property
    def usable(self) -> bool:
        return self.renders_tools and self.renders_calls and self.call_format is not None


def hf_messages(messages: list[dict]) -> list[dict]:
    """Canonical messages -> the shape chat templates expect (``tool_calls[].function``)."""
    out = []
    for message in messages:
        m = dict(message)
        if m.get("tool_calls"):
            m["tool_calls"] = [{"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                               for c in m["tool_calls"]]
        if m.get("content") is None:
            m["content"] = ""
        out.append(m)
    return out


def _render(tokenizer, messages, tools=None, add_generation_prompt=False) -> str:
    return tokenizer.apply_chat_template(hf_messages(messages), tools=tools, tokenize=False,
                                         add_generation_prompt=add_generation_prompt)


def check_template(tokenizer) -> TemplateCheck:
    """Does the tokenizer's template render tools and calls in a format we can locate?"""
    if not getattr(tokenizer, "chat_template", None):
        return TemplateCheck(False, False, None)
    user = [{"role": "user", "content": "probe"}]
    try:
        with_tools = _render(tokenizer, user, tools=[_PROBE_TOOL])
        without = _render(tokenizer, user)
    except Exception as exc:  # a template may raise on tools it does not expect
        logger.info("The chat template failed on a tools probe (%s); treating it as tool-unaware", exc)
        return TemplateCheck(False, False, None)
    renders_tools = with_tools != without and dumps(_PROBE_TOOL) in with_tools
    call_msg = {"role": "assistant", "content": "", "tool_calls": [{"name": "probe_lookup_x7", "arguments": _PROBE_ARGS}]}
    try:
        called = _render(tokenizer, [*user, call_msg], tools=[_PROBE_TOOL])
    except Exception as exc:
        logger.info("The chat template failed on a tool-call probe (%s)", exc)
        return TemplateCheck(renders_tools, False, None)
    renders_calls = "probe-value-q3" in called
    fmt = HERMES if HERMES.render_call("probe_lookup_x7", _PROBE_ARGS) in called else None
    return TemplateCheck(renders_tools, renders_calls, fmt)


def prepare_tokenizer(tokenizer, *, force_builtin: bool = False) -> ToolCallFormat:
    """Ensure ``tokenizer`` renders tools; attach the built-in template when it does not.

    Returns the tool-call format the (possibly new) template writes.
    """
    check = TemplateCheck(False, False, None) if force_builtin else check_template(tokenizer)
    if check.usable:
        logger.info("Using the tokenizer's own chat template (it renders tools, calls in %s format)",
                    check.call_format.name)
        return check.call_format
    reason = ("forced" if force_builtin else "its template ignores tools" if not check.renders_tools
              else "its template renders calls in a format fc-finetune cannot locate")
    logger.info("Attaching the built-in Hermes/ChatML tool template to the tokenizer (%s)", reason)
    tokenizer.chat_template = builtin_template()
    for marker in ("<|im_start|>", "<|im_end|>"):
        if marker not in tokenizer.get_vocab():
            logger.warning("'%s' is not a token of this tokenizer: the built-in ChatML template will be "
                           "tokenised as plain text", marker)
    after = check_template(tokenizer)
    if not after.usable:
        raise FcFinetuneError("The built-in tool template does not render on this tokenizer; "
                              "pass a tokenizer with a ChatML-compatible vocabulary.")
    return after.call_format
