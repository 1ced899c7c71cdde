"""Run model-written tool calls safely: look up, validate, call under a hard bound, serialise.

Nothing a call does is raised to the caller: every outcome is a :class:`ToolResult` whose
``content`` is what the model sees next (the JSON result, or an error message it can act on)
and whose ``status`` says what happened:

=================== ==============================================================
``ok``              the function returned a JSON-serialisable value
``unknown_function`` no registered function has that name (nothing is run)
``invalid_arguments`` the arguments are not a JSON object fitting the schema (or are nested
                    too deep, too long, hold a too long integer), or could not be converted
                    to the hinted types (nothing is run)
``error``           the function raised, or its process died (a crash, a memory limit)
``timeout``         the function did not return within ``timeout_s``
``bad_result``      the function returned something JSON cannot hold (a set, NaN, ...)
=================== ==============================================================

Model text is only ever decoded with :func:`fc_finetune.utils.safe_json.loads` and validated
with jsonschema; it is never evaluated. What goes back to the model is bounded: each problem
is cut to :data:`PROBLEM_CHARS`, an error's detail to :data:`DETAIL_CHARS`, every content to
``max_content_chars``. Each call is logged at DEBUG with its name, arguments (secrets masked:
:mod:`.redact`, cut to ``log_chars``), duration and status; error texts are scrubbed of the
secrets found in the arguments before they are logged, stored or shown.

Isolation (:mod:`.isolation`), per executor or per function (``register(..., isolation=)``):

* ``"process"`` (the default where ``fork`` is usable: Linux and other Unix, not macOS):
  each call runs in a forked child that is SIGKILLed at the timeout, with an address-space
  cap of ``max_memory_mb`` (default 1024) over its size at the fork. The bound holds for any
  function: a C loop holding the GIL, ignored signals, a memory bomb, a segfault. The cost is
  one fork per call, measured on 2 busy CPU cores (Python 3.11, median of 50 trivial calls):
  0.15 ms in a thread; in a process 6 ms from a bare interpreter and 20 ms from one holding
  torch and a tiny model (350 MB resident: the fork copies its page tables, so the cost grows
  with the caller's size). A tool's changes to the caller's memory (an in-memory store, a counter)
  are lost with the child, and CUDA cannot be used in a forked child: register such tools
  with ``isolation="thread"``;
* ``"thread"``: each call runs in a daemon thread and the caller stops waiting at the
  timeout, but a thread cannot be killed: the call keeps running (:attr:`Executor.abandoned`
  counts them) and a C loop holding the GIL even delays Ctrl-C. No memory cap.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
from typing import Any

from ..data.tool_format import tool_name_problem
from ..utils.safe_json import JSONLimitError, check_depth
from ..utils.safe_json import loads as safe_loads
from . import isolation as iso
from .redact import loggable, scrub, secret_values
from .registry import FunctionRegistry

logger = logging.getLogger(__name__)

STATUSES = ("ok", "unknown_function", "invalid_arguments", "error", "timeout", "bad_result")
MAX_ARGUMENT_DEPTH = 64  # objects and arrays inside each other, as safe_json allows
PROBLEM_CHARS = 300  # one problem with the arguments, as the model sees it
DETAIL_CHARS = 500  # an exception's type and message, as the model sees it
NAME_CHARS = 80  # an unknown name, as the model sees it


@dataclasses.dataclass
class ToolResult:
    name: str
    arguments: Any  # as the model wrote them (parsed when they were a JSON string); not redacted
    status: str  # one of STATUSES
    content: str  # what the model sees
    duration_s: float = 0.0  # time inside the function (0 when it was not run)
    error: str | None = None  # for the developer: what went wrong (secrets masked), None when ok

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def message(self, tool_call_id: str | None = None) -> dict:
        """The ``{"role": "tool", ...}`` message that carries the result back to the model."""
        out = {"role": "tool", "name": self.name, "content": self.content}
        if tool_call_id is not None:
            out["tool_call_id"] = tool_call_id
        return out


class Executor:
    """Executes calls ``{"name", "arguments"}`` against a :class:`FunctionRegistry`.

    ``isolation``: ``"process"`` or ``"thread"`` (None: ``"process"`` where fork is usable);
    a function registered with its own ``isolation`` uses that. ``max_memory_mb``: the memory
    a call may add in process mode (None: no cap). ``max_argument_chars``: the largest
    arguments, as JSON, that are validated and run at all.
    """

    def __init__(self, registry: FunctionRegistry, *, timeout_s: float = 30.0, log_chars: int = 200,
                 max_content_chars: int | None = 20_000, isolation: str | None = None,
                 max_memory_mb: int | None = 1024, max_argument_chars: int | None = 1_000_000):
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        isolation = isolation or iso.DEFAULT_ISOLATION
        if isolation not in iso.ISOLATIONS:
            raise ValueError(f"isolation must be one of {', '.join(iso.ISOLATIONS)}, got {isolation!r}")
        if isolation == "process" and not iso.FORK_AVAILABLE:
            raise ValueError("isolation='process' needs fork, which this platform lacks or cannot use safely; "
                             "use isolation='thread'")
        if max_content_chars is not None and max_content_chars < 100:
            raise ValueError(f"max_content_chars must be at least 100 (or None), got {max_content_chars}")
        self.registry, self.timeout_s, self.log_chars = registry, timeout_s, log_chars
        self.max_content_chars, self.isolation, self.max_memory_mb = max_content_chars, isolation, max_memory_mb
        self.max_argument_chars = max_argument_chars
        self.abandoned = 0  # thread mode: calls that timed out and may still be running in their thread
        self.killed = 0  # process mode: calls whose process was killed at the timeout

    def execute(self, call: dict, *, timeout_s: float | None = None) -> ToolResult:
        """Run one call; never raises for anything the call or the function does (only a
        ``KeyboardInterrupt`` while waiting goes on, after the call's process is stopped)."""
        name = call.get("name") if isinstance(call, dict) else None
        arguments = call.get("arguments", {}) if isinstance(call, dict) else None
        try:
            result = self._execute(name, arguments, timeout_s or self.timeout_s)
        except Exception as exc:  # a step of ours broken by an odd object in the call: still a result
            label = _label(name)
            logger.warning("executor failed on a call to %s: %s", label, type(exc).__name__)
            result = ToolResult(label, arguments, "error", f"Error: the call to {label} could not be run "
                                f"({type(exc).__name__}).", error=f"executor failure: {type(exc).__name__}")
        self._log(result)
        return result

    def execute_all(self, calls: list[dict]) -> list[ToolResult]:
        """Run calls one after the other (the order the model wrote them in)."""
        return [self.execute(call) for call in calls]

    # ----------------------------------------------------------------------- steps
    def _execute(self, name: Any, arguments: Any, timeout_s: float) -> ToolResult:
        if not isinstance(name, str) or name not in self.registry:
            return self._unknown(name, arguments)
        entry = self.registry.get(name)
        if isinstance(arguments, str):  # OpenAI writes arguments as a JSON string
            try:
                arguments = safe_loads(arguments, max_depth=MAX_ARGUMENT_DEPTH,
                                       max_chars=self.max_argument_chars) if arguments.strip() else {}
            except json.JSONDecodeError as e:
                return self._invalid(name, arguments, [f"arguments are not valid JSON ({e})"])
            except ValueError as e:  # JSONLimitError
                return self._invalid(name, arguments, [f"arguments are not usable: {e}"])
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            return self._invalid(name, arguments, [f"arguments must be a JSON object, got {type(arguments).__name__}"])
        secrets = secret_values(arguments)
        problem = self._limits(arguments)
        if problem:
            return self._invalid(name, arguments, [problem], secrets)
        try:
            problems = entry.validate(arguments)
        except Exception as e:  # an object the validator cannot handle
            problems = [f"arguments cannot be checked ({type(e).__name__})"]
        if problems:
            return self._invalid(name, arguments, problems, secrets)
        try:
            kwargs = entry.prepare(arguments)
        except Exception as e:  # a dataclass __post_init__ or a pydantic validator refused the values
            return self._invalid(name, arguments, [f"{type(e).__name__}: {_message(e)}"], secrets)
        return self._run(entry, arguments, kwargs, timeout_s, secrets)

    def _limits(self, arguments: dict) -> str | None:
        """Why already-decoded ``arguments`` are refused before validation, or None: too deep
        (every later walk would recurse), an integer too long to write, too much JSON."""
        try:
            check_depth(arguments, MAX_ARGUMENT_DEPTH)
        except JSONLimitError:
            return f"arguments are nested deeper than {MAX_ARGUMENT_DEPTH} levels; pass a flatter object"
        try:
            text = json.dumps(arguments, ensure_ascii=False, default=_not_json)
        except TypeError as e:
            return str(e)
        except ValueError as e:
            if "digits" in str(e):
                return "arguments hold an integer with more than 4,300 digits; pass it as a string"
            return f"arguments cannot be written as JSON ({_message(e)})"
        except RecursionError:  # a cycle that check_depth did not see: not JSON either
            return "arguments are not a JSON value (they refer to themselves)"
        if self.max_argument_chars is not None and len(text) > self.max_argument_chars:
            return (f"arguments are {len(text):,} characters of JSON, over the limit of "
                    f"{self.max_argument_chars:,}; pass less data")
        return None

    def _unknown(self, name: Any, arguments: Any) -> ToolResult:
        known = ", ".join(self.registry) or "none"
        if not isinstance(name, str):
            head = "the call has no function name"
        elif tool_name_problem(name):  # quoted and cut: markup in a name is shown as data
            head = tool_name_problem(name)
        else:
            head = f"there is no function named {name}"
        label = _label(name)
        content = self._bounded(f"Error: {head}. Available functions: {known}.")
        return ToolResult(label, arguments, "unknown_function", content, error=f"unknown function {label}")

    def _invalid(self, name: str, arguments: Any, problems: list[str], secrets: list[str] = ()) -> ToolResult:
        cut = [_cut(scrub(p[:PROBLEM_CHARS * 4], secrets), PROBLEM_CHARS) for p in problems[:5]]
        shown = "; ".join(cut) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        content = f"Error: invalid arguments for {name}: {shown}. Fix the arguments and call it again."
        return ToolResult(name, arguments, "invalid_arguments", self._bounded(content), error=shown)

    def _run(self, entry, arguments: dict, kwargs: dict, timeout_s: float, secrets: list[str]) -> ToolResult:
        name, func = entry.name, entry.func
        mode = getattr(entry, "isolation", None) or self.isolation
        if mode == "process" and not iso.process_isolation_usable():
            mode = "thread"  # a daemonic multiprocessing worker may not fork children

        def work():
            return func(**kwargs)

        if mode == "process":
            outcome = iso.run_in_process(work, to_content, timeout_s=timeout_s, max_memory_mb=self.max_memory_mb,
                                         max_chars=self.max_content_chars, name=name)
        else:
            outcome = iso.run_in_thread(work, to_content, timeout_s=timeout_s, max_chars=self.max_content_chars,
                                        name=name)
        return self._result(name, arguments, outcome, timeout_s, mode, secrets)

    def _result(self, name: str, arguments: dict, outcome: iso.Outcome, timeout_s: float, mode: str,
                secrets: list[str]) -> ToolResult:
        seconds = outcome.seconds
        if outcome.status == "ok":
            content = _cut(outcome.content, self.max_content_chars, outcome.content_chars)
            return ToolResult(name, arguments, "ok", content, seconds)
        if outcome.status == "timeout":
            if mode == "thread":
                self.abandoned += 1
                how = "was abandoned"
            else:
                self.killed += 1
                how = "was stopped"
            return ToolResult(name, arguments, "timeout",
                              f"Error: {name} did not finish within {timeout_s:g} s and {how}. "
                              "Try again with different arguments, or answer without it.",
                              seconds, error=f"timeout after {timeout_s:g} s")
        if outcome.status == "bad_result":
            detail = _cut(scrub(f"{name} returned {outcome.error_type}, which cannot be written as JSON "
                                f"({outcome.error_message})", secrets), DETAIL_CHARS)
            return ToolResult(name, arguments, "bad_result", self._bounded(f"Error: {detail}."), seconds,
                              error=detail)
        if outcome.status == "died":
            detail = f"its process {outcome.ended} before returning a result"
            if mode == "process" and self.max_memory_mb is not None and outcome.ended.endswith("SIGKILL"):
                detail += " (out of memory?)"
            return ToolResult(name, arguments, "error", f"Error: {name} failed: {detail}.", seconds,
                              error=f"crashed: {detail}")
        detail = f"{outcome.error_type}: {outcome.error_message}" if outcome.error_message else outcome.error_type
        if outcome.error_type == "MemoryError" and mode == "process" and self.max_memory_mb is not None:
            detail += f" (the call may use at most {self.max_memory_mb} MB more memory)"
        detail = _cut(scrub(detail, secrets), DETAIL_CHARS)
        if outcome.traceback:
            logger.debug("tool %s raised:\n%s", name, scrub(outcome.traceback, secrets))
        return ToolResult(name, arguments, "error", self._bounded(f"Error: {name} failed: {detail}"), seconds,
                          error=detail)

    def _bounded(self, content: str) -> str:
        return _cut(content, self.max_content_chars)

    def _log(self, result: ToolResult) -> None:
        # DEBUG: an evaluation runs hundreds of calls, and the loop reports each one to its
        # caller (the agent's events, chat's console) already; `--log-level DEBUG` shows them.
        logger.debug("tool call %s(%s) -> %s in %.3f s", result.name,
                     loggable_arguments(result.arguments, self.log_chars), result.status, result.duration_s,
                     extra={"tool_name": result.name, "tool_status": result.status,
                            "tool_duration_s": result.duration_s})


# --------------------------------------------------------------------------- helpers
def _label(name: Any) -> str:
    """A name as the model and the log may see it: strings cut to NAME_CHARS, others by type."""
    if isinstance(name, str):
        return name if len(name) <= NAME_CHARS else name[:NAME_CHARS] + f"...(+{len(name) - NAME_CHARS} chars)"
    return "None" if name is None else f"<{type(name).__name__}>"


def _message(exc: BaseException) -> str:
    try:
        return str(exc)[:DETAIL_CHARS * 4]
    except Exception:  # a __str__ that fails
        return "<no message>"


def _cut(text: str, limit: int | None, total: int | None = None) -> str:
    """``text`` at most ``limit`` characters long, saying how long it was (``total``: the length
    of the original when ``text`` is already a cut of it, as process mode sends it)."""
    total = len(text) if total is None else max(total, len(text))
    if limit is None or total <= limit:
        return text
    note = f"... [truncated: {total:,} characters in all]"
    return text[:max(limit - len(note), 0)] + note


def _not_json(value: Any) -> Any:
    raise TypeError(f"arguments hold a {type(value).__name__}, which is not a JSON value")


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if callable(getattr(value, "model_dump", None)):  # pydantic models
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_content(value: Any) -> str:
    """What the model sees for a return value: strings as they are, anything else as strict JSON.

    Dataclasses, Enums and pydantic models are converted; sets, NaN/infinity and arbitrary
    objects raise ``TypeError`` / ``ValueError``.
    """
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_json_default)


def loggable_arguments(arguments: Any, limit: int) -> str:
    """Arguments as JSON for a log line: secrets masked (:func:`.redact.loggable`), cut to
    ``limit`` characters. Never raises, whatever ``arguments`` hold (any depth or size)."""
    try:
        text = json.dumps(loggable(arguments, max_chars=max(limit, 1_000)), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(arguments).__name__}>"
    return text if len(text) <= limit else text[:limit] + f"...(+{len(text) - limit} chars)"
