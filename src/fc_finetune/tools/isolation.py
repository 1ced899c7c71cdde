"""Run one tool call under a real bound: in a forked process killed at the timeout, or in a thread.

:func:`run_in_process` forks (``multiprocessing``'s "fork" context: the child is a copy of the
caller, so closures, locally defined functions and their arguments need no pickling). The child
calls the function, turns its value into the text the model will see (``serialise``) and sends
back only an :class:`Outcome` (a few short strings); the caller waits on the pipe with a
timeout and, when it passes, kills the child's whole process group with SIGKILL and reaps it.
A function cannot ignore that, hold the GIL against it, or keep running afterwards. In the child:

* an address-space limit (``RLIMIT_AS``) of its size at the fork plus ``max_memory_mb``, so a
  memory bomb fails at once with ``MemoryError`` instead of driving the machine into swap or
  the OOM killer (skipped where the limit cannot be set);
* its own process group (a terminal's Ctrl-C reaches only the caller, which stops the child,
  and a timeout also kills what the tool started), death with the caller on Linux
  (``PR_SET_PDEATHSIG``), and no core dump of what may be a copy of a loaded model;
* a child that dies without answering (a segfault, ``os._exit``, the kernel's OOM killer) is an
  :class:`Outcome` with status ``died`` and how it ended.

Ctrl-C while the caller waits kills the child and the ``KeyboardInterrupt`` goes on at once.

:func:`run_in_thread` is the fallback where ``fork`` is missing or unsafe (Windows, macOS): the
call runs in a daemon thread and the caller stops *waiting* at the timeout, but a Python thread
cannot be killed, so the call keeps running in the background (``abandoned``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

try:  # imported here, once: importing it in every child would cost each call a millisecond
    import resource
except ImportError:  # Windows
    resource = None

ISOLATIONS = ("process", "thread")
#: fork exists and is safe to use: not on Windows (absent) nor macOS (system frameworks break in a forked child)
FORK_AVAILABLE = "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
DEFAULT_ISOLATION = "process" if FORK_AVAILABLE else "thread"
MESSAGE_CHARS = 2_000  # an exception's message, as the child sends it back
TRACEBACK_CHARS = 4_000  # the end of its traceback, for the developer's log
_PR_SET_PDEATHSIG = 1


@dataclasses.dataclass
class Outcome:
    """What became of one call; everything in it is small and picklable."""

    status: str  # ok, error (the function raised), bad_result, timeout, died (the process ended unasked)
    content: str = ""  # ok: the result as the model sees it, cut to max_chars
    content_chars: int = 0  # ok: its length before the cut
    error_type: str = ""  # error: the exception's type; bad_result: the returned value's type
    error_message: str = ""  # error / bad_result: the exception's message (cut)
    traceback: str = ""  # error: the end of the traceback
    seconds: float = 0.0  # time inside the function (until the timeout, for timeouts)
    ended: str = ""  # died: how the process ended ("was killed by SIGSEGV", "exited with code 3")


def process_isolation_usable() -> bool:
    """Whether this process may fork a tool's process now (not inside a daemonic
    ``multiprocessing`` worker, which may not have children)."""
    return FORK_AVAILABLE and not multiprocessing.current_process().daemon


# --------------------------------------------------------------------------- the call itself
def _message(exc: BaseException) -> str:
    try:
        return str(exc)[:MESSAGE_CHARS]
    except BaseException:  # noqa: B036 - a __str__ that fails must not hide the failure itself
        return "<the exception's message could not be read>"


def _trace(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception(exc))[-TRACEBACK_CHARS:]
    except BaseException:  # noqa: B036
        return ""


def attempt(work: Callable[[], Any], serialise: Callable[[Any], str], max_chars: int | None) -> Outcome:
    """Call ``work`` and ``serialise`` its value; every exception becomes the Outcome (never raises).
    A ``MemoryError`` is described without formatting anything (there may be no memory for it)."""
    start = time.perf_counter()
    failure = None
    try:
        value = work()
    except MemoryError:
        failure = ("MemoryError", "", "")
    except BaseException as exc:  # noqa: B036 - SystemExit and the like are the tool's failure too
        failure = (type(exc).__name__, _message(exc), _trace(exc))
    seconds = time.perf_counter() - start
    if failure is not None:
        return Outcome("error", error_type=failure[0], error_message=failure[1], traceback=failure[2],
                       seconds=seconds)
    try:
        content = serialise(value)
    except BaseException as exc:  # noqa: B036 - TypeError, ValueError, RecursionError, MemoryError ...
        return Outcome("bad_result", error_type=type(value).__name__, error_message=_message(exc), seconds=seconds)
    size = len(content)
    return Outcome("ok", content if max_chars is None else content[:max_chars], size, seconds=seconds)


# --------------------------------------------------------------------------- process mode
@contextlib.contextmanager
def _quiet_fork():
    """Python 3.12+ warns when a process with threads (torch has some) forks; the child here
    only runs the tool and exits, so the warning says nothing useful: silenced around the fork only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*fork\(\).*", category=DeprecationWarning)
        yield


