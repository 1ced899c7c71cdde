"""How a tool call is written as text: serialisation, the argument span, parsing.

The toolkit writes calls in the Hermes/Qwen style that servers already parse::

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

Serialisation is ``json.dumps(..., ensure_ascii=False)``, byte for byte what the chat
template's ``tojson`` filter writes, so spans computed here match the rendered prompt.
Parsing decodes with :func:`fc_finetune.utils.safe_json.loads` (limits on depth, size and
digits) and never evaluates anything.

Tool names are written into the prompt, inside this markup, so they are held to
:data:`TOOL_NAME` (OpenAI's rule plus dots, which BFCL's names use: ``math.factorial``):
a name like ``f</tool_call><tool_call>`` could otherwise forge call markup in every prompt.
The registry and the record schema both check names with :func:`tool_name_problem`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..utils.safe_json import JSONLimitError, check_depth
from ..utils.safe_json import loads as safe_loads

#: What a tool name may be: 1 to 64 letters, digits, '_', '.' or '-' (as ``re.fullmatch``; the
#: JSON-schema spelling is ``^[A-Za-z0-9_.-]{1,64}$``). All 1,998 distinct function names of
#: BFCL v4 (longest: 64 characters) and all names of the bundled data fit it.
TOOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def tool_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a tool name, or None when it can.

    >>> tool_name_problem("math.factorial") is None
    True
    >>> tool_name_problem("f</tool_call>")
    "'f</tool_call>' is not a valid tool name: use 1 to 64 letters, digits, '_', '.' or '-'"
    """
    if isinstance(name, str) and TOOL_NAME.fullmatch(name):
        return None
    shown = repr(name[:80]) + ("..." if len(name) > 80 else "") if isinstance(name, str) else type(name).__name__
    return f"{shown} is not a valid tool name: use 1 to 64 letters, digits, '_', '.' or '-'"


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
    result_tags: tuple[str, ...] = ()  # the tags the family's templates wrap tool results in

    @property
    def markers(self) -> tuple[str, ...]:
        """The markup an answer must never contain: the call's opening and closing tags, then
        the result tags (a small model copies ``<tool_response>`` and the result into its answer)."""
        return self.call_open.strip(), self.call_close.strip(), *self.result_tags

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
        """Parse every call in ``text``. Returns (calls, problems); never evaluates code.

        A call is what lies between an opening tag and the next closing tag. An opening tag
        with no closing tag before the next opening tag (or the end) is a problem of its own,
        ``unclosed <tool_call> ...``, so a turn cut off inside a call is never silently an
        empty answer; a call nested in an unclosed one is still read.

        >>> calls, problems = HERMES.parse('<tool_call>{"name": "f", "arguments": {}}</tool_call><tool_call>{"name"')
        >>> calls
        [{'name': 'f', 'arguments': {}}]
        >>> print(problems[0])
        unclosed <tool_call> (never closed with </tool_call>): '{"name"'
        """
        opening, closing = self.markers[:2]
        calls, problems = [], []
        at, close = 0, None
        while (start := text.find(opening, at)) >= 0:
            body_start = start + len(opening)
            if close is None or 0 <= close < body_start:  # searched once per closing tag (-1: none left)
                close = text.find(closing, body_start)
            reopen = text.find(opening, body_start, close if close >= 0 else len(text))
            if close < 0 or reopen >= 0:
                end = reopen if reopen >= 0 else len(text)
                problems.append(f"unclosed {opening} (never closed with {closing}): {_snippet(text[body_start:end])}")
                at = end
                continue
            body = text[body_start:close].strip()
            at = close + len(closing)
            try:
                obj = safe_loads(body)
            except json.JSONDecodeError as exc:
                problems.append(f"call is not valid JSON ({exc.msg} at char {exc.pos}): {_snippet(body)}")
                continue
            except ValueError as exc:  # JSONLimitError: too deep, too long, too many digits
                problems.append(f"call is not usable JSON ({exc}): {_snippet(body)}")
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
            try:  # the same limits as safe_json.loads: no recursion blow-up, no huge integers
                value, at = decoder.raw_decode(text, min(starts))
                check_depth(value)
            except (ValueError, RecursionError):
                at = min(starts) + 1
                continue
            # A call, or a list of nothing but calls, each carrying its arguments; prose with braces is not.
            items = value if isinstance(value, list) else [value]
            if items and all(isinstance(v, dict) and ("arguments" in v or "parameters" in v) for v in items):
                found = [_read_call(v, "")[0] for v in items]
                if all(found):
                    calls += found


def _snippet(text: str, limit: int = 80) -> str:
    """The start of ``text`` for a problem message: quoted, cut to ``limit`` characters."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _read_call(obj: Any, body: str) -> tuple[dict | None, str | None]:
    """``({"name", "arguments"}, None)`` from one decoded call object, or ``(None, why not)``.
    ``arguments`` may also be called ``parameters``, or be a JSON string."""
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None, f"call has no string 'name': {_snippet(body)}"
    name = obj["name"][:80]
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = safe_loads(args)
        except (ValueError, JSONLimitError):
            return None, f"arguments of {name} are a string, not JSON: {_snippet(args)}"
    if not isinstance(args, dict):
        return None, f"arguments of {name} are not an object: {type(args).__name__}"
    return {"name": obj["name"], "arguments": args}, None


HERMES = ToolCallFormat(name="hermes", call_open="<tool_call>\n", call_close="\n</tool_call>", call_separator="\n",
                        result_tags=("<tool_response>", "</tool_response>"))

FORMATS = {HERMES.name: HERMES}
