"""Hardening report: bad input, faults and hostile model output, counted (``python benchmarks/run.py hardening``).

Runs every case of the bad-input corpus (``tests/bad_inputs/*.yaml``) through the real CLI
in-process, as a user would meet it (no ``--debug``), and every hostile call of
``tests/bad_inputs/executor_calls.yaml`` through the executor, then counts per class:

- ``cases``: cases tried;
- ``clear``: cases that ended as the corpus says (exit status and the one-line message, or
  the executor status), with no traceback;
- ``tracebacks``: a traceback printed, or an exception that escaped (goal 0);
- ``forbidden_runs``: a call that must never run whose function body ran (goal 0);
- ``timeouts_overrun``: a call that took longer than its bound, timeout + 1 s (goal 0);
- ``records_lost``: input files changed by a command that must leave them alone (goal 0);
- ``secrets_leaked``: a secret that reached the log or the model's view (goal 0).

The cases are the test suite's own (``tests/test_bad_inputs.py`` and
``tests/tools/test_executor_adversarial.py`` assert each one); this report only adds them up,
so a regression shows both as a failing test and as a non-zero count here.
"""

from __future__ import annotations

import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTS = ("cases", "clear", "tracebacks", "forbidden_runs", "timeouts_overrun", "records_lost", "secrets_leaked")


def _helpers():
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import adversarial, bad_inputs

    return bad_inputs, adversarial


def run() -> list[dict]:
    bad_inputs, adversarial = _helpers()
    table: dict[str, dict] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    unclear: dict[str, list[str]] = defaultdict(list)  # what did not end as the corpus says, for the reader
    for case in bad_inputs.load_cases():
        with tempfile.TemporaryDirectory() as tmp:
            out = bad_inputs.run_case(case, Path(tmp))
        row = table[out["class"]]
        row["cases"] += 1
        row["tracebacks"] += bool(out["traceback"])
        row["records_lost"] += int(out.get("records_lost", 0))
        clear = bool(out["matched"] and out["unchanged_ok"] and not out["traceback"])
        row["clear"] += clear
        if not clear:
            unclear[out["class"]].append(f"{out['id']}: exit {out['exit']}, {out['last_line'][:120]!r}")
    for case in adversarial.load_executor_cases():
        out = adversarial.run_executor_case(case)
        row = table["executor_calls"]
        row["cases"] += 1
        row["tracebacks"] += bool(out["traceback"])
        forbidden = bool(case.get("must_not_run") and out["ran"])
        overrun = bool(case.get("max_seconds") is not None and out["seconds"] > case["max_seconds"])
        row["forbidden_runs"] += forbidden
        row["timeouts_overrun"] += overrun
        row["secrets_leaked"] += len(out["leaked_secrets"])
        clear = bool(out["status"] == case["expect_status"] and not out["traceback"] and not forbidden
                     and not overrun and not out["leaked_secrets"])
        row["clear"] += clear
        if not clear:
            unclear["executor_calls"].append(f"{case['id']}: {out['status']} in {out['seconds']:.2f} s "
                                             f"(expected {case['expect_status']})")
    rows = [{"class": name, **counts, "not_clear": "; ".join(unclear[name]) or "-"}
            for name, counts in sorted(table.items())]
    rows.append({"class": "total", **{key: sum(r[key] for r in rows) for key in COUNTS}, "not_clear": "-"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
