"""``FunctionCallingTrainer``: ``transformers.Trainer`` with the joint loss and its metrics.

The loop is the Trainer's own. What changes:

* ``compute_loss`` delegates to the model, passing the counts that normalise each loss
  over the whole optimizer step (gradient accumulation and all processes), and keeps
  running sums of each loss term (``LOSS_TERMS``) and the selector's accuracy;
* ``log`` and ``evaluation_loop`` add those as separate series (TensorBoard via
  ``report_to``), so the eval loop reports the same figures as training;
* saving and resuming use the model's own format (adapter + heads, safetensors only);
  a checkpoint counts only once its completion marker is written, so a killed run never
  resumes from a half-written checkpoint. Before resuming, every file of the checkpoint is
  verified (safetensors headers and sizes, the CRCs of the Trainer's torch files, the JSON
  state): a damaged checkpoint named with ``--resume_from_checkpoint PATH`` is an error
  naming it and the newest usable one before it; ``--resume_from_checkpoint true`` skips
  damaged checkpoints with a warning and resumes from the newest usable one;
* the heads get their own learning rate.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Any

import torch
from peft import set_peft_model_state_dict
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from transformers import Trainer

from ..data.contract import step_counts
from ..errors import FcFinetuneError
from ..model.io import ADAPTER_WEIGHTS, HEADS_NAME, write_model_files
from ..model.modeling import LOSS_TERMS, padding_mask_is_redundant
from ..utils.cache import atomic_write_bytes

logger = logging.getLogger(__name__)

COMPLETE_MARKER = "fc_checkpoint_complete.json"
_SERIES = LOSS_TERMS


class FunctionCallingTrainer(Trainer):
    """Trainer for :class:`~fc_finetune.model.modeling.FunctionCallingModel`."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._sums = {"train": _Sums(), "eval": _Sums()}
        self._norm: dict[str, torch.Tensor] = {}
        self._micro_batches = 1  # in the current optimizer step

    # -- loss ---------------------------------------------------------------------------
    def get_batch_samples(self, epoch_iterator, num_batches, device):
        batches, num_items = super().get_batch_samples(epoch_iterator, num_batches, device)
        self._micro_batches = max(len(batches), 1)
        # Count decisions and argument tokens over the whole optimizer step, like the
        # Trainer counts label tokens, so every loss is a mean over the step.
        if batches and num_items is not None:
            counts = step_counts(batches, device)
            if self.args.average_tokens_across_devices and self.args.world_size > 1:
                counts = self.accelerator.reduce(counts, reduction="sum")
            self._norm = {"num_decisions": counts[0], "num_param_tokens": counts[1], "num_request_tokens": counts[2]}
        else:
            self._norm = {}
        return batches, num_items

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        extra = self._norm if (model.training and num_items_in_batch is not None) else {}
        if padding_mask_is_redundant(inputs.get("attention_mask"), inputs):
            # Checked here, outside the model, so that a compiled model (--torch_compile)
            # gets the causal-only attention too without a graph break on the check.
            inputs = {**inputs, "attention_mask": None}
        outputs = model(**inputs, num_items_in_batch=num_items_in_batch, **extra)
        loss = outputs.loss
        if extra and self.args.average_tokens_across_devices and self.args.world_size > 1:
            loss = loss * self.accelerator.num_processes  # DDP averages gradients over processes
        # Losses normalised over the step are parts of the step's mean: they add up (over its
        # micro-batches and, with global counts, its processes) to one step's worth.
        share = 1.0
        if extra:
            share /= self._micro_batches
            if self.args.average_tokens_across_devices and self.args.world_size > 1:
                share /= self.args.world_size
        self._sums["train" if model.training else "eval"].add(outputs, share=share)
        return (loss, outputs) if return_outputs else loss

    # -- metrics --------------------------------------------------------------------------
    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self.model.training:
            logs.update(self._sums["train"].pop(self.accelerator, prefix=""))
        super().log(logs, start_time)

    def evaluation_loop(self, *args: Any, **kwargs: Any):
        self._sums["eval"] = _Sums()
        output = super().evaluation_loop(*args, **kwargs)
        prefix = kwargs.get("metric_key_prefix", args[3] if len(args) > 3 else "eval")
        output.metrics.update(self._sums["eval"].pop(self.accelerator, prefix=f"{prefix}_"))
        return output

    # -- optimizer ------------------------------------------------------------------------
    def create_optimizer(self, model=None):
        if self.optimizer is None:
            heads_lr = self.args.head_learning_rate or 10 * self.args.learning_rate
            # Whole token rows (trainable_tokens; peft names the parameter "..delta", but it is the
            # row itself) are weights: decay would pull them to zero. Like the heads they are
            # learned nearly from scratch: their own rate (the heads' by default), no decay.
            rates = {"heads": heads_lr, "rows": self.args.token_learning_rate or heads_lr}
            decay = set(self.get_decay_parameter_names(self.model))
            groups: dict[tuple[str, bool], list] = {}
            for name, param in self.model.named_parameters():
                if param.requires_grad:
                    kind = ("rows" if "trainable_tokens_delta" in name
                            else "heads" if name.startswith("heads.") else "lora")
                    groups.setdefault((kind, name in decay and kind != "rows"), []).append(param)
            optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, self.model)
            param_groups = [{"params": params, "weight_decay": self.args.weight_decay if decayed else 0.0,
                             **({"lr": rates[kind]} if kind in rates else {})}
                            for (kind, decayed), params in groups.items()]
            self.optimizer = optimizer_cls(param_groups, **kwargs)
        return self.optimizer

    # -- saving and resuming --------------------------------------------------------------
    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        if not self.args.should_save:
            return
        output_dir = output_dir or self.args.output_dir
        os.makedirs(output_dir, exist_ok=True)
        model = self.accelerator.unwrap_model(self.model)
        # ``state_dict`` is the gathered full state under FSDP / ZeRO-3 (None otherwise).
        write_model_files(model, Path(output_dir), tokenizer=self.processing_class, state_dict=state_dict)
        # The arguments as JSON (the Trainer's default pickles them).
        atomic_write_bytes(Path(output_dir, "training_args.json"), self.args.to_json_string().encode())

    def _save_checkpoint(self, model, trial) -> None:
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = Path(self._get_output_dir(trial=trial)) / f"checkpoint-{self.state.global_step}"
            atomic_write_bytes(folder / COMPLETE_MARKER, json.dumps({"global_step": self.state.global_step}).encode())

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        folder = Path(resume_from_checkpoint)
        check_checkpoint(folder)
        model = self.accelerator.unwrap_model(model or self.model)
        try:
            adapter = load_file(str(folder / ADAPTER_WEIGHTS))
            heads = load_file(str(folder / HEADS_NAME))
        except (SafetensorError, OSError) as exc:
            raise FcFinetuneError(f"Checkpoint '{folder}' is corrupt ({exc}). Resume from an earlier checkpoint "
                                  "or start again.") from exc
        result = set_peft_model_state_dict(model.lm, adapter)
        if getattr(result, "unexpected_keys", None):
            raise FcFinetuneError(f"Checkpoint '{folder}' does not fit this model (unexpected keys "
                                  f"{result.unexpected_keys[:3]}...). Was it written by another recipe?")
        model.heads.load_state_dict(heads)
        logger.info("Resumed weights from %s", folder)

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        try:
            super()._load_optimizer_and_scheduler(checkpoint)
        except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:  # damaged after the check
            raise FcFinetuneError(f"Checkpoint '{checkpoint}': the optimizer or scheduler state cannot be loaded "
                                  f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
                                  "Resume from an earlier checkpoint or start again.") from exc


