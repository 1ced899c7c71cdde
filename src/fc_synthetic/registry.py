"""The synthetic catalogue's fake implementations as a :class:`~fc_finetune.tools.registry.FunctionRegistry`,
so the agent loop and the evaluation run them like any user's tools (schema check, timeout,
logging). They are pure Python and deterministic: the same arguments give the same output.

>>> registry = catalogue_registry(["get_current_weather"])
>>> registry.names()
['get_current_weather']
"""

from __future__ import annotations

from collections.abc import Iterable

from fc_finetune.tools.registry import FunctionRegistry

from .functions import BY_NAME, CATALOGUE


def catalogue_registry(names: Iterable[str] | None = None) -> FunctionRegistry:
    """A registry of the named catalogue functions (all of them when ``names`` is None)."""
    specs = CATALOGUE if names is None else [BY_NAME[name] for name in names]
    registry = FunctionRegistry()
    for spec in specs:
        registry.add(_implementation(spec), name=spec.name, schema=spec.tool()["function"])
    return registry


def _implementation(spec):
    def run(**arguments):
        return spec.execute(arguments)

    return run
