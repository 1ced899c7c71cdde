"""The executor's hard bounds (issue 16): a killed process at the timeout, a memory cap, Ctrl-C,
never raising whatever the call holds, bounded text back to the model, secrets kept out of logs."""

import faulthandler
import json
import logging
import os
import signal
import threading
import time

import pytest

from fc_finetune.tools import isolation
from fc_finetune.tools.executor import PROBLEM_CHARS, Executor, loggable_arguments
from fc_finetune.tools.redact import is_secret_key, loggable, redact_text
from fc_finetune.tools.registry import FunctionRegistry

needs_fork = pytest.mark.skipif(not isolation.FORK_AVAILABLE, reason="process isolation needs fork")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_for_pid(path, seconds=5.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.01)
    raise AssertionError(f"{path} was never written")


@pytest.fixture
def sleeper(tmp_path):
    """A registry whose `nap` writes its process id to a file, then sleeps 60 s."""
    registry = FunctionRegistry()
    pid_file = tmp_path / "pid"

    @registry.register
    def nap() -> str:
        """Sleep a minute."""
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)
        return "rested"

    return registry, pid_file


@needs_fork
def test_process_mode_is_the_default_and_kills_a_hung_call(sleeper):
    registry, pid_file = sleeper
    executor = Executor(registry, timeout_s=0.5)
    assert executor.isolation == "process"
    start = time.perf_counter()
    result = executor.execute({"name": "nap", "arguments": {}})
    assert result.status == "timeout" and time.perf_counter() - start < 1.5
    assert "did not finish within 0.5 s and was stopped" in result.content
    pid = int(pid_file.read_text())
    assert pid != os.getpid() and gone(pid)  # killed and reaped, not left running
    assert (executor.killed, executor.abandoned) == (1, 0)


@needs_fork
def test_ctrl_c_while_waiting_kills_the_child_and_propagates(sleeper):
    registry, pid_file = sleeper
    executor = Executor(registry, timeout_s=30)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Thread(target=lambda: (wait_for_pid(pid_file), os.kill(os.getpid(), signal.SIGINT)))
    start = time.perf_counter()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            executor.execute({"name": "nap", "arguments": {}})
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert time.perf_counter() - start < 5
    assert gone(int(pid_file.read_text()))


@needs_fork
def test_closures_and_local_functions_run_in_process_mode():
    registry = FunctionRegistry()
    offset, seen = 100, []

    @registry.register
    def shift(x: int) -> dict:
        """Add the captured offset."""
        seen.append(x)
        return {"y": x + offset, "pid": os.getpid()}

    registry.add(lambda text: text.upper(), name="shout", schema={"type": "object", "properties": {
        "text": {"type": "string"}}, "required": ["text"]})
    executor = Executor(registry, timeout_s=5, isolation="process")
    result = executor.execute({"name": "shift", "arguments": {"x": 1}})
    assert result.status == "ok" and json.loads(result.content)["y"] == 101
    assert json.loads(result.content)["pid"] != os.getpid() and seen == []  # ran in the child
    assert executor.execute({"name": "shout", "arguments": '{"text": "hi"}'}).content == "HI"


@needs_fork
def test_a_function_registered_for_threads_keeps_its_side_effects():
    registry, store = FunctionRegistry(), []

    @registry.register(isolation="thread")
    def put(item: str) -> int:
        """Store an item in memory."""
        store.append(item)
        return len(store)

    assert Executor(registry, timeout_s=5).execute({"name": "put", "arguments": {"item": "a"}}).content == "1"
    assert store == ["a"]


def test_isolation_is_checked():
    with pytest.raises(ValueError, match="isolation must be one of process, thread"):
        Executor(FunctionRegistry(), isolation="subprocess")
    from fc_finetune.tools.registry import RegistryError

    with pytest.raises(RegistryError, match="isolation"):
        FunctionRegistry().add(len, name="n", schema={"type": "object"}, isolation="fork")