def check_checkpoint(folder: Path) -> None:
    """A clear error for a partial, damaged or foreign checkpoint, never a silent restart."""
    if not folder.is_dir():
        raise FcFinetuneError(f"Checkpoint '{folder}' does not exist.")
    if not (folder / COMPLETE_MARKER).is_file():
        raise FcFinetuneError(f"Checkpoint '{folder}' is incomplete (no {COMPLETE_MARKER}: the run was probably "
                              "killed while writing it). Delete it and resume from the one before, or pass "
                              "--resume_from_checkpoint true to pick the last complete one.")
    missing = [n for n in (ADAPTER_WEIGHTS, HEADS_NAME, "trainer_state.json") if not (folder / n).is_file()]
    if missing:
        raise FcFinetuneError(f"Checkpoint '{folder}' lacks {', '.join(missing)}; it is not usable.")
    damage = checkpoint_damage(folder)
    if damage:
        step = _step_of(folder)
        earlier = None if step is None else last_complete_checkpoint(folder.parent, before=step, quiet=True)
        where = f"Resume from '{earlier}' (the newest usable one before it)" if earlier else \
            "Resume from an earlier checkpoint, or start again without --resume_from_checkpoint"
        raise FcFinetuneError(f"Checkpoint '{folder}' is corrupt: {damage}. {where}, or pass "
                              "--resume_from_checkpoint true to pick the newest usable one.")


