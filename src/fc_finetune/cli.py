"""The ``fc-finetune`` command: one sub-command per job.

    fc-finetune train --config recipes/smollm2-135m/quickstart.yaml
    fc-finetune models fetch smollm2-135m     # the bundled model, offline afterwards
    fc-finetune data fetch-bfcl               # BFCL evaluation data into the cache
    fc-finetune push --model DIR --repo-id USER/NAME   # adapter + heads + card to the Hub
    fc-finetune demo                          # the main job on the bundled default

Every sub-command has ``--help``. Errors caused by input print one clear line (no
traceback) and exit with status 2; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import __version__
from .commands import calibrate as calibrate_cmd
from .commands import chat as chat_cmd
from .commands import data as data_cmd
from .commands import demo as demo_cmd
from .commands import eval as eval_cmd
from .commands import export as export_cmd
from .commands import models as models_cmd
from .commands import push as push_cmd
from .commands import train as train_cmd
from .errors import FcFinetuneError

COMMANDS = (train_cmd, eval_cmd, chat_cmd, calibrate_cmd, models_cmd, data_cmd, push_cmd, export_cmd, demo_cmd)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fc-finetune",
        description="Fine-tune a causal LM to call functions (LoRA + selector and argument heads).",
    )
    parser.add_argument("--version", action="version", version=f"fc-finetune {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="Verbosity of the log written to stderr (default: INFO).")
    parser.add_argument("--debug", action="store_true", help="Show full tracebacks for input errors too.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    # Libraries chatter at INFO; keep ours at the requested level and theirs at WARNING.
    for noisy in ("httpx", "urllib3", "filelock", "datasets", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, getattr(logging, level)))


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args, extra = parser.parse_known_args(sys.argv[1:] if argv is None else list(argv))
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra  # a command with its own option parser (train) reads them
    setup_logging(args.log_level)
    try:
        return int(args.func(args) or 0)
    except FcFinetuneError as exc:
        if args.debug:
            raise
        print(f"fc-finetune: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fc-finetune: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
