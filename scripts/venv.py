"""Build fc-finetune's virtual environments: the locked one, the newest one, and the lock.

    python scripts/venv.py setup  [--venv .venv]          # exact versions from requirements/lock.txt
    python scripts/venv.py latest [--venv .venv-latest]   # the newest releases pyproject allows
    python scripts/venv.py lock   [--venv .venv-latest]   # freeze that venv into requirements/lock.txt

`make setup`, `make test-latest` and `make lock` call this; it uses only the standard
library, so it runs before anything is installed. pip's own output goes to
``<venv>/setup.log``; the console gets one line per step, and a failure gets one line that
says what went wrong and what to do (exit status 1).

Order matters on machines where torch is a local CPU wheel: torch is installed before
anything that depends on it, or pip would pull a multi-GB CUDA build. Packages that must be
installed without their declared dependencies (xgrammar: its Linux wheel declares triton,
~290 MB of GPU kernels the CPU path never imports) are listed in pyproject's
``[tool.fc-finetune]`` table with the requirements they really need.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
PYTHON_RANGE = ((3, 11), (3, 12))  # pyproject's requires-python, checked before anything else
DEFAULT_INDEX = "https://pypi.org/simple/"
# torch when there is no lock yet: an exact version, never a range (a range here takes a CUDA build).
BOOTSTRAP_TORCH = "torch==2.13.0"


class SetupError(Exception):
    """A setup failure a user can act on: printed as one line."""


def check_python() -> None:
    found = sys.version_info[:2]
    low, high = PYTHON_RANGE
    if not low <= found <= high:
        raise SetupError(
            f"fc-finetune needs Python {low[0]}.{low[1]} to {high[0]}.{high[1]}, but {sys.executable} is "
            f"{found[0]}.{found[1]}: install python3.11 (e.g. `apt-get install python3.11 python3.11-venv`) "
            "and run `make PYTHON=python3.11 setup`.")


def project_table() -> dict:
    import tomllib  # 3.11+: imported after the version check

    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


# -- pip, with its output in a log and its failures turned into one line ------------------
def index_url() -> str:
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        try:
            url = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            url = ""
    return url or DEFAULT_INDEX


def index_problem(url: str) -> str | None:
    """Why the package index cannot be reached, or None when it answers."""
    if not url.startswith(("http://", "https://")):
        return None  # a local index: pip's own error says enough
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/pip/", timeout=15):
            return None
    except urllib.error.HTTPError as exc:
        return None if exc.code < 500 else f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))


def explain(output: str, what: str, log: Path, returncode: int) -> str:
    """One line for a failed pip run: what went wrong and what to do."""
    if "No space left on device" in output:
        return (f"out of disk space while installing {what} (log: {log}): free a few GB "
                f"(the environment takes about 2 GB) and run `make setup` again.")
    missing = re.search(r"No matching distribution found for (\S+)", output)
    conflict = "ResolutionImpossible" in output or "conflicting dependencies" in output
    if missing or conflict or "Could not fetch URL" in output or "NewConnectionError" in output:
        url = index_url()
        problem = index_problem(url)
        if problem:
            return (f"cannot reach the package index {url} ({problem}): check the network or proxy "
                    "(HTTPS_PROXY), or point PIP_INDEX_URL at a mirror, then run `make setup` again.")
        if missing:
            return (f"{LOCK.relative_to(ROOT)} no longer resolves: the index has no {missing.group(1)} for "
                    f"Python {sys.version_info[0]}.{sys.version_info[1]} on this platform (log: {log}). "
                    "Run `make lock` to rebuild the lock from pyproject's ranges, or report it.")
        return (f"the requirements for {what} conflict (log: {log}): run `make lock` to rebuild "
                f"{LOCK.relative_to(ROOT)} from pyproject's ranges, or report it.")
    errors = [line.strip() for line in output.splitlines() if line.strip().startswith("ERROR")]
    last = errors[-1] if errors else f"exit status {returncode}"
    return f"pip failed installing {what}: {last} (full log: {log})"


class Pip:
    def __init__(self, venv: Path):
        self.python = venv / "bin" / "python"
        self.log = venv / "setup.log"

    def install(self, what: str, *args: str) -> None:
        started = time.perf_counter()
        print(f"  {what}", end="", flush=True)
        cmd = [str(self.python), "-m", "pip", "install", "--disable-pip-version-check", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        with open(self.log, "a", encoding="utf-8") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
        if proc.returncode != 0:
            print(" failed", flush=True)
            raise SetupError(explain(proc.stdout + proc.stderr, what, self.log, proc.returncode))
        print(f" ({time.perf_counter() - started:.0f} s)", flush=True)

    def installed(self) -> dict[str, str]:
        code = ("import importlib.metadata as m, json; "
                "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
        out = subprocess.run([str(self.python), "-c", code], capture_output=True, text=True, check=True).stdout
        return {canonical(k): v for k, v in json.loads(out).items()}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def make_venv(venv: Path, fresh: bool) -> Pip:
    if fresh and venv.exists():
        shutil.rmtree(venv)
    if not (venv / "bin" / "python").exists():
        proc = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            hint = ("install the venv module (e.g. `apt-get install python3.11-venv`)"
                    if "ensurepip" in proc.stderr else "check that the folder is writable")
            raise SetupError(f"could not create the virtual environment {venv} ({reason}): {hint}, "
                             "then run `make setup` again.")
    return Pip(venv)


# -- the lock -----------------------------------------------------------------------------
def read_lock() -> dict[str, str]:
    if not LOCK.is_file():
        raise SetupError(f"{LOCK.relative_to(ROOT)} is missing: restore it from git "
                         "(`git checkout -- requirements/lock.txt`) or run `make lock`.")
    pins = {}
    for n, raw in enumerate(LOCK.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if not match:
            raise SetupError(f"{LOCK.relative_to(ROOT)} line {n} is not `name==version`: {raw!r}; "
                             "run `make lock` to rebuild it.")
        pins[canonical(match.group(1))] = match.group(2)
    return pins


def pinned(pins: dict[str, str], requirement: str) -> str:
    name = canonical(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
    if name not in pins:
        raise SetupError(f"{LOCK.relative_to(ROOT)} has no version for {name}: run `make lock` to rebuild it.")
    return f"{name}=={pins[name]}"


def no_deps_table(table: dict) -> tuple[list[str], list[str]]:
    tool = table.get("tool", {}).get("fc-finetune", {})
    return list(tool.get("no-deps", [])), list(tool.get("no-deps-requires", []))


def same_version(found: str, locked: str) -> bool:
    return found == locked or found.split("+", 1)[0] == locked  # a local build (torch 2.13.0+cpu)


def setup(venv: Path, extras: str) -> None:
    """The locked environment: exactly the versions in requirements/lock.txt."""
    check_python()
    pins = read_lock()
    no_deps, no_deps_requires = no_deps_table(project_table())
    print(f"setting up {venv} from {LOCK.relative_to(ROOT)} (pip's output: {venv}/setup.log)", flush=True)
    pip = make_venv(venv, fresh=False)
    lock = ["-c", str(LOCK)]
    pip.install("pip, setuptools, wheel", *lock, *(pinned(pins, p) for p in ("pip", "setuptools", "wheel")))
    pip.install(pinned(pins, "torch"), *lock, pinned(pins, "torch"))
    pip.install(f"fc-finetune[{extras}] and its dependencies", *lock, "--no-build-isolation",
                "-e", f"{ROOT}[{extras}]", *no_deps_requires)
    for requirement in no_deps:
        pip.install(f"{pinned(pins, requirement)} (without its declared dependencies)", "--no-deps",
                    pinned(pins, requirement))
    drift = sorted(f"{name} {version} (lock: {pins[name]})" for name, version in pip.installed().items()
                   if name in pins and not same_version(version, pins[name]))
    if drift:
        raise SetupError(f"{venv} differs from the lock: {', '.join(drift)}; run `make clean setup`.")


def latest(venv: Path, extras: str, torch: str | None) -> None:
    """A fresh environment from the newest releases pyproject's ranges allow (torch stays pinned)."""
    check_python()
    table = project_table()
    no_deps, no_deps_requires = no_deps_table(table)
    torch = torch or (pinned(read_lock(), "torch") if LOCK.is_file() else BOOTSTRAP_TORCH)
    print(f"building {venv} from the newest releases pyproject allows (pip's output: {venv}/setup.log)", flush=True)
    pip = make_venv(venv, fresh=True)
    keep_torch = venv / "torch-constraint.txt"  # so that upgrading the rest never replaces torch
    keep_torch.write_text(torch + "\n")
    pip.install("pip, setuptools, wheel", "--upgrade", "pip", "setuptools>=69", "wheel")
    pip.install(torch, torch)
    pip.install(f"fc-finetune[{extras}] at the newest allowed versions", "--upgrade", "--no-build-isolation",
                "-c", str(keep_torch), "-e", f"{ROOT}[{extras}]", *no_deps_requires)
    for requirement in no_deps:
        pip.install(f"{requirement} (without its declared dependencies)", "--upgrade", "--no-deps", requirement)
    versions = pip.installed()
    shown = ", ".join(f"{n} {versions[n]}" for n in ("torch", "transformers", "peft", "accelerate", "datasets",
                                                       "xgrammar") if n in versions)
    print(f"  {shown}", flush=True)


