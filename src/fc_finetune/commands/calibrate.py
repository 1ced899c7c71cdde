"""``fc-finetune calibrate``: refit the selector's temperature and NO_CALL threshold on your data.

    fc-finetune calibrate --model outputs/smollm2-135m-quickstart --data my_dev_set.jsonl
    fc-finetune calibrate --model DIR --data dev.jsonl --dry-run     # report only, change nothing

Training calibrates on its ``eval_data``; a threshold fitted on one distribution does not
transfer to another (on BFCL the quickstart's synthetic-mix threshold calls on almost every
irrelevant question). This refits both on held-out conversations like your traffic: every
decision point of every assistant turn (call which function, or NO_CALL), teacher-forced.
It prints the current and the refitted figures on that data and, unless ``--dry-run``,
writes the new values into the model folder's fc_finetune_config.json (atomically).
Never calibrate on the set you report results on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("calibrate", help="Refit the selector's temperature and NO_CALL threshold on a dev set.",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="A model folder written by `fc-finetune train`.")
    parser.add_argument("--data", required=True,
                        help="Held-out conversations with assistant turns (any format `fc-finetune data convert` reads).")
    parser.add_argument("--max-examples", type=int, default=None, metavar="N",
                        help="Use at most N conversations (default: all).")
    parser.add_argument("--max-length", type=int, default=2048, metavar="N",
                        help="Longest conversation in tokens; longer ones lose their oldest turns (default: 2048).")
    parser.add_argument("--batch-size", type=int, default=4, metavar="N", help="Conversations per forward pass (default: 4).")
    parser.add_argument("--dry-run", action="store_true", help="Report the figures without changing the model folder.")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import datasets
    import torch
    from torch.utils.data import DataLoader

    from ..cache import atomic_write_bytes
    from ..calibration import (
        balanced_call_accuracy,
        calibrate_selector,
        collect_decisions,
        expected_calibration_error,
    )
    from ..data.collate import FunctionCallingCollator, encode_dataset
    from ..data.io import load_records
    from ..errors import FcFinetuneError
    from ..model_io import CONFIG_NAME, load_model, load_tokenizer_for

    config_path = args.model / CONFIG_NAME
    if not config_path.is_file():
        raise FcFinetuneError(f"'{args.model}' is not a folder written by `fc-finetune train` (no {CONFIG_NAME}).")
    records = load_records(args.data, limit=args.max_examples).records
    model = load_model(args.model, dtype=torch.float32)
    if model.heads.selector is None:
        raise FcFinetuneError(f"'{args.model}' was trained without the selector head: nothing to calibrate.")
    tokenizer = load_tokenizer_for(args.model)
    rows = datasets.Dataset.from_dict({"record": [json.dumps(r, ensure_ascii=False) for r in records]})
    encoded, _ = encode_dataset(rows, tokenizer, max_length=args.max_length)
    encoded = encoded.select_columns([c for c in encoded.column_names if c not in ("record", "length")])
    loader = DataLoader(encoded, batch_size=args.batch_size, collate_fn=FunctionCallingCollator(tokenizer.pad_token_id))
    with torch.no_grad():
        logits, targets = collect_decisions(model, loader)
    fitted = calibrate_selector(logits, targets)
    if fitted is None:
        raise FcFinetuneError(f"'{args.data}' gives only {targets.numel()} decision points; calibration needs "
                              "at least 10 (more is better: hundreds).")
    clean = logits.masked_fill(torch.isinf(logits), -1e4)
    current_t = model.selector_temperature
    current_p = torch.softmax(clean / current_t, -1)
    current_thr = 0.5 if model.no_call_threshold is None else model.no_call_threshold
    should_not = targets == logits.shape[1] - 1
    print(f"{fitted.decisions} decision points ({int(should_not.sum())} NO_CALL) from {len(encoded)} conversations")
    print(f"current:  temperature {current_t:.3f}, NO_CALL threshold {current_thr:.3f}: ECE "
          f"{expected_calibration_error(current_p, targets):.3f}, call/no-call balanced accuracy "
          f"{balanced_call_accuracy(current_p[:, -1], should_not, current_thr):.3f}")
    print(f"refitted: temperature {fitted.temperature:.3f}, NO_CALL threshold {fitted.no_call_threshold:.3f}: ECE "
          f"{fitted.ece_after:.3f}, call/no-call balanced accuracy {fitted.call_decision_accuracy:.3f}")
    if args.dry_run:
        print("--dry-run: the model folder is unchanged")
        return 0
    config = json.loads(config_path.read_text())
    config.update(selector_temperature=fitted.temperature, no_call_threshold=fitted.no_call_threshold,
                  selector_calibration={**fitted.to_dict(), "data": str(args.data)})
    atomic_write_bytes(config_path, (json.dumps(config, indent=2) + "\n").encode())
    print(f"written to {config_path}")
    return 0
