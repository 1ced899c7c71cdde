"""``fc-finetune export``: merge the LoRA adapter into its base for servers without adapters.

    fc-finetune export --model outputs/quickstart --out outputs/quickstart-merged --dtype bfloat16

The result is a plain transformers checkpoint (safetensors) with the tool-aware tokenizer;
it calls tools in text mode (the heads are not part of it).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="Merge LoRA into the base weights and save a plain model.",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Trained model folder or Hub id.")
    parser.add_argument("--out", type=Path, required=True, help="Folder to write the merged model to.")
    parser.add_argument("--base-model", default=None, help="Override the base model recorded in the folder.")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"],
                        help="Weight dtype of the merged model (default: bfloat16).")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    # Imported when the command runs: the command line imports every command module at start-up.
    import torch

    from ..model.io import export_merged, load_tokenizer_for
    from ..model.modeling import load_model

    model = load_model(args.model, base_model=args.base_model, dtype=torch.float32)
    export_merged(model, args.out, tokenizer=load_tokenizer_for(args.model), dtype=args.dtype)
    print(f"merged model written to {args.out}")
    return 0
