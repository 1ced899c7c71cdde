"""The benchmarks import fc_finetune (and the suite's own helpers) inside their run() functions
(they need the real model, or the test corpus, to run); check every such import against the
package, and every import of a sibling benchmark (``from bench_quality import ...``) against
that module, so a rename cannot break them silently."""

from __future__ import annotations

import ast
import importlib
import sys

import pytest
from helpers import ROOT

BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_imports_resolve(path, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(ROOT / "benchmarks"), *sys.path])
    tree = ast.parse(path.read_text(), filename=str(path))
    checked = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module.split(".")[0] in ("fc_finetune", "helpers") or node.module.startswith("bench_")):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), (
                    f"{path.name}:{node.lineno}: {node.module} has no {alias.name}")
                checked += 1
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fc_finetune"):
                    importlib.import_module(alias.name)
                    checked += 1
    assert checked or path.name == "run.py"
