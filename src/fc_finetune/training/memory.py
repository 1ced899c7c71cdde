"""Will the run fit? A memory estimate made before training, checked against what is available.

The peak of a run is estimated as the sum of

* **weights**: every parameter and buffer at its own size (base in its dtype, LoRA and heads in float32);
* **optimizer**: per trainable parameter its gradient and AdamW's two moments (3 x 4 bytes);
* **activations**: ``batch x length x hidden x layers x ACTIVATION_FACTOR x 4 bytes``, where
  ``layers`` are those backpropagation goes through (``lora_layers``, else all) and ``length``
  the longest encoded example (at most ``max_length``). On CPU they count 4 bytes even for a
  bfloat16 base: the norms and softmax keep float32 copies and glibc's allocator fragments over
  the steps. With gradient checkpointing each layer keeps its input (1 unit) and one layer at a
  time its full set;
* **logits**: ``batch x length x vocab x LOGIT_FACTOR x 4 bytes`` (float32 logits, their
  log-softmax and gradient at the positions a loss reads);
* **runtime**: Python, torch, transformers, the tokenizer and the data (CPU only).

The two factors were fitted to two measured CPU runs (peak RSS of the whole `fc-finetune train`
command, float32, batch 4, max_length 1024): ``recipes/smollm2-135m/quickstart.yaml`` (SmolLM2-135M,
last 10 of 30 layers: 4.6 GB) and ``recipes/qwen2.5-coder-0.5b/cpu.yaml`` (Qwen2.5-Coder-0.5B,
last 8 of 24 layers, 151,936-token vocabulary: 8.8 GB); they predict 8.8 GB for the previous
quickstart (bfloat16, all 30 layers), measured 8.9 GB over 110 steps (5.2 GB over 12 steps).
GPU figures use the same factors with half-precision activations when training in bf16/fp16,
and are not calibrated on a measured GPU run.

The check refuses a run whose estimate exceeds the memory available to it (``MemAvailable``,
capped by the cgroup's limit, plus what the process already holds; on GPU
``torch.cuda.mem_get_info``), naming the estimate and the knobs to turn;
``--skip_memory_check true`` trains anyway.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import psutil
import torch

from ..errors import FcFinetuneError

logger = logging.getLogger(__name__)

GB = 2**30
ACTIVATION_FACTOR = 25.3  # float32 values kept per token, hidden unit and backpropagated layer
LOGIT_FACTOR = 1.46  # float32 values kept per token and vocabulary entry
OPTIMIZER_BYTES = 12  # per trainable parameter: gradient + AdamW's two moments, float32
RUNTIME_BYTES = int(0.75 * GB)  # Python, torch, transformers, tokenizer, records and encoded data
CUDA_CONTEXT_BYTES = int(0.5 * GB)


class MemoryCheckError(FcFinetuneError):
    """The run is estimated not to fit in the memory available to it."""


@dataclass
class MemoryEstimate:
    """Estimated peak memory of a training run, in bytes, by part."""

    weights: int
    optimizer: int
    activations: int
    logits: int
    runtime: int
    batch: int
    length: int
    layers: int
    device: str = "cpu"

    @property
    def total(self) -> int:
        return self.weights + self.optimizer + self.activations + self.logits + self.runtime

    def describe(self) -> str:
        parts = [f"weights {_gb(self.weights)}", f"gradients and optimizer states {_gb(self.optimizer)}",
                 f"activations {_gb(self.activations)} for batch {self.batch} x {self.length} tokens through "
                 f"{self.layers} layers", f"logits {_gb(self.logits)}"]
        if self.runtime:
            parts.append(f"runtime {_gb(self.runtime)}")
        return f"about {_gb(self.total)} GB ({', '.join(parts)})"

    def to_dict(self) -> dict:
        return {"estimate_gb": round(self.total / GB, 2), "weights_gb": round(self.weights / GB, 2),
                "optimizer_gb": round(self.optimizer / GB, 2), "activations_gb": round(self.activations / GB, 2),
                "logits_gb": round(self.logits / GB, 2), "batch": self.batch, "length": self.length,
                "layers": self.layers, "device": self.device}


def _gb(n: int | float) -> str:
    return f"{n / GB:.1f}"


def estimate_memory(*, weight_bytes: int, trainable: int, hidden: int, vocab: int, layers: int, batch: int,
                    length: int, activation_bytes: int = 4, gradient_checkpointing: bool = False,
                    device: str = "cpu") -> MemoryEstimate:
    """The estimate from the model's sizes and the run's shape (see the module docstring)."""
    per_layer = batch * length * hidden * activation_bytes
    units = (layers + ACTIVATION_FACTOR) if gradient_checkpointing else layers * ACTIVATION_FACTOR
    return MemoryEstimate(
        weights=int(weight_bytes), optimizer=int(trainable * OPTIMIZER_BYTES), activations=int(per_layer * units),
        logits=int(batch * length * vocab * 4 * LOGIT_FACTOR),
        runtime=RUNTIME_BYTES if device == "cpu" else CUDA_CONTEXT_BYTES, batch=batch, length=length, layers=layers,
        device=device)


def estimate_for_model(model, *, batch: int, length: int, gradient_checkpointing: bool = False,
                       device: str = "cpu", half_precision: bool = False) -> MemoryEstimate:
    """The estimate for a :class:`~fc_finetune.model.modeling.FunctionCallingModel` about to train."""
    weight_bytes = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    config = model.lm.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    total_layers = text.num_hidden_layers
    lora_layers = getattr(model.lora_args, "lora_layers", None) if model.lora_args else None
    layers = min(lora_layers, total_layers) if lora_layers else total_layers
    activation_bytes = 2 if (device != "cpu" and half_precision) else 4
    return estimate_memory(weight_bytes=weight_bytes, trainable=trainable, hidden=text.hidden_size,
                           vocab=text.vocab_size, layers=layers, batch=batch, length=length,
                           activation_bytes=activation_bytes, gradient_checkpointing=gradient_checkpointing,
                           device=device)


def _cgroup_available() -> int | None:
    """What the cgroup (v2) limit leaves, when one is set."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        current = Path("/sys/fs/cgroup/memory.current").read_text().strip()
    except OSError:
        return None
    if not limit.isdigit() or not current.isdigit():
        return None
    return max(int(limit) - int(current), 0)