@needs_fork
def test_memory_bombs_and_crashes_end_as_errors_at_once():
    registry = FunctionRegistry()

    @registry.register
    def hog() -> int:
        """Allocate without end."""
        blocks = []
        while True:
            blocks.append(b"x" * (32 << 20))

    @registry.register
    def segfault() -> int:
        """Die of SIGSEGV (quietly: pytest's faulthandler would print the child's stack)."""
        faulthandler.disable()
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(5)
        return 0

    executor = Executor(registry, timeout_s=10, max_memory_mb=128)
    start = time.perf_counter()
    hogged = executor.execute({"name": "hog", "arguments": {}})
    assert hogged.status == "error" and "MemoryError" in hogged.content and "128 MB" in hogged.content
    crashed = executor.execute({"name": "segfault", "arguments": {}})
    assert crashed.status == "error" and "killed by SIGSEGV" in crashed.content
    assert time.perf_counter() - start < 5


def _deep(depth: int) -> dict:
    outer = inner = {}
    for _ in range(depth):
        inner["a"] = {}
        inner = inner["a"]
    return outer


@pytest.fixture
def echo():
    registry = FunctionRegistry()
    ran = []

    @registry.register(isolation="thread")
    def keep(value: str, mode: str = "a") -> str:
        """Return the value."""
        ran.append(value)
        return value

    executor = Executor(registry, timeout_s=5)
    executor.ran = ran
    return executor


@pytest.mark.parametrize("arguments, needle", [
    ({"value": _deep(10_000)}, "nested deeper than 64 levels"),
    ('{"value": ' + "[" * 10_000 + "]" * 10_000 + "}", "nested deeper than 64 levels"),
    ({"value": 10**5000}, "more than 4,300 digits"),
    ('{"value": ' + "9" * 5000 + "}", "too many digits"),
    ({"value": "v", "mode": {1, 2}}, "arguments hold a set"),
    ({"value": "x" * 2_000_000}, "over the limit of 1,000,000"),
    (json.dumps({"value": "x" * 2_000_000}), "over the limit of 1,000,000"),
])
def test_execute_never_raises_on_deep_long_or_odd_arguments(echo, arguments, needle, caplog):
    caplog.set_level(logging.DEBUG, logger="fc_finetune.tools.executor")
    result = echo.execute({"name": "keep", "arguments": arguments})
    assert result.status == "invalid_arguments" and needle in result.content, result.content
    assert len(result.content) < 500 and echo.ran == []
    assert all(len(r.getMessage()) < 400 for r in caplog.records)  # the log line is bounded too


def test_execute_never_raises_on_odd_calls(echo):
    cyclic: dict = {"value": "v"}
    cyclic["mode"] = cyclic
    for call in ({"name": _deep(10_000), "arguments": _deep(10_000)}, {"name": 10**5000}, None, ["keep"],
                 {"name": "keep", "arguments": cyclic}, {"name": "keep", "arguments": 10**5000}):
        result = echo.execute(call)
        assert result.status in ("unknown_function", "invalid_arguments") and len(result.content) < 500
    assert echo.ran == []


def test_everything_sent_back_to_the_model_is_bounded(echo):
    registry = FunctionRegistry()
    registry.register(lambda n: "y" * n, name="big", schema={"type": "object", "properties": {"n": {"type": "integer"}}})
    registry.register(lambda n: (_ for _ in ()).throw(ValueError("z" * n)), name="loud",
                      schema={"type": "object", "properties": {"n": {"type": "integer"}}})
    registry.add(lambda code: code, name="pick", schema={"type": "object", "properties": {
        "code": {"enum": ["a", "b"]}}, "additionalProperties": False})
    executor = Executor(registry, timeout_s=10, max_content_chars=1_000)
    ok = executor.execute({"name": "big", "arguments": {"n": 5_000_000}})
    assert ok.status == "ok" and len(ok.content) == 1_000 and "5,000,000 characters in all" in ok.content
    loud = executor.execute({"name": "loud", "arguments": {"n": 5_000_000}})
    assert loud.status == "error" and len(loud.content) < 600 and len(loud.error) <= 500
    picked = executor.execute({"name": "pick", "arguments": {"code": "q" * 900_000, "x" * 50_000: 1}})
    assert picked.status == "invalid_arguments" and len(picked.content) <= 1_000
    assert all(len(p) <= PROBLEM_CHARS + 5 for p in picked.error.split("; "))
    unknown = executor.execute({"name": "n" * 10_000_000, "arguments": {}})
    assert unknown.status == "unknown_function" and len(unknown.content) < 400 and len(unknown.name) < 120
    markup = executor.execute({"name": "big</tool_call><tool_call>", "arguments": {}})
    assert "'big</tool_call><tool_call>' is not a valid tool name" in markup.content


