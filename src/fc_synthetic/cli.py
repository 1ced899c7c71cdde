"""Command-line options of the synthetic mix generator, and running it.

    fc-finetune data generate --out data/mix --train 3000 --eval 300 --seed 0
    python data/generate_mix.py --out data/mix          # the same, from a source checkout
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from . import DEFAULT_LIBRARY_RATE, DEFAULT_MASK_RATE, DEFAULT_PROPORTIONS, KINDS, NEAR_MISS_RATE, write_mix

logger = logging.getLogger(__name__)


def parse_proportions(text: str) -> dict[str, float]:
    """``"single=0.5,parallel=0.2"`` -> ``{"single": 0.5, "parallel": 0.2}`` (kinds left out get 0)."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, value = item.partition("=")
        if not sep or kind.strip() not in KINDS:
            raise argparse.ArgumentTypeError(f"expected KIND=WEIGHT with KIND one of {', '.join(KINDS)}; got {item!r}")
        try:
            out[kind.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"weight of {kind.strip()!r} is not a number: {value!r}") from None
    return out


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The generator's options (shared by `fc-finetune data generate` and data/generate_mix.py)."""
    defaults = ",".join(f"{kind}={weight}" for kind, weight in DEFAULT_PROPORTIONS.items())
    parser.add_argument("--out", type=Path, default=Path("data/mix"),
                        help="Folder to write train.jsonl, eval.jsonl and stats.json into (default: data/mix).")
    parser.add_argument("--train", type=int, default=3000, help="Number of training records (default: 3000).")
    parser.add_argument("--eval", type=int, default=300, help="Number of evaluation records (default: 300).")
    parser.add_argument("--seed", type=int, default=0, help="Random seed; same seed, same bytes (default: 0).")
    parser.add_argument("--heldout", type=int, default=6,
                        help="Functions held out of training and used only in eval, to test unseen tools "
                             "(default: 6; 0 disables).")
    parser.add_argument("--heldout-share", type=float, default=0.5,
                        help="Probability that an eval example calling a function calls a held-out one (default: 0.5).")
    parser.add_argument("--max-tools", type=int, default=6,
                        help="Most functions offered in one record, 2-6 (default: 6). Fewer tools give shorter "
                             "prompts: the CPU quickstart uses 3.")
    parser.add_argument("--mask-rate", type=float, default=DEFAULT_MASK_RATE,
                        help="Fraction of training records whose functions and parameters get random names, "
                             f"descriptions kept, so tools are chosen by what they do (default: {DEFAULT_MASK_RATE}).")
    parser.add_argument("--near-miss-rate", type=float, default=NEAR_MISS_RATE,
                        help="Fraction of the requests written for a function that is not offered which are offered "
                             "another function of the same domain that cannot serve them, so the selector learns that "
                             f"a related tool is not the right one (default: {NEAR_MISS_RATE}).")
    parser.add_argument("--library-rate", type=float, default=DEFAULT_LIBRARY_RATE,
                        help="Probability that a distractor slot is filled with a real documented function of the "
                             "installed numpy, networkx, pandas or sympy (read from their docstrings; offered, "
                             "never called), so requests meet tools from many fields "
                             f"(default: {DEFAULT_LIBRARY_RATE}).")
    parser.add_argument("--system-prompt-rate", type=float, default=0.5,
                        help="Fraction of records that start with a system prompt (default: 0.5).")
    parser.add_argument("--proportions", type=parse_proportions, default=None,
                        help=f"Mix of example kinds as KIND=WEIGHT pairs, normalised to sum to 1 "
                             f"(default: {defaults}).")
    parser.add_argument("--no-validate", action="store_true",
                        help="Skip checking every record with fc_finetune.data.schema.validate_record before writing.")
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the mix described by ``args``; log what was written. Returns an exit status."""
    try:
        stats = write_mix(args.out, args.train, args.eval, args.seed, args.heldout, args.proportions,
                          heldout_share=args.heldout_share, system_prompt_rate=args.system_prompt_rate,
                          max_tools=args.max_tools, mask_rate=args.mask_rate, near_miss_rate=args.near_miss_rate,
                          library_rate=args.library_rate,
                          validate=not args.no_validate)
    except ValueError as exc:
        logger.error("error: %s", exc)
        return 2
    for split, info in stats["splits"].items():
        kinds = ", ".join(f"{kind} {n}" for kind, n in info["kinds"].items())
        logger.info("%s: %d records (%s); %d calls; %d call held-out functions", split, info["records"], kinds,
                    info["calls"], info["records_calling_heldout"])
    logger.info("held out of training: %s", ", ".join(stats["heldout_functions"]) or "none")
    logger.info("wrote %s", ", ".join(str(args.out / n) for n in ("train.jsonl", "eval.jsonl", "stats.json")))
    return 0