def available_memory(device: torch.device | str = "cpu") -> tuple[int, str]:
    """Bytes this process can use in all (what it holds now included), and where the figure comes from."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free + torch.cuda.memory_allocated(device), f"free on {device} (torch.cuda.mem_get_info)"
    free = psutil.virtual_memory().available
    source = "MemAvailable"
    limited = _cgroup_available()
    if limited is not None and limited < free:
        free, source = limited, "the cgroup's memory.max"
    held = psutil.Process(os.getpid()).memory_info().rss
    return free + held, f"{source} + this process's {_gb(held)} GB"


def check_memory(model, *, batch: int, length: int, gradient_checkpointing: bool, device: torch.device,
                 half_precision: bool, processes: int = 1, skip: bool = False) -> MemoryEstimate:
    """Estimate the run's peak and refuse it (:class:`MemoryCheckError`) when it does not fit;
    ``processes``: how many such runs share this machine's memory (CPU, several processes)."""
    estimate = estimate_for_model(model, batch=batch, length=length, gradient_checkpointing=gradient_checkpointing,
                                  device=device.type, half_precision=half_precision)
    available, source = available_memory(device)
    share = processes if device.type == "cpu" else 1
    need = estimate.total * share
    who = f" for {share} processes" if share > 1 else ""
    logger.info("Memory estimate%s: %s; %s GB available (%s)", who, estimate.describe(), _gb(available), source)
    if need <= available:
        if need > 0.8 * available:
            logger.warning("The run is estimated to need %s GB of the %s GB available: close to the limit. %s",
                           _gb(need), _gb(available), _KNOBS)
        return estimate
    message = (f"Training would need {estimate.describe()}{who}, but {_gb(available)} GB are available ({source}). "
               f"{_KNOBS} Or pass --skip_memory_check true to train anyway.")
    if skip:
        logger.warning("%s (--skip_memory_check: training anyway)", message)
        return estimate
    raise MemoryCheckError(message)


_KNOBS = ("To fit: lower per_device_train_batch_size (raise gradient_accumulation_steps to keep the effective "
          "batch), lower max_length, adapt fewer layers (lora_layers), or turn on gradient_checkpointing.")
