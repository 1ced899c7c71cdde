"""The catalogue of synthetic functions, one group of domains per module: each module holds
the samplers and fake implementations (``BEHAVIOUR``), ``catalogue/<group>.yaml`` the static
specs (definitions, request and answer templates)."""

from __future__ import annotations

from ..spec import FunctionSpec, load_specs
from . import (
    chat_tools,
    comms,
    finance,
    health_files,
    maps,
    media,
    news_sports,
    numbers,
    office,
    shopping_cooking,
    travel,
    weather_home,
)

_MODULES = (weather_home, office, comms, numbers, finance, travel, maps, shopping_cooking, health_files, media,
            news_sports, chat_tools)
NEVER_HELD_OUT = frozenset({"chat_tools"})
"""Domains always trained on: the toolkit's own chat tools, which the quickstart is meant to serve."""

CATALOGUE: list[FunctionSpec] = [spec for module in _MODULES
                              for spec in load_specs(module.__name__.rsplit(".", 1)[1], module.BEHAVIOUR)]
"""Every synthetic function, in a fixed order (the generator depends on it being stable)."""

BY_NAME: dict[str, FunctionSpec] = {spec.name: spec for spec in CATALOGUE}
if len(BY_NAME) != len(CATALOGUE):  # pragma: no cover - a catalogue bug, caught at import
    raise RuntimeError("duplicate function names in the synthetic catalogue")

DOMAINS: dict[str, list[str]] = {}
for _spec in CATALOGUE:
    DOMAINS.setdefault(_spec.domain, []).append(_spec.name)

__all__ = ["BY_NAME", "CATALOGUE", "DOMAINS", "NEVER_HELD_OUT"]
