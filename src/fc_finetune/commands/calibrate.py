"""``fc-finetune calibrate``: refit the selector's temperature and NO_CALL threshold on your data.

    fc-finetune calibrate --model outputs/smollm2-135m-quickstart --data my_dev_set.jsonl
    fc-finetune calibrate --model DIR --data dev.jsonl --dry-run     # report only, change nothing
    fc-finetune calibrate --model DIR --data dev.jsonl --more-calls-data parallel_dev.jsonl

Training calibrates on its ``eval_data``; a threshold fitted on one distribution does not
transfer to another (on BFCL the quickstart's synthetic-mix threshold calls on almost every
irrelevant question). This refits both on held-out conversations like your traffic: every
decision point of every assistant turn (call which function, or NO_CALL), teacher-forced.
It prints the current and the refitted figures on that data and, unless ``--dry-run``,
writes the new values into the model folder's fc_finetune_config.json (atomically). A fitted
temperature that would raise the expected calibration error (ECE) on that data is not used:
the current temperature is kept (and the thresholds fitted under it); both ECEs are printed.
The thresholds read P(NO_CALL) against the best tool alone, so one threshold serves requests
offered one tool and seven; a folder calibrated before that rule keeps the softmax's
P(NO_CALL) until it is calibrated again.
The more-calls threshold (after calls: is another one needed?) is fit on --data's decisions
after calls, or on --more-calls-data's when given: a file with several calls in some turns,
when --data's turns make one call each.
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
    parser.add_argument("--more-calls-data", default=None, metavar="FILE",
                        help="Held-out conversations with several calls in some turns: the more-calls threshold "
                             "(after calls, is another one needed?) is fit on their decisions after calls instead "
                             "of --data's (default: --data).")
    parser.add_argument("--max-examples", type=int, default=None, metavar="N",
                        help="Use at most N conversations of each file (default: all).")
    parser.add_argument("--max-length", type=int, default=2048, metavar="N",
                        help="Longest conversation in tokens; longer ones lose their oldest turns (default: 2048).")
    parser.add_argument("--batch-size", type=int, default=4, metavar="N", help="Conversations per forward pass (default: 4).")
    parser.add_argument("--dry-run", action="store_true", help="Report the figures without changing the model folder.")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    # Heavy imports (torch, transformers) here, not at the top: `fc-finetune --help` stays fast.
    import datasets
    import torch
    from torch.utils.data import DataLoader

    from ..data.collate import FunctionCallingCollator, encode_dataset
    from ..data.io import load_records
    from ..errors import FcFinetuneError
    from ..model import io
    from ..model.modeling import load_model
    from ..training.calibration import (
        apply_calibration,
        calibrate_model,
        decision_text,
        more_calls_text,
        temperature_text,
    )

    if not io.is_saved_model(args.model):
        raise FcFinetuneError(f"'{args.model}' is not a folder written by `fc-finetune train` "
                              f"(no {io.CONFIG_NAME}).")
    # both files read (and validated) before the model is loaded, so a bad file fails at once
    records = load_records(args.data, limit=args.max_examples).records
    more_calls = load_records(args.more_calls_data, limit=args.max_examples).records if args.more_calls_data else None
    model = load_model(args.model, dtype=torch.float32)
    if model.heads.selector is None:
        raise FcFinetuneError(f"'{args.model}' was trained without the selector head: nothing to calibrate.")
    tokenizer = io.load_tokenizer_for(args.model)

    def loader(conversations: list[dict]) -> DataLoader:
        rows = datasets.Dataset.from_dict({"record": [json.dumps(r, ensure_ascii=False) for r in conversations]})
        encoded, _ = encode_dataset(rows, tokenizer, max_length=args.max_length)
        encoded = encoded.select_columns([c for c in encoded.column_names if c not in ("record", "length")])
        return DataLoader(encoded, batch_size=args.batch_size, collate_fn=FunctionCallingCollator(tokenizer.pad_token_id))

    decisions = loader(records)
    report = calibrate_model(model, decisions, loader(more_calls) if more_calls is not None else None)
    fitted = report.fitted
    if fitted is None:
        raise FcFinetuneError(f"'{args.data}' gives only {report.decisions} decision points; calibration needs "
                              "at least 10 (more is better: hundreds).")
    print(f"{fitted.decisions} decision points ({report.no_call_decisions} NO_CALL) from {len(decisions.dataset)} conversations")
    print(f"current:  temperature {report.current_temperature:.3f}, NO_CALL threshold {report.current_threshold:.3f} "
          f"on {decision_text(report.current_decision)}: "
          f"ECE {report.current_ece:.3f}, call/no-call balanced accuracy {report.current_balanced_accuracy:.3f}")
    print(f"refitted: {temperature_text(fitted)}, NO_CALL threshold {fitted.no_call_threshold:.3f} "
          f"on {decision_text(fitted.call_decision)}: "
          f"call/no-call balanced accuracy {fitted.call_decision_accuracy:.3f}; {more_calls_text(fitted)}")
    if args.dry_run:
        print("--dry-run: the model folder is unchanged")
        return 0
    apply_calibration(model, fitted)
    io.update_config(args.model, selector_temperature=fitted.temperature, no_call_threshold=fitted.no_call_threshold,
                     more_calls_threshold=fitted.more_calls_threshold, call_decision=fitted.call_decision,
                     selector_calibration={**fitted.to_dict(), "data": str(args.data),
                                           "more_calls_data": str(args.more_calls_data or args.data)})
    print(f"written to {args.model / io.CONFIG_NAME}")
    return 0