_prctl_cache: list[Any] = []


def _prctl() -> Any:
    """libc's ``prctl``, looked up once in the parent (None off Linux or when unavailable)."""
    if not _prctl_cache:
        found = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                found = ctypes.CDLL(None, use_errno=True).prctl
            except (OSError, AttributeError):
                found = None
        _prctl_cache.append(found)
    return _prctl_cache[0]


def _limit_memory(max_memory_mb: int | None) -> None:
    """Cap the child's address space at its current size plus ``max_memory_mb``; best effort."""
    if max_memory_mb is None or resource is None:
        return
    try:
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = current + max_memory_mb * 2**20
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or soft > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError):
        pass


def _detach(parent_pid: int, prctl: Any) -> None:
    """In the child: its own process group, death with the parent, no core file."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the line above
            os._exit(1)
    if resource is not None:
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))


def _serve(work, serialise, conn, max_memory_mb, max_chars, parent_pid, prctl) -> None:
    """The child's whole life: run, send the Outcome, leave at once (no atexit handlers, no
    waiting for threads the tool may have started)."""
    code = 0
    try:
        _detach(parent_pid, prctl)
        _limit_memory(max_memory_mb)
        conn.send(attempt(work, serialise, max_chars))
    except BaseException:  # noqa: B036 - the parent reports a child that did not answer
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


def _stop(proc, grace_s: float) -> None:
    """Reap the child; kill its process group first when it has not ended within ``grace_s``."""
    if proc.pid is None:  # never started
        return
    proc.join(grace_s)
    if proc.exitcode is None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.join()
    proc.close()


@contextlib.contextmanager
def _held_interrupts():
    """While the caller waits: Ctrl-C sets a flag instead of raising wherever the main thread
    happens to be, and the wait raises ``KeyboardInterrupt`` itself. Raised from a garbage
    collector's finaliser (which may run between the fork and the wait), the interrupt would be
    swallowed as "unraisable" and the wait would go on to the timeout. Only from the main
    thread, and only over Python's own handler (a program's own SIGINT policy is left alone)."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield []
        return
    hits: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: hits.append(signum))
    try:
        yield hits
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _wait(reader, timeout_s: float, hits: list[int]) -> bool:
    """Whether the child answered (or ended) within ``timeout_s``; checks for Ctrl-C every 50 ms."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if reader.poll(max(min(left, 0.05), 0)):
            return True
        if hits:
            raise KeyboardInterrupt
        if left <= 0:
            return False


def run_in_process(work: Callable[[], Any], serialise: Callable[[Any], str], *, timeout_s: float,
                   max_memory_mb: int | None, max_chars: int | None, name: str = "tool") -> Outcome:
    """Run ``work`` in a forked child killed after ``timeout_s`` (see the module docstring)."""
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_serve, name=f"tool:{name}",
                       args=(work, serialise, writer, max_memory_mb, max_chars, os.getpid(), _prctl()))
    start = time.perf_counter()
    grace = 1.0  # for a child that has answered to exit on its own
    try:
        with _held_interrupts() as hits:
            with _quiet_fork():
                proc.start()
            writer.close()
            answered = _wait(reader, timeout_s, hits)
        if hits:  # Ctrl-C came after the wait ended: it still stops everything
            raise KeyboardInterrupt
        if not answered:
            grace = 0.0
            return Outcome("timeout", seconds=time.perf_counter() - start)
        try:
            return reader.recv()
        except Exception:  # EOFError: the child closed the pipe by ending, without an answer
            proc.join(grace)
            return Outcome("died", seconds=time.perf_counter() - start, ended=_ended(proc.exitcode))
    except BaseException:  # Ctrl-C while waiting (or a failed fork): stop the child, then re-raise
        grace = 0.0
        raise
    finally:
        writer.close()
        reader.close()
        _stop(proc, grace)


# --------------------------------------------------------------------------- thread mode
def run_in_thread(work: Callable[[], Any], serialise: Callable[[Any], str], *, timeout_s: float,
                  max_chars: int | None, name: str = "tool") -> Outcome:
    """Run ``work`` in a daemon thread and wait at most ``timeout_s``; on timeout the thread is
    left running (it cannot be stopped). A daemon thread per call, rather than a pool, means a
    hung tool neither starves later calls nor blocks interpreter exit."""
    future: Future = Future()

    def target() -> None:
        if future.set_running_or_notify_cancel():
            future.set_result(attempt(work, serialise, max_chars))

    start = time.perf_counter()
    threading.Thread(target=target, name=f"tool:{name}", daemon=True).start()
    try:
        return future.result(timeout=timeout_s)
    except FutureTimeout:
        return Outcome("timeout", seconds=time.perf_counter() - start)
