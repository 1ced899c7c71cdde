"""Hostile tools for the executor's adversarial suite: each one attacks the bound around a call.

Every tool first records that its body ran (:func:`mark`): a file named after the tool and
holding its process id, in :data:`MARKS` (set per case). A file, not a list, because in process
mode the body runs in a forked child whose memory the caller never sees. :func:`runs` reads
the marks back, so a case can tell whether a call that must never run did run, and whether the
process that ran it is gone.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from fc_finetune.tools.registry import FunctionRegistry

MARKS: Path | None = None  # where bodies record that they ran; None: nowhere


def mark(name: str) -> None:
    if MARKS is not None:
        (MARKS / f"{name}.{os.getpid()}").write_text(str(os.getpid()))


def runs(folder: Path) -> list[tuple[str, int]]:
    """``(tool, pid)`` for every body that ran with ``MARKS = folder``."""
    return [(p.name.rsplit(".", 1)[0], int(p.read_text() or 0)) for p in sorted(folder.iterdir())]


def spin() -> int:
    """Burn CPU forever in pure Python."""
    mark("spin")
    n = 0
    while True:
        n += 1


def gil_hog() -> int:
    """One C-level integer power that takes minutes and never releases the GIL or checks signals."""
    mark("gil_hog")
    return 10 ** (10**9)


def sleep_forever() -> str:
    """Sleep far past any timeout."""
    mark("sleep_forever")
    time.sleep(3600)
    return "woke up"


def stubborn() -> str:
    """Ignore SIGINT and SIGTERM, then sleep: only SIGKILL ends it."""
    mark("stubborn")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(0.05)


def memory_hog() -> int:
    """Allocate (and touch) 64 MB blocks until something stops it."""
    mark("memory_hog")
    blocks = []
    while True:
        blocks.append(b"x" * (64 << 20))


def recurse(depth: int = 0) -> int:
    """Recurse without end (RecursionError)."""
    if depth == 0:
        mark("recurse")
    return recurse(depth + 1) + 1


def crash() -> str:
    """Die of a segmentation fault, as a broken C extension does."""
    mark("crash")
    faulthandler.disable()  # pytest enables it, and its stack dump would only be noise here
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)
    return "unreachable"


def killed() -> str:
    """Die at once of SIGKILL, as the kernel's OOM killer would end it."""
    mark("killed")
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)
    return "unreachable"


def exits() -> str:
    """Leave the interpreter without returning (os._exit)."""
    mark("exits")
    os._exit(3)


def system_exit() -> str:
    """Raise SystemExit, which is not an Exception."""
    mark("system_exit")
    sys.exit("bye")


def huge_output() -> str:
    """Return 50 MB of text."""
    mark("huge_output")
    return "y" * (50 << 20)


def huge_error() -> str:
    """Raise an exception whose message is 10 MB long."""
    mark("huge_error")
    raise ValueError("z" * (10 << 20))


def unserialisable(kind: str) -> Any:
    """Return something JSON cannot hold: a set, an object, a cycle, a generator, a deep list, NaN.

    Args:
        kind: set, object, cycle, generator, deep or nan.
    """
    mark("unserialisable")
    if kind == "cycle":
        loop: list = []
        loop.append(loop)
        return loop
    if kind == "deep":
        deep = inner = []
        for _ in range(100_000):
            inner.append([])
            inner = inner[0]
        return deep
    return {"set": {1, 2}, "object": object(), "generator": (i for i in range(3)),
            "nan": float("nan")}.get(kind, {1})


def remember(data: dict[str, Any]) -> dict:
    """Store a record (here: count its keys); the result never repeats the values.

    Args:
        data: The record.
    """
    mark("remember")
    return {"stored": len(data)}


def login(user: str, password: str) -> dict:
    """Refuse the password, quoting it in the error (as careless code does).

    Args:
        user: The user name.
        password: The password.
    """
    mark("login")
    raise PermissionError(f"wrong password {password!r} for {user}")


def set_pin(code: int) -> str:
    """Set a numeric code.

    Args:
        code: The code.
    """
    mark("set_pin")
    return "ok"


def quick(x: int = 0) -> dict:
    """Return at once (the control case).

    Args:
        x: Any number.
    """
    mark("quick")
    return {"x": x}


BOMBS = (spin, gil_hog, sleep_forever, stubborn, memory_hog, recurse, crash, killed, exits, system_exit,
         huge_output, huge_error, unserialisable, remember, login, set_pin, quick)


def bomb_registry() -> FunctionRegistry:
    registry = FunctionRegistry()
    for func in BOMBS:
        registry.register(func)
    return registry
