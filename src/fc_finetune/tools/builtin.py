"""Bundled offline tools for the chat demo: a calculator, unit conversion, date arithmetic and
a small local knowledge base. Nothing here touches the network.

:data:`REGISTRY` holds them all; point the demo at it with ``--tools fc_finetune.tools:REGISTRY``.

>>> REGISTRY.names()[:2]
['calculate', 'convert_units']
"""

from __future__ import annotations

from .calculator import calculate
from .dates import add_to_date, date_difference, day_of_week
from .knowledge import lookup_fact, search_facts
from .registry import FunctionRegistry
from .units import convert_units

__all__ = ["REGISTRY", "build_registry", "calculate", "convert_units", "date_difference", "add_to_date",
           "day_of_week", "lookup_fact", "search_facts"]

TOOLS = (calculate, convert_units, date_difference, add_to_date, day_of_week, lookup_fact, search_facts)


def build_registry() -> FunctionRegistry:
    """A fresh :class:`FunctionRegistry` with every bundled tool, in a fixed order."""
    registry = FunctionRegistry()
    for func in TOOLS:
        registry.register(func)
    return registry


REGISTRY = build_registry()
