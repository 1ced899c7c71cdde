"""The bad-input corpus: YAML files of cases under tests/bad_inputs/, run through ``cli.main``.

Each file covers one class of bad input and holds data, not code, so that anyone can add a
case (or a file) without writing a test; tests/test_bad_inputs.py runs every case of every
``*.yaml`` in the folder. The format::

    class: data_files            # the class this file covers (one file per class)
    cases:
      - id: empty_jsonl          # unique within the file; the test id is CLASS/ID
        files:                   # optional: written into a fresh temp dir before the run
          in.jsonl: ""                                   # plain text (UTF-8)
          deep.jsonl: {parts: [["[", 10000], ["]", 10000], ["\\n", 1]]}   # concatenation of text*count
          bin.yaml: {hex: "fffe00"}                      # raw bytes
          sub/out/: ""                                   # a name ending in / is an empty folder
        link: {out.jsonl: in.jsonl}   # optional symlinks to create (name: target, target as given)
        argv: [data, validate, "{tmp}/in.jsonl"]          # fc-finetune arguments; {tmp} is the temp dir
        exit: 2                                           # the exit status (a list: any of them)
        message: "in\\.jsonl: no records"                 # optional regex searched in the last non-empty stderr line
        unchanged: [in.jsonl]                             # optional: files that must be byte-identical after

Other top-level keys are ignored (data_files.yaml keeps YAML anchors under ``shared``). Only
cases with ``argv`` are run here: a file in this folder written for another runner (the
executor's executor_calls.yaml, whose cases are tool calls) is left to that runner.

``{tmp}`` is replaced in ``argv`` and in link targets; file names and ``unchanged`` entries are
relative to the temp dir (an absolute path such as ``/dev/full`` is taken as it is). The command
runs in-process with the temp dir as working directory, stdout and stderr captured (the log
too), and ``FC_FINETUNE_DEBUG`` unset, so the error boundary of ``cli.main`` is what a user gets.

"Unchanged" means: the same kind of file (a symlink stays a symlink to the same target, a device
stays that device) and, for regular files, the same bytes. A case that needs no message (a
command that must succeed) leaves ``message`` out. Cases must stay fast (no model loads): put
a missing ``--model`` after the data options when the data is what is being tested, since data
is read before any model.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import stat
import traceback
from pathlib import Path
from typing import Any

import yaml

FOLDER = Path(__file__).resolve().parents[1] / "bad_inputs"
DEBUG_ENV = "FC_FINETUNE_DEBUG"
_CASE_KEYS = {"id", "files", "link", "argv", "exit", "message", "unchanged"}


def load_cases(folder: str | Path | None = None, classes: list[str] | None = None) -> list[dict]:
    """Every command-line case (one with ``argv``) of every ``*.yaml`` in ``folder`` (default
    tests/bad_inputs), each with its ``class`` (the file's, else the file's stem) and ``file``
    added; ``classes`` keeps only those classes. Cases without ``argv`` belong to files another
    runner reads (executor_calls.yaml: tests/helpers/adversarial.py) and are left out. A
    malformed command-line case raises ValueError naming the file and the case."""
    cases = []
    for path in sorted(Path(folder or FOLDER).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
            raise ValueError(f"{path.name}: needs 'class: NAME' and a list of 'cases'")
        klass = doc.get("class") or path.stem
        if classes is not None and klass not in classes:
            continue
        seen = set()
        for number, case in enumerate(doc["cases"]):
            if not isinstance(case, dict) or "argv" not in case:
                continue
            if not isinstance(case.get("id"), str):
                raise ValueError(f"{path.name}: case {number} needs an 'id'")
            unknown = set(case) - _CASE_KEYS
            if unknown or "exit" not in case or not isinstance(case["argv"], list):
                raise ValueError(f"{path.name}: case {case['id']!r}: needs argv (a list) and exit"
                                 + (f"; unknown keys {sorted(unknown)}" if unknown else ""))
            if case["id"] in seen:
                raise ValueError(f"{path.name}: case id {case['id']!r} is used twice")
            seen.add(case["id"])
            cases.append({**case, "class": klass, "file": path.name})
    return cases


def _content(spec: Any) -> bytes:
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if isinstance(spec, dict) and "hex" in spec:
        return bytes.fromhex(spec["hex"])
    if isinstance(spec, dict) and "parts" in spec:
        return "".join(str(text) * int(count) for text, count in spec["parts"]).encode("utf-8")
    raise ValueError(f"a file is text, {{hex: ...}} or {{parts: [[text, count], ...]}}, got {spec!r}")


def _where(tmp: Path, name: str) -> Path:
    return Path(name) if os.path.isabs(name) else tmp / name


def _snapshot(path: Path) -> tuple:
    """What 'unchanged' compares: the kind of file, a link's target, a regular file's bytes."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ("missing",)
    if stat.S_ISLNK(st.st_mode):
        try:
            os.stat(path)
        except FileNotFoundError:
            return ("link", os.readlink(path), ("missing",))
        except OSError:  # a loop
            return ("link", os.readlink(path), ("loop",))
        return ("link", os.readlink(path), _snapshot(Path(os.path.realpath(path))))
    if stat.S_ISREG(st.st_mode):
        return ("file", path.read_bytes())
    if stat.S_ISDIR(st.st_mode):
        return ("dir", sorted(p.name for p in path.iterdir()))
    return ("special", stat.S_IFMT(st.st_mode), st.st_rdev)


