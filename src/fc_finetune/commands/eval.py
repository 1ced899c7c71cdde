"""``fc-finetune eval``: score a model on held-out function calling; compare runs.

    fc-finetune data fetch-bfcl                                   # once: the BFCL data
    fc-finetune eval --model outputs/smollm2-135m-quickstart --data bfcl:summary --mode heads --limit 20
    fc-finetune eval --model outputs/smollm2-135m-quickstart --data bfcl:summary --mode text --limit 20
    fc-finetune eval --model smollm2-135m --data bfcl:simple_python,multiple --mode text --limit 20
    fc-finetune eval --model outputs/smollm2-135m-quickstart --data data/mix/eval.jsonl --mode heads \\
        --write-model-card-results                                # numbers for `fc-finetune push`
    fc-finetune eval --compare outputs/eval/smollm2-135m-text outputs/eval/smollm2-135m-quickstart-heads

--data is a file (canonical or any format `fc-finetune data convert` reads; the prompt is
the conversation up to the first assistant turn, which is the reference) or
bfcl:CAT[,CAT...] (bfcl:summary = simple_python,multiple,parallel,parallel_multiple,irrelevance).
--model is a folder written by `fc-finetune train` (modes heads and text) or a plain model
(alias such as smollm2-135m, or a folder: text mode only).

Writes into --out (default outputs/eval/<model>-<mode>): results.json, report.md,
eval_results.json and PNG plots. --compare writes comparison.md/.json/.png
(default outputs/eval/comparison).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or a positive integer, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="Evaluate a model on a held-out file or BFCL; compare evaluations.",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None,
                        help="A folder written by `fc-finetune train`, or a base model (alias, folder): text mode only.")
    parser.add_argument("--data", default=None,
                        help="Evaluation set: a file (canonical records or a convertible format), or "
                             "bfcl:CAT[,CAT...] / bfcl:summary from the fetched BFCL data.")
    parser.add_argument("--mode", choices=("heads", "text"), default="heads",
                        help="heads: selector + schema-constrained argument head; text: generate and parse "
                             "(as a server would). Default: heads.")
    parser.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                        help="Evaluate the first N examples of each category (default: all).")
    parser.add_argument("--out", type=Path, default=None,
                        help="Output folder (default: outputs/eval/<model>-<mode>; with --compare: "
                             "outputs/eval/comparison).")
    parser.add_argument("--batch-size", type=_positive_int, default=8, metavar="N",
                        help="Prompts generated together in text mode (default: 8).")
    parser.add_argument("--max-new-tokens", type=_positive_int, default=256, metavar="N",
                        help="Longest output per turn, in tokens (default: 256).")
    parser.add_argument("--max-calls", type=_positive_int, default=8, metavar="N",
                        help="Most calls per turn in heads mode (default: 8).")
    parser.add_argument("--tools", default=None, metavar="MODULE:REGISTRY",
                        help="A FunctionRegistry to run valid calls against (execution success), e.g. "
                             "mytools:registry. Without it, synthetic-catalogue tools run their own "
                             "implementations; others are not executed.")
    parser.add_argument("--responses", type=_non_negative_int, default=50, metavar="N",
                        help="For file sets: generate the final answer (from the gold calls and tool outputs) "
                             "for at most N examples and score it with ROUGE-L and BLEU (default: 50).")
    parser.add_argument("--no-responses", action="store_true", help="Do not generate or score final answers.")
    parser.add_argument("--dtype", choices=("fastest", "bfloat16", "float16", "float32"), default="fastest",
                        help="Weights dtype for evaluation (default: fastest: bfloat16 where the hardware "
                             "multiplies it natively, a CPU with AVX512-BF16 or AMX or a recent GPU, float32 "
                             "elsewhere, where bfloat16 is the slower).")
    parser.add_argument("--write-model-card-results", action="store_true",
                        help="Merge the numbers into MODEL/eval_results.json, which `fc-finetune push` puts in "
                             "the model card (default: eval_results.json goes into --out only).")
    parser.add_argument("--no-progress", action="store_true", help="Hide the progress bars.")
    parser.add_argument("--compare", nargs="+", default=None, metavar="RESULTS",
                        help="Compare earlier evaluations (their --out folders or results.json files) in one "
                             "table and chart instead of evaluating.")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..errors import FcFinetuneError

    if args.out is not None:
        # Imported when the command runs: the command line imports every command module at start-up.
        from ..utils.outputs import check_output_folder

        check_output_folder(args.out)  # an existing file as --out fails now, not after the evaluation
    if args.compare:
        if args.model or args.data:
            raise FcFinetuneError("--compare reads earlier results; do not pass --model or --data with it.")
        # Imported when the command runs: the command line imports every command module at start-up.
        from ..evaluation.compare import write_comparison

        markdown, paths = write_comparison(args.compare, args.out or Path("outputs/eval/comparison"))
        print(markdown)
        for path in paths.values():
            print(f"wrote {path}")
        return 0
    if not args.model or not args.data:
        raise FcFinetuneError("fc-finetune eval needs --model and --data (or --compare RESULTS...); see --help.")
    # Imported when the command runs: the command line imports every command module at start-up.
    from fc_synthetic.registry import catalogue_registry

    from ..evaluation.runner import RunOptions, evaluate
    from ..tools.registry import load_registry

    options = RunOptions(mode=args.mode, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                         max_calls=args.max_calls, responses=0 if args.no_responses else args.responses,
                         registry=load_registry(args.tools) if args.tools else None,
                         fallback_registry=catalogue_registry(),  # runs the bundled mix's calls
                         progress=not args.no_progress and sys.stderr.isatty(), extra={"tools": args.tools})
    results, paths = evaluate(args.model, args.data, options, limit=args.limit, out=args.out,
                              write_model_card_results=args.write_model_card_results, dtype=args.dtype)
    summary = results["summary"]
    print(f"{results['config']['model']} ({args.mode} mode) on {args.data}: {summary['overall']['n']} examples")
    for cat, stats in summary["categories"].items():
        lenient = stats.get("ast_accuracy_lenient")
        print(f"  {cat:<24} AST accuracy {stats['ast_accuracy']:.1%} ({stats['correct']}/{stats['n']})"
              + ("" if lenient is None else f"; read leniently {lenient:.1%}"))
    head = summary["headline"]
    if head["value"] is not None:
        print(f"{head['name']}: {head['value']:.1%} ({head['how']})")
    for name in ("report", "results", "eval_results"):
        print(f"wrote {paths[name]}")
    return 0
