"""Train a function-calling model: LoRA + selector and argument heads, one joint loss.

    fc-finetune train --config recipes/smollm2-135m/quickstart.yaml
    fc-finetune train --config recipes/smollm2-135m/quickstart.yaml --max_steps 20 --output_dir /tmp/run
    accelerate launch --config_file recipes/accelerate/cpu_2proc.yaml -m fc_finetune.training.run --config RECIPE

Options come from the dataclasses in :mod:`fc_finetune.training.config` (``--help`` lists them all);
precedence is defaults < YAML recipe < flags. Output: the model (adapter, heads, tokenizer),
the effective recipe, ``train_summary.json`` and ``loss_curves.png`` in ``output_dir``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
from dataclasses import asdict
from pathlib import Path

import torch
import yaml
from transformers import BitsAndBytesConfig, set_seed

from ..data.collate import FunctionCallingCollator, encode_dataset
from ..data.io import load_records, to_dataset
from ..data.templates import prepare_tokenizer
from ..errors import FcFinetuneError
from ..model.loading import load_tokenizer
from ..model.modeling import FunctionCallingModel
from ..utils.hardware import torch_dtype
from .calibration import apply_calibration, calibrate_model, more_calls_text, temperature_text
from .config import make_parser, parse_args
from .memory import check_memory
from .reporting import TrainingSummary, finish_run
from .time_budget import TimeBudget
from .trainer import FunctionCallingTrainer, check_checkpoint, last_complete_checkpoint

logger = logging.getLogger("fc_finetune.training.run")
MIN_SHAPE_RECORDS = 20  # a call shape with fewer training records is not judged by the share of them dropped

__all__ = ["main", "make_parser"]


def main(argv: list[str] | None = None) -> int:
    """One training run, top to bottom: options, data, model, train, calibrate, save, report."""
    model_args, data_args, lora_args, head_args, training_args = parse_args(make_parser(), argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    if not training_args.should_log:  # one process speaks
        logging.getLogger().setLevel(logging.WARNING)
    set_seed(training_args.seed)
    _check_launch(training_args)
    resume = _resume_point(training_args)
    summary = TrainingSummary()

    # data: read and validated before any model is loaded, so a bad file fails at once
    with training_args.main_process_first(desc="reading data"):
        train_records = _load_split(data_args.train_data, data_args, limit=data_args.max_train_samples, what="Train")
        eval_records = None
        if data_args.eval_data:
            eval_records = _load_split(data_args.eval_data, data_args, limit=data_args.max_eval_samples, what="Eval")
        calibration_records = _load_held_out(data_args.calibration_data, data_args, training_args.seed, "Calibration")
        more_calls_records = _load_held_out(data_args.more_calls_data, data_args, training_args.seed, "More-calls")

    # rendered with the model's chat template (or the built-in tool template), encoded once
    tokenizer = load_tokenizer(model_args.model_name_or_path, trust_remote_code=model_args.trust_remote_code)
    call_format = prepare_tokenizer(tokenizer, force_builtin=model_args.force_builtin_template)
    token_ids = lora_args.token_ids(tokenizer)  # trainable_tokens, checked before any encoding
    with training_args.main_process_first(desc="preprocessing"):
        train_set = _encode(train_records, tokenizer, data_args, "Train", data_args.train_data, summary, refuse=True)
        eval_set = None
        if eval_records:
            eval_set = _encode(eval_records, tokenizer, data_args, "Eval", data_args.eval_data, summary)
        calibration_set = eval_set
        if calibration_records:
            calibration_set = _encode(calibration_records, tokenizer, data_args, "Calibration",
                                      data_args.calibration_data, summary)
        more_calls_set = None
        if more_calls_records:
            more_calls_set = _encode(more_calls_records, tokenizer, data_args, "More-calls", data_args.more_calls_data,
                                     summary)
    summary.extra["dropped"] = "; ".join(f"{what}: {_dropped_text(info)}"
                                         for what, info in summary.extra["preprocessing"].items())

    # model: the base with fresh LoRA and heads
    model = FunctionCallingModel.from_base(
        model_args.model_name_or_path, lora=lora_args, heads=head_args, dtype=torch_dtype(model_args.dtype),
        trust_remote_code=model_args.trust_remote_code, gradient_checkpointing=training_args.gradient_checkpointing,
        load_kwargs=_load_kwargs(model_args, training_args), token_ids=token_ids, call_format=call_format.name)
    trainable, total = model.trainable_parameters()
    logger.info("Trainable parameters: %s of %s (%.2f%%)", f"{trainable:,}", f"{total:,}", 100 * trainable / total)
    _check_memory(model, training_args, train_set, summary)

    # train
    training_args.remove_unused_columns = False  # the collator needs every column
    training_args.include_num_input_tokens_seen = "non_padding"  # tokens/s in the summary
    training_args.prediction_loss_only = True  # eval metrics come from the loss terms, not gathered logits
    training_args.gradient_checkpointing = False  # already enabled on the LM itself
    if hasattr(training_args, "activation_checkpointing"):  # the newer name of the same switch
        training_args.activation_checkpointing = False
    trainer = FunctionCallingTrainer(
        model=model, args=training_args, train_dataset=train_set, eval_dataset=eval_set,
        data_collator=FunctionCallingCollator(tokenizer.pad_token_id), processing_class=tokenizer,
        callbacks=[summary])
    _time_budget(trainer, training_args, train_set)
    result = trainer.train(resume_from_checkpoint=resume)
    if (budget := TimeBudget.of(trainer)) is not None:
        summary.extra["time_budget"] = budget.record
        budget.correct(result.metrics)

    # calibrate the selector on held-out decisions (calibration_data, else eval_data), then save and report
    if calibration_set is not None and model.heads.selector is not None:
        _calibrate(trainer, model, summary, calibration_set, more_calls_set,
                   source=data_args.calibration_data or data_args.eval_data, more_calls_source=data_args.more_calls_data)
    recipe = {**_plain(model_args), **_plain(data_args), **_plain(lora_args), **_plain(head_args),
              **{k: v for k, v in training_args.to_dict().items() if not k.startswith("_")}}
    finish_run(trainer, result, summary, recipe_yaml=yaml.safe_dump(recipe, sort_keys=False),
               plot=training_args.plot_losses)  # every process: saving may gather sharded weights
    return 0


def _time_budget(trainer, training_args, train_set) -> TimeBudget | None:
    """``max_train_minutes``: the callback that keeps training within it, told the mean tokens of a step."""
    if not training_args.max_train_minutes:
        return None
    lengths = train_set["length"]  # the encoder's column (the memory check reads it too), not every input_ids list
    per_step = (sum(lengths) / max(len(lengths), 1) * training_args.per_device_train_batch_size
                * training_args.gradient_accumulation_steps * training_args.world_size)
    return TimeBudget(training_args.max_train_minutes, tokens_per_step=per_step).attach(trainer)


def _load_held_out(sources: list[str], data_args, seed: int, what: str):
    """A held-out split read whole, then a seeded sample of ``max_calibration_samples``; ``None``
    without sources."""
    if not sources:
        return None
    records = _load_split(sources, data_args, limit=None, what=what)
    if data_args.max_calibration_samples and len(records) > data_args.max_calibration_samples:
        records = random.Random(seed).sample(records, data_args.max_calibration_samples)
    return records


def _load_split(sources: list[str], data_args, *, limit: int | None, what: str):
    records, rows = [], 0
    for source in sources:
        result = load_records(source, fmt=None if data_args.data_format == "auto" else data_args.data_format,
                              on_error=data_args.on_error)
        logger.info("%s data: %s", what, result.report(show_errors=3))
        records += result.records
        rows += result.rows_read
    if not records:  # (the reader refuses a source without records; this guards the split as a whole)
        names = ", ".join(f"'{s}'" for s in sources)
        raise FcFinetuneError(f"{what} data {names} holds no record ({rows} rows read). Give a file with at least "
                              "one conversation (`fc-finetune data generate` writes a training mix).")
    return records[:limit] if limit else records


def _encode(records, tokenizer, data_args, what: str, sources: list[str], summary: TrainingSummary, *,
            refuse: bool = False):
    """Encode a split; warn above ``warn_drop_fraction`` dropped, refuse (the training split) above
    ``max_drop_fraction``; what was dropped and why goes into the summary."""
    dataset, stats = encode_dataset(to_dataset(records), tokenizer, max_length=data_args.max_length,
                                    truncation=data_args.truncation, num_proc=data_args.preprocessing_num_workers)
    logger.info("%s examples: %s", what, stats.report())
    dropped = stats.dropped_too_long + sum(stats.failed.values())
    share = dropped / len(records)
    info = {"records": len(records), "kept": len(dataset), "shortened": stats.shortened, "dropped": dropped,
            "dropped_share": round(share, 4), "dropped_too_long": stats.dropped_too_long,
            "failed": dict(stats.failed), "max_length": data_args.max_length, "truncation": data_args.truncation}
    summary.extra.setdefault("preprocessing", {})[what.lower()] = info
    text = f"{what} data {', '.join(repr(str(s)) for s in sources)}: {_dropped_text(info)}"
    fix = (f"Raise max_length (now {data_args.max_length}), generate shorter records (`fc-finetune data generate "
           "--max-tools 3`), or check the data")
    if refuse and share > data_args.max_drop_fraction:
        raise FcFinetuneError(f"{text}, above max_drop_fraction {data_args.max_drop_fraction:g}. {fix}; or raise "
                              "max_drop_fraction to train on what is left.")
    if len(dataset) == 0:
        raise FcFinetuneError(f"No {what.lower()} example is left after preprocessing ({text}). {fix}.")
    # Training data lost is learning lost: warned from warn_drop_fraction. A held-out split (eval,
    # calibration) only loses measurements, and the summary counts them: warned from max_drop_fraction.
    limit_name = "warn_drop_fraction" if refuse else "max_drop_fraction"
    if share > getattr(data_args, limit_name):
        logger.warning("%s, above %s %g. %s.", text, limit_name, getattr(data_args, limit_name), fix)
    elif refuse:  # a small share overall can still be most of one kind of call: what the model learns it from
        for shape, n in stats.records_by_shape.items():
            lost = stats.too_long_by_shape[shape]
            if n >= MIN_SHAPE_RECORDS and lost / n > data_args.warn_drop_fraction:
                logger.warning("%s; of the records with %s, %d of %d (%.0f%%) are longer than max_length %d and "
                               "dropped, so the model learns %s from few examples. %s.", text, shape, lost, n,
                               100 * lost / n, data_args.max_length, shape, fix)
    if stats.records_by_shape:
        info["too_long_by_shape"] = {shape: [stats.too_long_by_shape[shape], n]
                                     for shape, n in sorted(stats.records_by_shape.items())}
    return dataset


def _dropped_text(info: dict) -> str:
    """'2735 of 3000 records (91%) dropped: 2735 longer than max_length 500 tokens' (or 'none dropped')."""
    if not info["dropped"]:
        return f"none of {info['records']} records dropped"
    reasons = []
    if info["dropped_too_long"]:
        shortened = {"oldest_turns": " even without their oldest turns",
                     "unused_tools": " even without their unused tools and oldest turns"}.get(info["truncation"], "")
        reasons.append(f"{info['dropped_too_long']} longer than max_length {info['max_length']} tokens{shortened}")
    reasons += [f"{n} not encodable: {reason}" for reason, n in info["failed"].items()]
    return (f"{info['dropped']} of {info['records']} records ({info['dropped_share']:.0%}) dropped: "
            f"{', '.join(reasons)}")


def _check_memory(model, training_args, train_set, summary: TrainingSummary) -> None:
    """Refuse a run estimated not to fit in memory (see :mod:`.memory`), before it starts."""
    if training_args.fsdp or training_args.deepspeed:
        logger.info("Memory check skipped: FSDP / DeepSpeed shard the model across processes")
        return
    length = max(train_set["length"])
    device = training_args.device
    processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    estimate = check_memory(model, batch=training_args.per_device_train_batch_size, length=length,
                            gradient_checkpointing=training_args.gradient_checkpointing, device=device,
                            half_precision=training_args.bf16 or training_args.fp16, processes=processes,
                            skip=training_args.skip_memory_check)
    summary.extra["memory_estimate"] = estimate.to_dict()


def _check_launch(training_args) -> None:
    """Several processes were launched but the Trainer sees one: each would train alone."""
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and training_args.world_size == 1:
        raise FcFinetuneError(f"{launched} processes were launched but the Trainer runs each alone (world size 1). "
                              "On CPU pass --use_cpu true (with recipes/accelerate/cpu_2proc.yaml); see docs/distributed.md.")


def _resume_point(training_args):
    value = training_args.resume_from_checkpoint
    if value in (None, "", False, "false", "False"):
        return None
    if str(value).lower() == "true":
        found = last_complete_checkpoint(training_args.output_dir)
        if found is None:
            raise FcFinetuneError(f"--resume_from_checkpoint true, but '{training_args.output_dir}' holds no complete "
                                  "checkpoint. Drop the flag to start a new run.")
        logger.info("Resuming from %s (the last complete checkpoint)", found)
        return str(found)
    check_checkpoint(Path(value))
    return str(value)


def _load_kwargs(model_args, training_args) -> dict:
    load_kwargs = {}
    if model_args.attn_implementation:
        load_kwargs["attn_implementation"] = model_args.attn_implementation
    if model_args.load_in_4bit:
        load_kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)
        load_kwargs["device_map"] = {"": training_args.local_process_index}
    return load_kwargs


def _calibrate(trainer, model, summary, dataset, more_calls_dataset, *, source: list[str],
               more_calls_source: list[str]) -> None:
    """Temperature and thresholds from the held-out decisions (the more-calls threshold from
    ``more_calls_dataset``'s when given), saved with the model."""
    more_calls = None if not more_calls_dataset else trainer.get_eval_dataloader(more_calls_dataset)
    fitted = calibrate_model(model, trainer.get_eval_dataloader(dataset), more_calls).fitted
    if fitted is None:
        return
    apply_calibration(model, fitted)
    summary.extra["selector_calibration"] = {**fitted.to_dict(), "data": list(source),
                                             "more_calls_data": list(more_calls_source or source)}
    logger.info("Selector calibrated on %d held-out decisions: %s, NO_CALL threshold %.3f, "
                "call/no-call balanced accuracy %.3f; %s", fitted.decisions, temperature_text(fitted),
                fitted.no_call_threshold, fitted.call_decision_accuracy, more_calls_text(fitted))


def _plain(obj) -> dict:
    return json.loads(json.dumps(asdict(obj), default=str))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