def checkpoint_damage(folder: Path) -> str | None:
    """What is wrong with the files of a checkpoint marked complete (None: nothing found): each
    safetensors file must cover its header, each torch file (optimizer, scheduler, RNG, scaler)
    be a whole zip archive whose CRCs match, and trainer_state.json parse."""
    for path in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(path), "pt"):
                pass
        except (SafetensorError, OSError) as exc:
            return f"{path.name} is truncated or damaged ({exc})"
    for path in sorted([*folder.glob("*.pt"), *folder.glob("*.pth")]):
        try:
            if not zipfile.is_zipfile(path):
                return f"{path.name} is truncated or damaged (not a complete torch file)"
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            return f"{path.name} is truncated or damaged ({exc})"
        if bad is not None:
            return f"{path.name} is damaged (its part '{bad}' fails its checksum)"
    try:
        json.loads((folder / "trainer_state.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"trainer_state.json is damaged ({exc})"
    return None


def _step_of(path: Path) -> int | None:
    step = path.name.rsplit("-", 1)[-1]
    return int(step) if path.name.startswith("checkpoint-") and step.isdigit() else None


def last_complete_checkpoint(output_dir: str | os.PathLike, *, before: int | None = None,
                             quiet: bool = False) -> Path | None:
    """The newest ``checkpoint-N`` in ``output_dir`` that was written completely and whose files
    are intact (``before``: with N below it). Others are skipped with a warning."""
    found = []
    for path in Path(output_dir).glob("checkpoint-*"):
        step = _step_of(path)
        if step is not None and path.is_dir() and (before is None or step < before):
            found.append((step, path))
    for _step, path in sorted(found, reverse=True):
        if not (path / COMPLETE_MARKER).is_file():
            reason = "it was not written completely"
        else:
            missing = [n for n in (ADAPTER_WEIGHTS, HEADS_NAME, "trainer_state.json") if not (path / n).is_file()]
            reason = f"it lacks {', '.join(missing)}" if missing else checkpoint_damage(path)
        if reason is None:
            return path
        if not quiet:
            logger.warning("Skipping %s: %s; falling back to the checkpoint before it", path, reason)
    return None


class _Sums:
    """Running sums of the per-batch losses and selector hits since the last log."""

    def __init__(self):
        self.values = torch.zeros(len(_SERIES) + 3, dtype=torch.float64)  # the losses, batches, correct, total
        self.present: set[str] = set()

    def add(self, out, share: float = 1.0) -> None:
        """``share``: how many batches ``out`` counts as: 1 for a batch whose losses are its own
        means; 1/(micro-batches x processes) for losses normalised over a whole optimizer step."""
        row = [getattr(out, name) for name in _SERIES]
        vals = [float(x.detach()) if x is not None else float("nan") for x in row]
        correct = float(out.select_correct) if out.select_correct is not None else 0.0
        total = float(out.select_total) if out.select_total is not None else 0.0
        self.values += torch.tensor([*(0.0 if v != v else v for v in vals), share, correct, total], dtype=torch.float64)
        self.present |= {n for n, v in zip(_SERIES, vals, strict=True) if v == v}

    def pop(self, accelerator, prefix: str) -> dict[str, float]:
        values = self.values.to(accelerator.device)
        if accelerator.num_processes > 1:
            values = accelerator.reduce(values, reduction="sum")
        values = values.cpu()
        k = len(_SERIES)
        n = values[k].item() or 1.0  # batches (fractional shares of steps add up to whole ones)
        metrics = {f"{prefix}{name}": round(values[i].item() / n, 4)
                   for i, name in enumerate(_SERIES) if name in self.present}
        if values[k + 2] > 0:
            metrics[f"{prefix}select_accuracy"] = round(values[k + 1].item() / values[k + 2].item(), 4)
        self.values.zero_()
        return metrics
