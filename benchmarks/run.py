"""Run the benchmarks and write their results (``make bench``).

    python benchmarks/run.py                 # all of them
    python benchmarks/run.py load_generate   # one, by module suffix
    python benchmarks/run.py latency         # per-turn latency split, constrained decoding cost, heads vs text

Each ``bench_<name>.py`` module has ``run() -> list[dict]``. Results go to
``benchmarks/results/<name>.json`` (with the machine and versions) and a table to stdout.
Machines here are noisy: benchmarks repeat and report medians, and compare against a
peer measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _environment() -> dict:
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "processor": platform.processor() or "unknown",
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="Benchmarks to run (default: all bench_*.py here).")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    names = args.names or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    from fc_finetune.evaluation.report import write_json

    for name in names:
        module = importlib.import_module(f"bench_{name}")
        rows = module.run()
        write_json(out_dir / f"{name}.json", {"env": _environment(), "rows": rows})
        print(f"\n## {name}\n")
        keys = list(rows[0])
        print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
        for row in rows:
            print("| " + " | ".join(f"{row[k]:.3g}" if isinstance(row[k], float) else str(row[k]) for k in keys) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
