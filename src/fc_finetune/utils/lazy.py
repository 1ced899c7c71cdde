"""Lazy re-exports for the subpackages' ``__init__``: ``fc_finetune.model.FunctionCallingModel``
works, but importing ``fc_finetune.model`` loads nothing until a name is asked for, so the
command line starts without torch and no subpackage import can close a cycle."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable, Callable, list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``: ``names`` maps each public
    name to the submodule (relative to ``package``) that defines it."""

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(names[name], package), name)

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__, sorted(names)
