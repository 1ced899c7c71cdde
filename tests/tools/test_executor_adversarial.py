"""Every hostile call of tests/bad_inputs/executor_calls.yaml: it ends as the case says, within its
bound, without raising, without running what must not run, without leaking a secret, and without
leaving a process behind. benchmarks/bench_hardening.py counts the same cases."""

import pytest
from helpers.adversarial import load_executor_cases, run_executor_case

from fc_finetune.tools import isolation
from fc_finetune.tools.executor import STATUSES

CASES = load_executor_cases()
pytestmark = pytest.mark.skipif(not isolation.FORK_AVAILABLE, reason="the bombs are only bounded with fork")


def test_the_cases_are_well_formed():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    for case in CASES:
        assert set(case) <= {"id", "tools", "call", "expect_status", "must_not_run", "max_seconds", "secrets",
                             "timeout_s", "max_memory_mb"}, case["id"]
        assert case["tools"] in ("builtin", "bombs") and case["expect_status"] in STATUSES, case["id"]
        assert isinstance(case["must_not_run"], bool) and case["max_seconds"] > 0, case["id"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_executor_case(case):
    out = run_executor_case(case)
    assert not out["traceback"], "execute raised"
    assert out["status"] == case["expect_status"]
    assert out["seconds"] <= case["max_seconds"], f"took {out['seconds']:.2f} s"
    if case["must_not_run"]:
        assert not out["ran"], "the function body ran"
    assert out["leaked_secrets"] == []
    assert out["left_running"] == [], "a process that ran the call is still alive"
    assert out["content_chars"] <= 20_000  # the executor's max_content_chars
