"""``fc-finetune demo``: the main job on the bundled default, end to end, offline on CPU.

    fc-finetune demo                          # what `make demo` runs (about 20 minutes on 2 cores)
    fc-finetune demo --max-steps 10           # a quick pass through every step
    fc-finetune demo --reuse                  # skip training when the output folder has a model

1. fetch SmolLM2-135M-Instruct (once) 2. build the synthetic data mix, and fetch the NESTFUL dev
set (real requests, once) that the selector is calibrated on 3. train the quickstart recipe
(LoRA + heads) 4. a short held-out evaluation 5. one function-calling exchange.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

RECIPE = Path("recipes/smollm2-135m/quickstart.yaml")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="Run the main job on the bundled default model (offline, CPU).",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=RECIPE, help=f"Training recipe (default: {RECIPE}).")
    parser.add_argument("--data-dir", type=Path, default=Path("data/mix"),
                        help="Where the synthetic mix is written (default: data/mix; kept if present, written again when "
                             "another version of the generator wrote it).")
    parser.add_argument("--dev-set", type=Path, default=Path("data/nestful/dev.jsonl"),
                        help="The calibration dev set, written by `fc-finetune data fetch-nestful` when absent "
                             "(default: data/nestful/dev.jsonl).")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="Where the model goes (default: the recipe's output_dir).")
    parser.add_argument("--max-steps", type=int, default=None, help="Override the recipe's max_steps.")
    parser.add_argument("--eval-examples", type=int, default=1,
                        help="Held-out examples of each kind (single, parallel, ..., no-call) scored in step 4, "
                             "in each mode (default: 1, which keeps make demo within 20 minutes; "
                             "`fc-finetune eval` scores whole sets).")
    parser.add_argument("--eval-dir", type=Path, default=Path("outputs/eval/demo"),
                        help="Where step 4 writes its reports (default: outputs/eval/demo).")
    parser.add_argument("--reuse", action="store_true", help="Skip training when the output folder holds a model.")
    parser.set_defaults(func=main)


def prepare_mix(data_dir: Path, n_train: int = 3000, n_eval: int = 300) -> dict:
    """The bundled mix in ``data_dir``: written when absent, and written again when another
    version of the generator wrote it (its ``stats.json`` fingerprint differs), so an upgrade
    never trains on a stale mix; a folder of data the generator did not write is used as it is.
    Returns the folder's ``stats.json`` ({} for the user's own data)."""
    # Imported when the command runs: the command line imports every command module at start-up.
    from fc_synthetic.mix import generator_fingerprint, write_mix

    stats_file = data_dir / "stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
    ours = stats.get("generator") == "fc_synthetic"
    if not (data_dir / "train.jsonl").is_file() or (ours and stats.get("fingerprint") != generator_fingerprint()):
        if ours:
            print(f"      {data_dir} was written by another version of the generator: writing it again")
        stats = write_mix(data_dir, n_train, n_eval, 0, max_tools=3)
    elif not ours:
        print(f"      {data_dir} holds data the generator did not write: used as it is")
        return {}
    print(f"      {stats['splits']['train']['records']} train / {stats['splits']['eval']['records']} eval records, "
          f"held-out functions: {', '.join(stats['heldout_functions'])}")
    return stats


def _step(n: int, text: str) -> float:
    print(f"\n[{n}/5] {text}", flush=True)
    return time.perf_counter()


def main(args: argparse.Namespace) -> int:
    # Imported when the command runs: the command line imports every command module at start-up.
    from ..errors import FcFinetuneError
    from ..model.loading import resolve_model_path
    from ..training.config import load_recipe

    if not args.recipe.is_file():
        raise FcFinetuneError(f"Recipe '{args.recipe}' not found: run the demo from the repository root, "
                              "or pass --recipe PATH.")
    recipe = load_recipe(args.recipe)
    output_dir = args.output_dir or Path(recipe["output_dir"])
    started = time.perf_counter()

    t = _step(1, f"model: {recipe['model_name_or_path']} (fetched and converted on first use)")
    print(f"      {resolve_model_path(recipe['model_name_or_path'])}  ({time.perf_counter() - t:.1f} s)")

    t = _step(2, f"data: the bundled synthetic mix in {args.data_dir}")
    prepare_mix(args.data_dir)
    if not args.dev_set.is_file():
        # Imported when the command runs: the command line imports every command module at start-up.
        from ..data.nestful import write_dev_set

        write_dev_set(args.dev_set)
    print(f"      calibration dev set (NESTFUL, real requests): {args.dev_set}  ({time.perf_counter() - t:.1f} s)")

    t = _step(3, f"train: {args.recipe} -> {output_dir}")
    if args.reuse and (output_dir / "fc_finetune_config.json").is_file():
        print("      reusing the trained model (--reuse)")
    else:
        # Imported when the command runs: the command line imports every command module at start-up.
        from ..training.run import main as train_main

        argv = ["--config", str(args.recipe), "--output_dir", str(output_dir),
                "--train_data", str(args.data_dir / "train.jsonl"), "--eval_data", str(args.data_dir / "eval.jsonl"),
                "--calibration_data", str(args.dev_set)]
        if args.max_steps is not None:
            steps = max(args.max_steps, 1)
            argv += ["--max_steps", str(steps), "--eval_steps", str(steps), "--save_steps", str(steps),
                     "--logging_steps", str(max(1, steps // 4))]
        train_main(argv)
    summary = json.loads((output_dir / "train_summary.json").read_text())
    for line in training_lines(summary, time.perf_counter() - t):
        print(f"      {line}")

    many = "example" if args.eval_examples == 1 else "examples"
    t = _step(4, f"held-out evaluation: {args.eval_examples} {many} of each kind, heads mode and text mode")
    # Imported when the command runs: the command line imports every command module at start-up.
    from .demo_eval import exchange, held_out_eval

    if "eval_select_accuracy" in summary:
        print(f"      selector head on the held-out set (teacher forced): accuracy {summary['eval_select_accuracy']}")
    cal = summary.get("selector_calibration")
    if cal:
        print(f"      selector calibration ({cal['decisions']} decisions of {', '.join(cal.get('data', []))}): "
              f"temperature {cal['temperature']:.2f}, "
              f"ECE {cal['ece_before']:.3f} -> {cal['ece_after']:.3f}, NO_CALL threshold {cal['no_call_threshold']:.2f}, "
              f"call/no-call balanced accuracy {cal['call_decision_accuracy']:.2f}")
        # Imported when the command runs: the command line imports every command module at start-up.
        from ..training.calibration import SelectorCalibration, more_calls_text

        print(f"      after calls: {more_calls_text(SelectorCalibration.from_dict(cal))}")
    for line in held_out_eval(output_dir, args.data_dir / "eval.jsonl", args.eval_dir, per_kind=args.eval_examples):
        print(f"      {line}")
    print(f"      ({time.perf_counter() - t:.0f} s)")

    t = _step(5, "a function-calling exchange in heads mode (tools run for real, results fed back)")
    for line in exchange(output_dir, args.data_dir / "eval.jsonl"):
        print(f"      {line}")
    print(f"      ({time.perf_counter() - t:.0f} s)")
    print(f"\ndone in {time.perf_counter() - started:.0f} s. Model, plot and summary: {output_dir}")
    return 0


def training_lines(summary: dict, seconds: float) -> list[str]:
    """What the demo says about the run from its ``train_summary.json``: steps, speed, memory and the
    final losses, after the time budget's plan where it trained fewer steps than the recipe."""
    lines = []
    budget = summary.get("time_budget") or {}
    if budget.get("planned_steps", 0) < budget.get("recipe_steps", 0):
        estimate = f" (all {budget['recipe_steps']}: about {budget['estimate_min']} min)" if "estimate_min" in budget else ""
        lines.append(f"time budget: {budget['planned_steps']} of the recipe's {budget['recipe_steps']} steps fit "
                     f"max_train_minutes {budget['max_train_minutes']:g} on this host{estimate}")
    lines.append(f"{summary['steps']} steps, {summary.get('tokens_per_s')} tokens/s, peak RSS "
                 f"{summary.get('peak_rss_mib')} MiB, final L_lm {summary.get('final_loss_lm')}, "
                 f"L_select {summary.get('final_loss_select')}, L_param {summary.get('final_loss_param')} "
                 f"({seconds:.0f} s)")
    return lines
