"""Keep secrets out of what the executor writes: log lines, error texts, results of failed calls.

Two rules, applied together:

* **keys** -- the value of any key that names a secret (``password``, ``pwd``, ``api_key``,
  ``access_key``, ``Authorization``, ``session``, ``cookie``, ``refresh_token`` ...) becomes
  ``***``, at any depth. Keys are split into words first (``X-Api-Key``, ``apiKey`` and
  ``api_key`` are the same key), so ``max_tokens``, ``author`` or ``passengers`` are *not*
  hidden: hiding every key that merely contains "token" or "pass" would blind the log to
  ordinary arguments;
* **values** -- substrings that look like credentials wherever they appear, under any key or
  in free text (an error message quoting an argument): ``Bearer``/``Basic`` credentials,
  Hugging Face ``hf_...``, OpenAI-style ``sk-...``, GitHub ``ghp_...``, Slack ``xox?-...``,
  Google ``AIza...``, AWS access key ids ``AKIA...``, JWTs ``eyJ...``, ``user:password@`` in
  URLs and ``password=...`` in query strings.

:func:`loggable` copies a value for a log line without recursion and within a budget (depth,
items, characters), so arguments nested 10,000 deep or 10 MB long cost little to log and never
raise. :func:`scrub` cleans a text (an error message) of the value patterns and of the exact
secret values found in the arguments (:func:`secret_values`), which the message may quote.

>>> loggable({"user": "bob", "accessKey": "abc", "q": "Authorization: Bearer abcdefghijkl12"})
{'user': 'bob', 'accessKey': '***', 'q': 'Authorization: Bearer ***'}
"""

from __future__ import annotations

import collections
import itertools
import re
from typing import Any

MASK = "***"
MAX_DEPTH = 64
MAX_ITEMS = 1_000  # containers' items visited for one log line
MAX_INT_BITS = 10_000  # about 3,000 digits: longer integers are described, not written out

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# On the key as lower-case words joined by "_": a whole word, or a word ending in one of the first group.
_SECRET_KEY = re.compile(
    r"(?:^|_)(?:[a-z0-9]*(?:password|passwd|passphrase|secret|token|apikey|accesskey|secretkey|privatekey)"
    r"|pass|pwd|auth|authorization|bearer|credentials?|creds|cookies?|session(?:id)?|sid|signature"
    r"|(?:api|access|secret|private|signing|encryption|master|client)_(?:key|secret))(?:_|$)")
_SECRET_VALUES = [
    # (pattern, replacement): the replacement keeps what names the secret, never the secret
    (re.compile(r"\b(Bearer|Basic|Token|Digest)(\s+)[A-Za-z0-9._~+/=:-]{6,}", re.I), r"\1\2" + MASK),
    (re.compile(r"\b(?:hf|ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{12,}"), MASK),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{12,}"), MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), MASK),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), MASK),
    (re.compile(r"\bAIza[A-Za-z0-9_-]{20,}"), MASK),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}"), MASK),
    (re.compile(r"(://[^/\s:@]+:)[^/\s@]+@"), r"\1" + MASK + "@"),
    (re.compile(r"(?i)\b((?:api[_-]?key|access[_-]?token|token|secret|password|passwd|pwd|sig)=)[^&\s\"']+"),
     r"\1" + MASK),
]


def is_secret_key(key: Any) -> bool:
    """Whether a mapping key names a secret (see the module docstring).

    >>> [is_secret_key(k) for k in ("pwd", "X-Api-Key", "aws_secret_access_key", "max_tokens", "author")]
    [True, True, True, False, False]
    """
    if not isinstance(key, str) or len(key) > 200:
        return False
    words = _NOT_ALNUM.sub("_", _CAMEL.sub("_", key).lower()).strip("_")
    return bool(_SECRET_KEY.search(words))


# A quoted key and its quoted value, as JSON and Python's repr write them: '{"pwd": "x"}', "{'pwd': 'x'}".
_QUOTED_PAIR = re.compile(r"""(["'])([A-Za-z0-9_.-]{1,64})\1(\s*:\s*)(["'])((?:\\.|(?!\4).){0,1000})\4""")


def _mask_pair(match: re.Match) -> str:
    if not is_secret_key(match.group(2)):
        return match.group(0)
    quote = match.group(4)
    return f"{match.group(1)}{match.group(2)}{match.group(1)}{match.group(3)}{quote}{MASK}{quote}"


