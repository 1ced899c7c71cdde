"""Regenerate the bundled synthetic function-calling mix (see data/README.md).

    python data/generate_mix.py --out data/mix --train 3000 --eval 300 --seed 0

Writes <out>/train.jsonl, <out>/eval.jsonl and <out>/stats.json in the canonical record
format (docs/data-format.md). The same options always give byte-identical files.
Same as `fc-finetune data generate`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

try:
    from fc_synthetic import cli
except ImportError:  # a source checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from fc_synthetic import cli


def main(argv: list[str] | None = None) -> int:
    parser = cli.add_arguments(argparse.ArgumentParser(description=__doc__,
                                                       formatter_class=argparse.RawDescriptionHelpFormatter))
    parser.add_argument("--quiet", action="store_true", help="Only report errors.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    return cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
