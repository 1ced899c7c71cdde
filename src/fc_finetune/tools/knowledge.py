"""Look-ups in a small bundled knowledge base (``knowledge_base.json``): countries, planets,
chemical elements and a few landmarks. Offline and deterministic.

Each fact has a ``topic`` (with ``aliases``), a ``category``, named ``fields`` and a one-line
``summary``. Topics and fields match case-insensitively; spaces and hyphens in a field name
count as underscores (``"currency code"`` finds ``currency_code``).

>>> lookup_fact("France", "capital")["value"]
'Paris'
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

RESOURCE = "knowledge_base.json"
MAX_LIMIT = 20
_WORD = re.compile(r"[a-z0-9]+")


@functools.cache
def load_facts() -> tuple[dict, ...]:
    """The facts of the bundled knowledge base, read once with :mod:`importlib.resources`."""
    text = importlib.resources.files(__package__).joinpath(RESOURCE).read_text(encoding="utf-8")
    facts = tuple(json.loads(text)["facts"])
    logger.debug("loaded %d facts from %s", len(facts), RESOURCE)
    return facts


def _norm(text: str) -> str:
    text = " ".join(text.lower().split())
    return text[4:] if text.startswith("the ") else text


def _field_key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def _index() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for fact in load_facts():
        for name in (fact["topic"], *fact.get("aliases", [])):
            out.setdefault(_norm(name), fact)
    return out


def lookup_fact(topic: str, field: str | None = None) -> dict:
    """Look up a topic in the local knowledge base, optionally one field of it.

    Topics include countries (fields: capital, currency, currency_code, continent, languages),
    planets (position_from_sun, planet_type, mean_diameter_km, orbital_period), chemical
    elements (symbol, atomic_number, group, state_at_room_temperature), the Moon, the Sun and
    Mount Everest.

    Args:
        topic: The name of the country, planet, element or landmark, e.g. "Japan" or "Mars".
        field: The field to return, e.g. "capital"; leave out to get every field and a summary.
    """
    if not isinstance(topic, str) or not topic.strip():
        raise ValueError("topic is empty; name a country, planet, element or landmark, e.g. 'Japan'")
    index = _index()
    fact = index.get(_norm(topic))
    if fact is None:
        close = difflib.get_close_matches(_norm(topic), list(index), n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(index[c]['topic'] for c in close)}?" if close else \
            " Use search_facts to find what the knowledge base holds."
        raise ValueError(f"no topic named {topic!r} in the knowledge base.{hint}")
    base = {"topic": fact["topic"], "category": fact["category"]}
    if field is None:
        return {**base, "fields": dict(fact["fields"]), "summary": fact["summary"]}
    key = _field_key(field)
    if key not in fact["fields"]:
        raise ValueError(f"{fact['topic']} has no field {field!r}; available fields: {', '.join(fact['fields'])}")
    return {**base, "field": key, "value": fact["fields"][key]}


def _words(value: Any) -> set[str]:
    return set(_WORD.findall(str(value).lower()))


def _score(fact: dict, query: set[str]) -> int:
    names = _words(" ".join([fact["topic"], *fact.get("aliases", [])]))
    fields = _words(" ".join(fact["fields"]).replace("_", " "))
    values = _words(" ".join(map(str, fact["fields"].values())))
    text = _words(fact["summary"]) | _words(fact["category"])
    return sum(4 * (w in names) + 3 * (w in values) + 2 * (w in fields) + (w in text) for w in query)


_STOP = {"the", "a", "an", "of", "is", "what", "which", "in", "on", "and", "to", "its", "with", "by", "for"}


def search_facts(query: str, limit: int = 5) -> dict:
    """Search the local knowledge base by keywords and return the best-matching topics.

    Args:
        query: Keywords to search for, e.g. "euro currency" or "gas giant".
        limit: The most results to return, from 1 to 20.
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query is empty; pass keywords such as 'capital of Kenya' or 'noble gas'")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    words = _words(query) - _STOP or _words(query)
    scored = [(_score(fact, words), i, fact) for i, fact in enumerate(load_facts())]
    ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))[:limit]
    results = [{"topic": f["topic"], "category": f["category"], "summary": f["summary"], "score": score}
               for score, _, f in ranked]
    return {"query": query, "count": len(results), "results": results}
