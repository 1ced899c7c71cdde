"""The tree shows the architecture, and this keeps it so: which stage may import which.

Data flows one way, data -> model -> training; inference and evaluation sit beside training
and never import it; only the command line imports everything. Read from the source (every
``from``/``import`` statement, function-level ones included), so a lazy import cannot hide a
dependency.
"""

from __future__ import annotations

import ast

from helpers import ROOT

SRC = ROOT / "src"
PACKAGE = SRC / "fc_finetune"
ROOT_MODULES = {"__init__", "__main__", "cli", "errors", "testing"}
# stage -> the stages it may import (errors and the package's __version__ are always allowed)
ALLOWED = {
    "utils": set(),
    "data": {"utils"},
    "tools": {"data", "utils"},
    "model": {"data", "utils"},
    "hub": {"model", "utils"},
    "training": {"data", "model", "tools", "hub", "utils"},
    "inference": {"data", "model", "tools", "utils"},
    "evaluation": {"data", "model", "inference", "tools", "utils"},
    "commands": {"data", "model", "tools", "hub", "training", "inference", "evaluation", "utils", "fc_synthetic"},
}
ALWAYS = {"errors", "__init__", "__version__"}


def imports_of(path) -> set[str]:
    """Absolute fc_finetune / fc_synthetic modules that ``path`` imports."""
    module = path.relative_to(SRC).with_suffix("").parts
    package = module[:-1] if module[-1] != "__init__" else module[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("fc_finetune", "fc_synthetic")}


def stage(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "fc_synthetic":
        return "fc_synthetic"
    return parts[1] if len(parts) > 1 else "__init__"


def test_only_the_entry_points_sit_at_the_package_root():
    assert {p.stem for p in PACKAGE.glob("*.py")} == ROOT_MODULES


def test_every_stage_imports_only_what_it_may():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        own = path.relative_to(PACKAGE).parts[0]
        if own not in ALLOWED:
            continue
        for target in imports_of(path):
            other = stage(target)
            if other != own and other not in ALLOWED[own] | ALWAYS and target != "fc_finetune":
                wrong.append(f"{path.relative_to(SRC)} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_saved_folder_format_never_imports_the_model():
    assert not {t for t in imports_of(PACKAGE / "model" / "io.py") if t.startswith("fc_finetune.model.modeling")}


def test_the_library_never_imports_the_synthetic_generator_outside_the_commands():
    users = {str(p.relative_to(SRC)) for p in PACKAGE.rglob("*.py")
             if any(t.startswith("fc_synthetic") for t in imports_of(p))}
    assert all(u.startswith("fc_finetune/commands/") for u in users), users