def write_lock(venv: Path) -> None:
    """requirements/lock.txt from ``venv`` (built by `latest` and tested): every package in it."""
    versions = Pip(venv).installed()
    versions.pop("fc-finetune", None)
    lines = [f"{name}=={version.split('+', 1)[0]}" for name, version in sorted(versions.items())]
    header = [
        "# The tested environment: every package `make setup` installs, at the version the suite passed on.",
        f"# Written by `make lock` ({time.strftime('%Y-%m-%d')}, Python {sys.version_info[0]}.{sys.version_info[1]})"
        " from the newest releases pyproject allows; do not edit by hand.",
        "# torch's local build tag (+cpu) is dropped: `torch==X` takes the local CPU wheel where one lies on disk.",
    ]
    LOCK.parent.mkdir(exist_ok=True)
    tmp = LOCK.with_suffix(".tmp")
    tmp.write_text("\n".join(header + lines) + "\n")
    tmp.replace(LOCK)
    print(f"wrote {LOCK.relative_to(ROOT)}: {len(lines)} packages", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "latest", "lock"])
    parser.add_argument("--venv", type=Path, default=None, help="The environment's folder.")
    parser.add_argument("--extras", default=None, help="pyproject extras to install (setup: dev; latest: dev,bench).")
    parser.add_argument("--torch", default=os.environ.get("TORCH_SPEC"),
                        help="torch requirement for `latest` (default: the lock's torch version).")
    args = parser.parse_args(argv)
    try:
        if args.command == "setup":
            setup(args.venv or ROOT / ".venv", args.extras or "dev")
        elif args.command == "latest":
            latest(args.venv or ROOT / ".venv-latest", args.extras or "dev,bench", args.torch)
        else:
            write_lock(args.venv or ROOT / ".venv-latest")
    except SetupError as exc:
        print(f"\nsetup error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nsetup interrupted: run the same command again to finish.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