def _prepare(case: dict, tmp: Path) -> None:
    for name, spec in (case.get("files") or {}).items():
        path = _where(tmp, name)
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_content(spec))
    for name, target in (case.get("link") or {}).items():
        path = _where(tmp, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(str(target).replace("{tmp}", str(tmp)))


@contextlib.contextmanager
def _captured_run(tmp: Path):
    """Working directory ``tmp``, no FC_FINETUNE_DEBUG, stdout/stderr and the log captured."""
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    debug = os.environ.pop(DEBUG_ENV, None)
    cwd = os.getcwd()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    os.chdir(tmp)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield out, err
    finally:
        os.chdir(cwd)
        root.handlers, root.level = handlers, level
        if debug is not None:
            os.environ[DEBUG_ENV] = debug


def run_case(case: dict, tmp_path: str | Path) -> dict:
    """Run one case in ``tmp_path`` and say how it went: ``{id, class, exit, last_line, traceback,
    matched, unchanged_ok, records_lost}`` plus ``stdout``/``stderr`` for failure messages.

    ``exit`` is None when an exception escaped ``main`` (then ``traceback`` is True, as it is when
    stderr shows one); ``records_lost`` counts the ``unchanged`` files that changed."""
    from fc_finetune.cli import main

    tmp = Path(tmp_path)
    _prepare(case, tmp)
    watched = {name: _snapshot(_where(tmp, name)) for name in case.get("unchanged") or []}
    argv = [str(arg).replace("{tmp}", str(tmp)) for arg in case["argv"]]
    escaped = None
    with _captured_run(tmp) as (out, err):
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse's usage errors are a normal answer
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - recording what a user would have seen is the point
            status, escaped = None, traceback.format_exc()
    stderr = err.getvalue() + (escaped or "")
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    last_line = lines[-1] if lines else ""
    changed = [name for name, before in watched.items() if _snapshot(_where(tmp, name)) != before]
    pattern = case.get("message")
    return {
        "id": case["id"], "class": case.get("class"), "exit": status, "last_line": last_line,
        "traceback": escaped is not None or "Traceback" in stderr,
        "matched": True if pattern is None else re.search(pattern, last_line) is not None,
        "unchanged_ok": not changed, "records_lost": len(changed),
        "stdout": out.getvalue(), "stderr": stderr,
    }
