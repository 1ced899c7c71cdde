"""``fc-finetune train``: see :mod:`fc_finetune.train` (every option: ``fc-finetune train --help``)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", add_help=False, help="Fine-tune with LoRA + heads from a YAML recipe "
                            "(`fc-finetune train --config RECIPE.yaml [--key value ...]`; --help lists every option).")
    parser.add_argument("train_args", nargs=argparse.REMAINDER,
                        help="--config RECIPE.yaml and any training option, e.g. --max_steps 20.")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..train import main as train_main

    return train_main(args.train_args)
