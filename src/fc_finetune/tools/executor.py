"""Run model-written tool calls safely: look up, validate, call with a timeout, serialise.

Nothing a call does is raised to the caller: every outcome is a :class:`ToolResult` whose
``content`` is what the model sees next (the JSON result, or an error message it can act on)
and whose ``status`` says what happened:

=================== ==============================================================
``ok``              the function returned a JSON-serialisable value
``unknown_function`` no registered function has that name (nothing is run)
``invalid_arguments`` the arguments are not a JSON object fitting the schema, or could
                    not be converted to the hinted types (nothing is run)
``error``           the function raised
``timeout``         the function did not return within ``timeout_s``
``bad_result``      the function returned something JSON cannot hold (a set, NaN, ...)
=================== ==============================================================

Model text is only ever parsed with ``json.loads`` and validated with jsonschema; it is never
evaluated. Each call is logged at INFO with its name, arguments (JSON, values of secret-looking
keys redacted, truncated to ``log_chars``), duration and status.

Timeouts: each call runs in a fresh *daemon thread* and the caller waits on a
``concurrent.futures.Future`` with ``result(timeout=...)``. A Python thread cannot be killed,
so a call that times out keeps running in the background until it returns on its own (its
result is then dropped); :attr:`Executor.abandoned` counts such calls. A daemon thread per
call, rather than a ``ThreadPoolExecutor``, means a hung tool can neither starve the pool
for later calls nor block interpreter exit (pool workers are joined at exit). A process pool
would give true isolation but needs picklable functions, arguments and results (closures and
decorated local functions are not) and costs a process start; tools that may hang for good or
must be isolated should enforce their own limits (e.g. a subprocess with a timeout inside the tool).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import re
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from .registry import FunctionRegistry, UnknownFunctionError

logger = logging.getLogger(__name__)

STATUSES = ("ok", "unknown_function", "invalid_arguments", "error", "timeout", "bad_result")
SECRET_KEYS = re.compile(r"pass(word|wd)?|secret|token|api[_-]?key|auth|credential|private[_-]?key", re.I)


@dataclasses.dataclass
class ToolResult:
    name: str
    arguments: Any  # as the model wrote them (parsed when they were a JSON string)
    status: str  # one of STATUSES
    content: str  # what the model sees
    duration_s: float = 0.0  # time inside the function (0 when it was not run)
    error: str | None = None  # for the developer: exception type and message, None when ok

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
    """Executes calls ``{"name", "arguments"}`` against a :class:`FunctionRegistry`."""

    def __init__(self, registry: FunctionRegistry, *, timeout_s: float = 30.0, log_chars: int = 200,
                 max_content_chars: int | None = 20_000):
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.registry, self.timeout_s, self.log_chars = registry, timeout_s, log_chars
        self.max_content_chars = max_content_chars
        self.abandoned = 0  # calls that timed out and may still be running in their thread

    def execute(self, call: dict, *, timeout_s: float | None = None) -> ToolResult:
        """Run one call; never raises for anything the call or the function does."""
        name = call.get("name") if isinstance(call, dict) else None
        name = name if isinstance(name, str) else repr(name)
        arguments = call.get("arguments", {}) if isinstance(call, dict) else None
        result = self._execute(name, arguments, timeout_s or self.timeout_s)
        self._log(result)
        return result

    def execute_all(self, calls: list[dict]) -> list[ToolResult]:
        """Run calls one after the other (the order the model wrote them in)."""
        return [self.execute(call) for call in calls]

    # ----------------------------------------------------------------------- steps
    def _execute(self, name: str, arguments: Any, timeout_s: float) -> ToolResult:
        try:
            entry = self.registry.get(name)
        except UnknownFunctionError:
            known = ", ".join(self.registry) or "none"
            return ToolResult(name, arguments, "unknown_function",
                              f"Error: there is no function named {name}. Available functions: {known}.",
                              error=f"unknown function {name!r}")
        if isinstance(arguments, str):  # OpenAI writes arguments as a JSON string
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError as e:
                return self._invalid(name, arguments, [f"arguments are not valid JSON ({e})"])
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            return self._invalid(name, arguments, [f"arguments must be a JSON object, got {type(arguments).__name__}"])
        problems = entry.validate(arguments)
        if problems:
            return self._invalid(name, arguments, problems)
        try:
            kwargs = entry.prepare(arguments)
        except Exception as e:  # a dataclass __post_init__ or a pydantic validator refused the values
            return self._invalid(name, arguments, [f"{type(e).__name__}: {e}"])
        return self._run(name, arguments, lambda: entry.func(**kwargs), timeout_s)

    def _invalid(self, name: str, arguments: Any, problems: list[str]) -> ToolResult:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        return ToolResult(name, arguments, "invalid_arguments",
                          f"Error: invalid arguments for {name}: {shown}. Fix the arguments and call it again.",
                          error=shown)

    def _run(self, name: str, arguments: dict, thunk, timeout_s: float) -> ToolResult:
        future: Future = Future()

        def target() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(thunk())
            except BaseException as e:  # noqa: B036 - reported to the model, never re-raised here
                future.set_exception(e)

        start = time.perf_counter()
        threading.Thread(target=target, name=f"tool:{name}", daemon=True).start()
        try:
            value = future.result(timeout=timeout_s)
        except FutureTimeout:
            self.abandoned += 1
            duration = time.perf_counter() - start
            return ToolResult(name, arguments, "timeout",
                              f"Error: {name} did not finish within {timeout_s:g} s and was abandoned. "
                              "Try again with different arguments, or answer without it.",
                              duration, error=f"timeout after {timeout_s:g} s")
        except BaseException as e:  # noqa: B036 - the function's own exception, as a tool error
            duration = time.perf_counter() - start
            logger.debug("tool %s raised", name, exc_info=e)
            detail = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            return ToolResult(name, arguments, "error", f"Error: {name} failed: {detail}",
                              duration, error=detail)
        duration = time.perf_counter() - start
        try:
            content = to_content(value)
        except (TypeError, ValueError) as e:
            detail = f"{name} returned {type(value).__name__}, which cannot be written as JSON ({e})"
            return ToolResult(name, arguments, "bad_result", f"Error: {detail}.", duration, error=detail)
        if self.max_content_chars is not None and len(content) > self.max_content_chars:
            cut = len(content) - self.max_content_chars
            content = content[:self.max_content_chars] + f"... [truncated {cut} characters]"
        return ToolResult(name, arguments, "ok", content, duration)

    def _log(self, result: ToolResult) -> None:
        # DEBUG: an evaluation runs hundreds of calls, and the loop reports each one to its
        # caller (the agent's events, chat's console) already; `--log-level DEBUG` shows them.
        logger.debug("tool call %s(%s) -> %s in %.3f s", result.name,
                    loggable_arguments(result.arguments, self.log_chars), result.status, result.duration_s,
                    extra={"tool_name": result.name, "tool_status": result.status,
                           "tool_duration_s": result.duration_s})


# --------------------------------------------------------------------------- helpers
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


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if isinstance(k, str) and SECRET_KEYS.search(k) else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def loggable_arguments(arguments: Any, limit: int) -> str:
    """Arguments as JSON for a log line: secret-looking keys redacted, cut to ``limit`` characters."""
    try:
        text = json.dumps(_redact(arguments), ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(arguments)
    return text if len(text) <= limit else text[:limit] + f"...(+{len(text) - limit} chars)"


