"""``fc-finetune data``: evaluation data and (later) dataset conversion.

    fc-finetune data fetch-bfcl                 # BFCL questions + possible answers
    fc-finetune data fetch-bfcl --wheel bfcl_eval-2026.3.23-py3-none-any.whl
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.bfcl_fetch import BFCL_VERSION, fetch_bfcl, load_index


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="Fetch evaluation data; convert, validate and describe datasets.",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    dsub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    bfcl = dsub.add_parser("fetch-bfcl", help="Extract the BFCL evaluation sets from the bfcl-eval wheel (not installed).")
    bfcl.add_argument("--version", default=BFCL_VERSION, help=f"bfcl-eval release to take (default: {BFCL_VERSION}).")
    bfcl.add_argument("--wheel", type=Path, default=None, help="Use this downloaded wheel instead of running pip.")
    bfcl.add_argument("--force", action="store_true", help="Extract again even when the data is already there.")
    bfcl.set_defaults(func=_fetch_bfcl)


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
