"""Every case of the bad-input corpus (tests/bad_inputs/*.yaml, format in helpers/bad_inputs.py):
the right exit status, one clear line, no traceback, and no input changed."""

from __future__ import annotations

import pytest
from helpers.bad_inputs import load_cases, run_case

CASES = load_cases()


def test_the_corpus_covers_its_classes():
    classes = {case["class"] for case in CASES}
    assert {"data_files", "output_paths", "cli"} <= classes
    assert len({(case["class"], case["id"]) for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{case['class']}/{case['id']}" for case in CASES])
def test_bad_input(case, tmp_path):
    result = run_case(case, tmp_path)
    shown = f"argv {case['argv']}\n--- stderr:\n{result['stderr'][-3000:]}\n--- stdout:\n{result['stdout'][-2000:]}"
    assert not result["traceback"], shown
    expected = case["exit"] if isinstance(case["exit"], list) else [case["exit"]]
    assert result["exit"] in expected, shown
    assert result["matched"], f"{case.get('message')!r} not in the last line {result['last_line']!r}\n{shown}"
    assert result["unchanged_ok"], f"{result['records_lost']} file(s) of {case.get('unchanged')} changed\n{shown}"
