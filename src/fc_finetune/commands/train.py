"""``fc-finetune train``: one training run (:func:`fc_finetune.training.run.main`).

Training has its own parser (one dataclass per concern, defaults < YAML recipe < flags,
unknown keys are errors): every option after ``train`` goes to it untouched, and
``fc-finetune train --help`` lists them all.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", add_help=False, help="Fine-tune with LoRA + heads from a YAML recipe "
                            "(`fc-finetune train --config RECIPE.yaml [--key value ...]`; --help lists every option).")
    parser.set_defaults(func=main, passthrough=True)


def main(args: argparse.Namespace) -> int:
    # Imported here, not at the top: it loads torch and transformers, which `fc-finetune --help`
    # and the other commands do not need.
    from ..training.run import main as run

    return run(args.extra)