def redact_text(text: str) -> str:
    """``text`` with every secret-looking substring replaced by ``***``, and the values of
    secret keys where the text is JSON or a Python repr (an unparsed argument string, a
    validation message quoting a dict)."""
    for pattern, replacement in _SECRET_VALUES:
        text = pattern.sub(replacement, text)
    return _QUOTED_PAIR.sub(_mask_pair, text)


def _clip(text: str, limit: int | None) -> str:
    """Redacted, then cut to ``limit`` characters; the text is cut (with slack, so a secret
    across the cut is still recognised) before the patterns run over it."""
    if limit is None or len(text) <= limit:
        return redact_text(text)
    shown = redact_text(text[:limit + 512])[:limit]
    return f"{shown}...(+{len(text) - limit} chars)"


def _leaf(value: Any, max_chars: int | None) -> Any:
    if isinstance(value, str):
        return _clip(value, max_chars)
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= MAX_INT_BITS else f"<integer of {value.bit_length():,} bits>"
    return f"<{type(value).__name__}>"


def _key(key: Any, max_chars: int | None) -> str:
    return _clip(key, max_chars) if isinstance(key, str) else str(_leaf(key, max_chars))


def loggable(value: Any, *, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS,
             max_chars: int | None = None) -> Any:
    """A JSON-ready copy of ``value`` for a log line, built without recursion: values of
    secret keys and secret-looking substrings masked, containers below ``max_depth`` shown as
    ``"[...]"``, no more than ``max_items`` items in all, strings cut to ``max_chars``,
    huge integers and non-JSON objects described by their type. Never raises."""
    root: list[Any] = [None]
    queue: collections.deque[tuple[Any, Any, Any, int]] = collections.deque([(value, root, 0, 0)])
    budget = max_items
    while queue:  # breadth first: the budget goes to the first and shallowest items
        item, parent, slot, depth = queue.popleft()
        if isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                parent[slot] = "{...}" if isinstance(item, dict) else "[...]"
                continue
            taken = max(budget, 0)
            budget -= min(len(item), taken)
            if isinstance(item, dict):
                copy: Any = {}
                for k, v in itertools.islice(item.items(), taken):
                    key = _key(k, max_chars)
                    copy[key] = MASK if is_secret_key(k) else None
                    if copy[key] is None:
                        queue.append((v, copy, key, depth + 1))
                if len(item) > taken:
                    copy["..."] = f"+{len(item) - taken} more"
            else:
                copy = [None] * min(len(item), taken)
                queue.extend((v, copy, i, depth + 1) for i, v in enumerate(itertools.islice(item, taken)))
                if len(item) > taken:
                    copy.append(f"...(+{len(item) - taken} more)")
            parent[slot] = copy
        else:
            parent[slot] = _leaf(item, max_chars)
    return root[0]


def secret_values(value: Any, *, max_items: int = 10_000, limit: int = 64) -> list[str]:
    """The values held under secret keys in ``value`` (strings and numbers of at least four
    characters, any depth), longest first: what an error message quoting the arguments must
    not repeat. Iterative and bounded, like :func:`loggable`."""
    found: set[str] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    budget = max_items
    while stack and len(found) < limit:
        item, secret = stack.pop()
        if isinstance(item, dict | list | tuple):
            pairs = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            for k, v in itertools.islice(pairs, max(budget, 0)):
                stack.append((v, secret or is_secret_key(k)))
            budget -= len(item)
        elif secret and isinstance(item, str | int | float) and not isinstance(item, bool):
            if isinstance(item, int) and item.bit_length() > MAX_INT_BITS:
                continue
            text = item if isinstance(item, str) else str(item)
            if 4 <= len(text) <= 100_000:
                found.add(text)
    return sorted(found, key=len, reverse=True)


def scrub(text: str, secrets: list[str] = ()) -> str:
    """``text`` with the secret-looking substrings and each of ``secrets`` (also as Python's
    ``repr`` writes it, the way jsonschema messages quote values) replaced by ``***``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
        quoted = repr(secret)[1:-1]
        if quoted != secret and quoted in text:
            text = text.replace(quoted, MASK)
    return redact_text(text)
