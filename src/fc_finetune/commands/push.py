"""``fc-finetune push``: upload a trained model (adapter, heads, tokenizer, card) to the Hub.

    fc-finetune push --model outputs/quickstart --repo-id USER/NAME --private
    fc-finetune push --model outputs/quickstart --repo-id ORG/NAME --revision v1 --create-pr

The token comes from HF_TOKEN or `huggingface-cli login`; it is never printed or logged.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("push", help="Push a trained model and a generated model card to the Hugging Face Hub.",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="The model folder written by training.")
    parser.add_argument("--repo-id", required=True, help="Hub repository, USER/NAME or ORG/NAME (created if needed).")
    parser.add_argument("--private", action="store_true", help="Create the repository as private.")
    parser.add_argument("--revision", default=None, help="Branch to push to (created if needed; default: main).")
    parser.add_argument("--create-pr", action="store_true", help="Open a pull request instead of committing directly.")
    parser.add_argument("--card-only", action="store_true",
                        help="Print the generated model card and the files that would be pushed; push nothing.")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..hub.push import build_model_card, check_repo_id, files_to_push, push_to_hub

    check_repo_id(args.repo_id)  # before anything is read or sent
    if args.card_only:
        print(build_model_card(args.model, repo_id=args.repo_id))
        for path in files_to_push(args.model):
            print(f"would push: {path.relative_to(args.model)}")
        return 0
    info = push_to_hub(args.model, args.repo_id, private=args.private, revision=args.revision,
                       create_pr=args.create_pr)
    print(f"pushed to {getattr(info, 'pr_url', None) or getattr(info, 'commit_url', args.repo_id)}")
    return 0
