"""Text mode: generate with the plain LM (adapter only) and parse the calls it writes.

This is what a server without our heads does: ``generate`` on the rendered prompt, then
parse the model family's tool-call format. Parsed calls are never trusted: each is checked
against the offered tools and their JSON schema before anything may run it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .data.render import render_prompt
from .data.tool_format import FORMATS, ToolCallFormat
from .schema import argument_error

logger = logging.getLogger(__name__)


@dataclass
class ParsedTurn:
    text: str  # what the model wrote, special tokens removed
    calls: list[dict] = field(default_factory=list)  # schema-valid calls to offered tools
    problems: list[str] = field(default_factory=list)  # why other calls were rejected
    content: str = ""  # the text outside the calls


def check_calls(calls: list[dict], tools: list[dict]) -> tuple[list[dict], list[str]]:
    """Keep the calls that name an offered tool and fit its schema; explain the others."""
    by_name = {t["function"]["name"]: t["function"].get("parameters") or {"type": "object"} for t in tools}
    good, problems = [], []
    for call in calls:
        schema = by_name.get(call["name"])
        if schema is None:
            problems.append(f"unknown function {call['name']!r} (offered: {', '.join(by_name) or 'none'})")
            continue
        problem = argument_error(schema, call["arguments"])
        if problem:
            problems.append(f"{call['name']}: {problem}")
            continue
        good.append(call)
    return good, problems


def parse_turn(text: str, tools: list[dict], fmt: ToolCallFormat) -> ParsedTurn:
    calls, problems = fmt.parse(text)
    calls, rejected = check_calls(calls, tools)
    content = text.split(fmt.call_open.strip())[0].strip()
    return ParsedTurn(text=text, calls=calls, problems=problems + rejected, content=content)


def generate_turn(lm, tokenizer, messages: list[dict], tools: list[dict], *, call_format: str = "hermes",
                  max_new_tokens: int = 256) -> ParsedTurn:
    """One assistant turn in text mode (greedy)."""
    import torch

    prompt = render_prompt(tokenizer, messages, tools)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(lm.device)
    with torch.inference_mode():
        out = lm.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                          pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    text = tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    return parse_turn(text, tools, FORMATS[call_format])
