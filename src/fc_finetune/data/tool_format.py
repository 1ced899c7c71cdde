"""How a tool call is written as text: serialisation, the argument span, parsing.

The toolkit writes calls in the Hermes/Qwen style that servers already parse::

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

Serialisation is ``json.dumps(..., ensure_ascii=False)``, byte for byte what the chat
template's ``tojson`` filter writes, so spans computed here match the rendered prompt.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


def dumps(value: Any) -> str:
    """JSON exactly as transformers' chat-template ``tojson`` filter writes it."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class ToolCallFormat:
    """Text layout of tool calls for one family of chat templates."""

    name: str
    call_open: str
    call_close: str
    call_separator: str

    @property
    def markers(self) -> tuple[str, str]:
        """The call markup an answer must never contain: the opening and the closing tag."""
        return self.call_open.strip(), self.call_close.strip()

    def call_json(self, name: str, arguments: dict) -> str:
        return dumps({"name": name, "arguments": arguments})

    def render_call(self, name: str, arguments: dict) -> str:
        return self.call_open + self.call_json(name, arguments) + self.call_close

    def call_prefix(self, name: str) -> str:
        """The text written before the arguments object, e.g. when the name is forced."""
        return self.call_open + dumps({"name": name, "arguments": None})[: -len("null}")]

    def argument_span(self, name: str, arguments: dict) -> tuple[int, int]:
        """Char span, inside :meth:`render_call`'s text, of what heads mode decodes with the
        argument head: the arguments object (keys, values and the punctuation that ends each
        value) through the closing tag. Training the head on exactly this span keeps it from
        being asked, at inference, for tokens it never learnt (where a value stops)."""
        return len(self.call_prefix(name).rstrip(" ")), len(self.render_call(name, arguments))

    def parse(self, text: str) -> tuple[list[dict], list[str]]:
        """Parse every call in ``text``. Returns (calls, problems); never evaluates code."""
        pattern = re.escape(self.call_open.strip()) + r"\s*(.*?)\s*" + re.escape(self.call_close.strip())
        calls, problems = [], []
        for match in re.finditer(pattern, text, flags=re.DOTALL):
            body = match.group(1)
            try:
                obj = json.loads(body)
            except json.JSONDecodeError as exc:
                problems.append(f"call is not valid JSON ({exc.msg} at char {exc.pos}): {body[:80]!r}")
                continue
            call, problem = _read_call(obj, body)
            if problem:
                problems.append(problem)
            else:
                calls.append(call)
        return calls, problems

    def parse_lenient(self, text: str) -> tuple[list[dict], list[str]]:
        r"""The calls of :meth:`parse`; when the text holds no call markup at all, the calls
        written as plain JSON instead (in a fenced block or bare): every object with a string
        ``name`` and an ``arguments`` (or ``parameters``) object, alone or in a list.

        This is how evaluation reads a base model that knows the functions but not the format
        (Qwen2.5-Coder answers with fenced JSON): a second score beside the strict one, never
        what the agent executes. JSON is only decoded, never evaluated.

        >>> HERMES.parse_lenient('```json\n{"name": "f", "arguments": {"x": 1}}\n```')
        ([{'name': 'f', 'arguments': {'x': 1}}], [])
        """
        if self.call_open.strip() in text:
            return self.parse(text)
        calls, decoder, at = [], json.JSONDecoder(), 0
        while True:
            starts = [i for i in (text.find("{", at), text.find("[", at)) if i >= 0]
            if not starts:
                return calls, []
            try:
                value, at = decoder.raw_decode(text, min(starts))
            except json.JSONDecodeError:
                at = min(starts) + 1
                continue
            # A call, or a list of nothing but calls, each carrying its arguments; prose with braces is not.
            items = value if isinstance(value, list) else [value]
            if items and all(isinstance(v, dict) and ("arguments" in v or "parameters" in v) for v in items):
                found = [_read_call(v, "")[0] for v in items]
                if all(found):
                    calls += found


def _read_call(obj: Any, body: str) -> tuple[dict | None, str | None]:
    """``({"name", "arguments"}, None)`` from one decoded call object, or ``(None, why not)``.
    ``arguments`` may also be called ``parameters``, or be a JSON string."""
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None, f"call has no string 'name': {body[:80]!r}"
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return None, f"arguments of {obj['name']} are a string, not JSON: {args[:80]!r}"
    if not isinstance(args, dict):
        return None, f"arguments of {obj['name']} are not an object: {args!r:.80}"
    return {"name": obj["name"], "arguments": args}, None


HERMES = ToolCallFormat(name="hermes", call_open="<tool_call>\n", call_close="\n</tool_call>", call_separator="\n")

FORMATS = {HERMES.name: HERMES}
