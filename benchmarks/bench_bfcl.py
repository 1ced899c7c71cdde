"""BFCL (the five categories of bfcl:summary): the base SmolLM2-135M in text mode against the
quickstart adapter from `make demo` in text and heads mode, then one comparison table.

    python benchmarks/bench_bfcl.py              # first 20 questions per category
    python benchmarks/bench_bfcl.py --limit 2    # a quick check that everything runs

Needs `fc-finetune data fetch-bfcl` and `make demo` (outputs/smollm2-135m-quickstart).
Each run's report goes to outputs/eval/bench_bfcl/<model>-<mode>/, the comparison to
outputs/eval/bench_bfcl/comparison/, the numbers to benchmarks/results/bfcl.json.
The score is BFCL's AST accuracy; "summary" is the unweighted mean over the five categories.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = "smollm2-135m"
QUICKSTART = Path("outputs/smollm2-135m-quickstart")
DATA = "bfcl:summary"
OUT = Path("outputs/eval/bench_bfcl")
LIMIT = 20


def _environment() -> dict:
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "device": "cuda" if torch.cuda.is_available() else "cpu",
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def run(limit: int = LIMIT, out: Path = OUT, max_new_tokens: int = 256, batch_size: int = 8) -> list[dict]:
    from fc_finetune.errors import FcFinetuneError
    from fc_finetune.evaluation.bfcl_fetch import load_index
    from fc_finetune.evaluation.compare import write_comparison
    from fc_finetune.evaluation.runner import RunOptions, evaluate, load_eval_model

    if not (QUICKSTART / "fc_finetune_config.json").is_file():
        raise SystemExit(f"{QUICKSTART} is missing: run `make demo` first")
    try:
        load_index()
    except FcFinetuneError as exc:
        raise SystemExit(str(exc)) from None
    quickstart = load_eval_model(str(QUICKSTART), mode="heads")
    runs = [(BASE, "text", None), (str(QUICKSTART), "text", quickstart), (str(QUICKSTART), "heads", quickstart)]
    rows, folders = [], []
    for model_spec, mode, loaded in runs:
        options = RunOptions(mode=mode, max_new_tokens=max_new_tokens, batch_size=batch_size, responses=0)
        folder = out / f"{Path(model_spec).name}-{mode}"
        start = time.perf_counter()
        results, _ = evaluate(model_spec, DATA, options, limit=limit, out=folder, model=loaded)
        seconds = time.perf_counter() - start
        summary = results["summary"]
        row = {"model": results["config"]["model"], "mode": mode}
        row.update({cat: stats["ast_accuracy"] for cat, stats in summary["categories"].items()})
        row.update({"summary": summary["headline"]["value"], "examples": summary["overall"]["n"],
                    "invalid_output": summary["overall"]["invalid_output"],
                    "s_per_example": round(seconds / max(summary["overall"]["n"], 1), 3)})
        rows.append(row)
        folders.append(folder)
    markdown, _ = write_comparison(folders, out / "comparison")
    print(markdown)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=LIMIT, help=f"Questions per category (default: {LIMIT}).")
    parser.add_argument("--out", type=Path, default=OUT, help=f"Where the reports go (default: {OUT}).")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="Longest output per turn (default: 256).")
    parser.add_argument("--batch-size", type=int, default=8, help="Text-mode generation batch (default: 8).")
    args = parser.parse_args(argv)
    from fc_finetune.evaluation.report import write_json  # after parsing: --help imports no torch
    rows = run(args.limit, args.out, args.max_new_tokens, args.batch_size)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    write_json(results / "bfcl.json", {"env": _environment(), "limit_per_category": args.limit, "data": DATA,
                                        "rows": rows})
    print(f"wrote {results / 'bfcl.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