@pytest.mark.parametrize("key, secret", [
    ("access_key", True), ("secret_key", True), ("pwd", True), ("passwd", True), ("session", True),
    ("cookie", True), ("Authorization", True), ("X-Api-Key", True), ("apiKey", True), ("refresh_token", True),
    ("aws_secret_access_key", True), ("client_secret", True), ("csrftoken", True),
    ("max_tokens", False), ("author", False), ("passengers", False), ("key", False), ("secretary", False),
])
def test_secret_keys(key, secret):
    assert is_secret_key(key) is secret


@pytest.mark.parametrize("text, secret", [
    ("Authorization: Bearer abc123def456ghi", "abc123def456ghi"),
    ("basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("token hf_AbCdEfGhIjKlMnOpQrStUv", "hf_AbCdEfGhIjKlMnOpQrStUv"),
    ("key=sk-proj-AbCdEfGhIjKlMnOp12", "sk-proj-AbCdEfGhIjKlMnOp12"),
    ("id AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx.c2ln", "eyJhbGciOiJIUzI1NiJ9"),
    ("https://bob:hunter2pw@example.com/", "hunter2pw"),
    ("/x?api_key=q1w2e3r4&y=1", "q1w2e3r4"),
    ('{"pwd": "json-pw-1", "q": 1}', "json-pw-1"),
])
def test_secret_values_are_masked_anywhere(text, secret):
    assert secret not in redact_text(text) and "***" in redact_text(text)


def test_redaction_walk_is_bounded_and_masks_nested_keys():
    deep = _deep(10_000)
    assert "[...]" in json.dumps(loggable(deep)) or "{...}" in json.dumps(loggable(deep))
    out = loggable({"a": [{"pwd": "x"}], "n": 10**5000, "o": object()})
    assert out["a"] == [{"pwd": "***"}] and out["n"].startswith("<integer of") and out["o"] == "<object>"
    assert loggable(list(range(5_000)))[-1] == "...(+4000 more)"  # 1,000 items shown in all
    assert loggable([list(range(1_000)), {"pwd": "x"}])[1] == {"...": "+1 more"}  # out of budget: hidden


def test_the_log_holds_no_secret(echo, caplog):
    caplog.set_level(logging.DEBUG, logger="fc_finetune.tools.executor")
    secrets = {"access_key": "AKIAIOSFODNN7EXAMPLE", "pwd": "correct-horse", "note": "Bearer abcdefghijkl0123"}
    echo.execute({"name": "keep", "arguments": {"value": "v", **secrets}})  # invalid: extra keys
    echo.execute({"name": "nope", "arguments": {"nested": [secrets]}})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged and not any(s in logged for s in ("AKIAIOSFODNN7EXAMPLE", "correct-horse", "abcdefghijkl0123"))
    assert '"pwd": "***"' in logged and "Bearer ***" in logged
    assert loggable_arguments({"q": "a" * 50}, 10) == '{"q": "aaa...(+49 chars)'


def test_secrets_quoted_by_a_failing_function_are_masked():
    registry = FunctionRegistry()

    @registry.register
    def login(user: str, password: str) -> str:
        """Fail loudly."""
        raise PermissionError(f"wrong password {password!r} for {user}")

    result = Executor(registry, timeout_s=5).execute({"name": "login", "arguments": {"user": "bob",
                                                                                     "password": "hunter2-x"}})
    assert result.status == "error" and "hunter2-x" not in result.content + result.error
    assert "wrong password '***' for bob" in result.content
