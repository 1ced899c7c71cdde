"""The executor's adversarial cases (``tests/bad_inputs/executor_calls.yaml``): load them, run one.

:func:`run_executor_case` runs one case through a fresh :class:`~fc_finetune.tools.executor.Executor`
and reports what a benchmark counts::

    {"id", "status", "seconds", "ran", "leaked_secrets", "traceback", "left_running", "content_chars"}

``ran``: a function body executed (the tools record it in a file: :mod:`helpers.bomb_tools`);
``traceback``: ``execute`` raised instead of returning a result; ``leaked_secrets``: the case's
secrets found in the executor's log records (any level) or in the result's content or error;
``left_running``: a process that ran the body still exists after the call.

Huge values are built here, not written in the file: a value ``{"$gen": arg}`` is expanded by
:func:`expand` (``$repeat: [text, n]``, ``$brackets: n``, ``$digits: n``, ``$concat: [...]``,
``$nested: n``, ``$int_digits: n``).
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from fc_finetune.tools.builtin import build_registry
from fc_finetune.tools.executor import Executor
from fc_finetune.tools.registry import FunctionRegistry
from fc_finetune.utils.cache import pid_alive

from . import bomb_tools

CASES = Path(__file__).resolve().parent.parent / "bad_inputs" / "executor_calls.yaml"
TIMEOUT_S = 1.0
MAX_MEMORY_MB = 256


def load_executor_cases(path: Path = CASES) -> list[dict]:
    return yaml.safe_load(path.read_text())["cases"]


def _nested(depth: int) -> list:
    outer = inner = []
    for _ in range(depth - 1):
        inner.append([])
        inner = inner[0]
    return outer


_GENERATORS = {
    "$repeat": lambda arg: str(arg[0]) * int(arg[1]),
    "$brackets": lambda n: "[" * n + "]" * n,
    "$digits": lambda n: "9" * n,
    "$concat": lambda parts: "".join(expand(p) for p in parts),
    "$nested": _nested,
    "$int_digits": lambda n: 10 ** (n - 1),
}


def expand(value: Any) -> Any:
    """``value`` with every ``{"$gen": arg}`` replaced by what the generator builds."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in _GENERATORS:
            key = next(iter(value))
            return _GENERATORS[key](value[key])
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def _recording(func):
    @functools.wraps(func)
    def recorded(*args, **kwargs):
        bomb_tools.mark(func.__name__)
        return func(*args, **kwargs)

    return recorded


def builtin_registry() -> FunctionRegistry:
    """The bundled tools, each body recording that it ran."""
    registry = FunctionRegistry()
    for name in (source := build_registry()):
        entry = source.get(name)
        registry.add(_recording(entry.func), name=name, description=entry.description, schema=entry.parameters)
    return registry


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record):
        self.texts.append(record.getMessage())
        if record.exc_info:
            self.texts.append(logging.Formatter().formatException(record.exc_info))


def run_executor_case(case: dict) -> dict:
    registry = bomb_tools.bomb_registry() if case["tools"] == "bombs" else builtin_registry()
    executor = Executor(registry, timeout_s=case.get("timeout_s", TIMEOUT_S),
                        max_memory_mb=case.get("max_memory_mb", MAX_MEMORY_MB))
    call = expand(case["call"])
    logger = logging.getLogger("fc_finetune")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    with tempfile.TemporaryDirectory() as marks:
        bomb_tools.MARKS = Path(marks)
        start = time.perf_counter()
        try:
            result, raised = executor.execute(call), False
        except Exception:
            result, raised = None, True
        finally:
            seconds = time.perf_counter() - start
            bomb_tools.MARKS = None
            logger.removeHandler(handler)
            logger.setLevel(level)
        runs = bomb_tools.runs(Path(marks))
    seen = "\n".join(handler.texts)
    if result is not None:
        seen += "\n" + result.content + "\n" + (result.error or "")
    return {
        "id": case["id"],
        "status": None if result is None else result.status,
        "seconds": seconds,
        "ran": bool(runs),
        "leaked_secrets": [s for s in case.get("secrets", []) if s in seen],
        "traceback": raised,
        "left_running": [pid for _, pid in runs if pid != os.getpid() and pid_alive(pid)],  # thread mode runs here
        "content_chars": None if result is None else len(result.content),
    }
