"""``FunctionCallingModel``: a causal LM with LoRA plus the selector and argument heads.

    >>> model = FunctionCallingModel.from_base("smollm2-135m", lora=LoraArguments(), heads=HeadArguments())
    >>> out = model(**batch)            # a batch from FunctionCallingCollator
    >>> out.loss, out.loss_lm, out.loss_select, out.loss_param, out.loss_pending, out.loss_lm_decision

``L = w_select * (L_select + L_pending) + w_param * L_param + w_lm * L_lm + w_lm_decision * L_lm_decision``
(``L_pending``: the selector's value tag, with ``match_pending``; ``L_lm_decision``: the LM's loss
at the selector's decision points, per decision). With both heads off the
loss is exactly the LM's own loss: plain LoRA SFT, the baseline of every comparison.
Saving and loading live in :mod:`fc_finetune.model.io`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import get_peft_model, prepare_model_for_kbit_training
from torch import nn
from torch.nn import functional as F
from transformers.utils import ModelOutput

from ..data.contract import IGNORE
from ..data.templates import prepare_tokenizer
from . import io, lora_forward
from .compat import (
    CACHE_KEY,
    cache_of,
    enable_activation_checkpointing,
    has_cache,
    quiet_library_deprecations,
    with_cache,
)
from .config import HeadArguments, LoraArguments, merge_frozen_token_rows, spelled_input_rows
from .heads import FunctionCallingHeads, check_call_decision, decision_targets, match_layer, served_calls
from .io import base_fingerprint
from .loading import load_causal_lm, load_tokenizer

logger = logging.getLogger(__name__)


LOSS_TERMS = ("loss_lm", "loss_select", "loss_param", "loss_pending", "loss_lm_decision")  # logged and plotted, in this order


@dataclass
class FunctionCallingOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    loss_lm: torch.Tensor | None = None
    loss_select: torch.Tensor | None = None
    loss_param: torch.Tensor | None = None
    loss_pending: torch.Tensor | None = None
    loss_lm_decision: torch.Tensor | None = None
    select_logits: torch.Tensor | None = None
    select_correct: torch.Tensor | None = None  # number of decisions the selector got right
    select_total: torch.Tensor | None = None
    # The LM's KV cache, under the field name this transformers release uses (hf_compat).
    if CACHE_KEY == "cache":
        cache: Any = None
    else:
        past_key_values: Any = None


def _mean_or_normalised(total: torch.Tensor, local_count, global_count) -> torch.Tensor:
    """``total / global_count`` when the step-wide count is known, else the local mean."""
    if global_count is not None:
        return total / torch.as_tensor(global_count, device=total.device, dtype=total.dtype).clamp_min(1)
    return total / local_count


_NO_POSITIONS = torch.empty(0, dtype=torch.long)


def padding_mask_is_redundant(attention_mask: torch.Tensor | None, kwargs: dict) -> bool:
    """Whether causal masking alone gives the padding mask's result at every real token.

    True for right padding without a cache: a real token at ``t`` only sees positions
    ``<= t``, which are all real, and its position id is ``t`` either way. Dropping the mask
    then lets SDPA take its causal kernel, which skips the masked half of the score blocks
    instead of computing them and applying a materialised ``[B, 1, T, T]`` mask (a SmolLM2
    training step on CPU gets 1.18-1.33x faster, more for longer batches). Outputs at the padded positions change, and no loss
    reads them (their labels, decisions and argument targets are all ignored)."""
    if attention_mask is None or attention_mask.dim() != 2 or attention_mask.shape[1] < 2:
        return False
    if torch.compiler.is_compiling():  # data-dependent: would break the graph (the trainer checks first)
        return False
    if has_cache(kwargs) or kwargs.get("position_ids") is not None:
        return False
    mask = attention_mask.bool()
    return bool((mask[:, 1:] <= mask[:, :-1]).all())


class FunctionCallingModel(nn.Module):
    """A (peft-wrapped) causal LM and :class:`FunctionCallingHeads`, trained jointly."""

    def __init__(self, lm: nn.Module, heads: HeadArguments, *, base_model: str, lora: LoraArguments | None = None,
                 call_format: str = "hermes", no_call_threshold: float | None = None,
                 more_calls_threshold: float | None = None,
                 selector_temperature: float = 1.0, call_decision: str = "pairwise"):
        super().__init__()
        self.lm = lm
        self.head_args = heads
        self.lora_args = lora
        self.base_model = base_model
        self.call_format = call_format
        self.no_call_threshold = no_call_threshold  # calibrated on held-out decisions (calibration.py)
        self.more_calls_threshold = more_calls_threshold  # the same, after calls (None: no_call_threshold)
        self.selector_temperature = selector_temperature
        self.call_decision = check_call_decision(call_decision)  # what the thresholds read (heads.no_call_probability)
        self.fingerprint = base_fingerprint(self.config)
        self._fast_lm_loss: bool | None = None
        self._lora_input_cast: bool | None = None
        hidden = self.fingerprint["hidden_size"]
        self.heads = FunctionCallingHeads(hidden, selector=heads.selector_head, argument_head=heads.argument_head,
                                          request_match=heads.request_match,
                                          match_coverage=heads.match_coverage, match_pending=heads.match_pending)
        self.match_layer = match_layer(self.fingerprint["num_hidden_layers"], heads.match_depth)
        lora_forward.install(self.lm)  # same math as peft's, cheaper scaling (see lora_forward)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_base(cls, base: str | nn.Module, *, lora: LoraArguments | None = None,
                  heads: HeadArguments | None = None, dtype: Any = "auto", trust_remote_code: bool = False,
                  gradient_checkpointing: bool = False, load_kwargs: dict | None = None,
                  token_ids: dict[int, list[int]] | None = None, **kwargs: Any) -> FunctionCallingModel:
        """Wrap a base model (name, folder, alias, or an already-loaded model) with fresh LoRA + heads.

        ``load_kwargs`` go to ``from_pretrained`` (attn_implementation, quantization_config,
        device_map); ``token_ids``: the ids of ``lora.trainable_tokens``, each with its spelling
        (``lora.token_ids(tokenizer)``);
        ``kwargs`` to the model (call_format, no_call_threshold)."""
        heads = heads or HeadArguments()
        lora = lora or LoraArguments()
        if isinstance(base, nn.Module):
            lm, name = base, getattr(base.config, "_name_or_path", "") or "unknown"
        else:
            lm = load_causal_lm(base, dtype=dtype, trust_remote_code=trust_remote_code, **(load_kwargs or {}))
            name = str(base)
        if getattr(lm, "is_loaded_in_4bit", False) or getattr(lm, "is_loaded_in_8bit", False):
            with quiet_library_deprecations():  # peft calls the deprecated gradient_checkpointing_enable
                lm = prepare_model_for_kbit_training(lm, use_gradient_checkpointing=gradient_checkpointing)
        if gradient_checkpointing:
            enable_activation_checkpointing(lm, {"use_reentrant": False})
            lm.enable_input_require_grads()
            lm.config.use_cache = False
        with quiet_library_deprecations():  # peft reads the deprecated is_gradient_checkpointing
            lm = get_peft_model(lm, lora.to_peft(lm, token_ids))
        if token_ids:
            spelled = spelled_input_rows(lm, token_ids, trainable=lora.lora_layers is None)
            if spelled:
                logger.info("trainable_tokens: the input rows of %s were copies of other rows (never trained); "
                            "they start from their spelling's rows", ", ".join(map(str, spelled)))
        model = cls(lm, heads, base_model=name, lora=lora, **kwargs)
        model.heads.to(device=next(lm.parameters()).device)
        return model

    @property
    def config(self):
        return self.lm.config

    @property
    def _no_split_modules(self):
        """The base model's layer classes, so FSDP auto-wrapping finds them through the wrapper."""
        return getattr(self.lm.get_base_model(), "_no_split_modules", None)

    @property
    def device(self) -> torch.device:
        return next(self.lm.parameters()).device

    def output_layer(self) -> nn.Module:
        return self.lm.get_output_embeddings()

    # -- forward ----------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, param_tool: torch.Tensor | None = None,
                decision_pos: torch.Tensor | None = None, decision_target: torch.Tensor | None = None,
                decision_request: torch.Tensor | None = None, tool_spans: torch.Tensor | None = None,
                tool_mask: torch.Tensor | None = None, call_spans: torch.Tensor | None = None,
                request_cover: torch.Tensor | None = None, num_items_in_batch: torch.Tensor | int | None = None, num_decisions: torch.Tensor | None = None,
                num_param_tokens: torch.Tensor | None = None, num_request_tokens: torch.Tensor | None = None,
                **kwargs: Any) -> FunctionCallingOutput:
        """Joint loss. ``num_items_in_batch`` / ``num_decisions`` / ``num_param_tokens`` /
        ``num_request_tokens`` are the
        counts over a whole optimizer step (gradient accumulation, all processes): when given,
        each loss is a sum divided by its count, as transformers does for the LM loss."""
        h_args, heads = self.head_args, self.heads
        use_select = heads.selector is not None and decision_pos is not None and tool_spans is not None
        use_param = heads.argument is not None and param_tool is not None and tool_spans is not None
        # With both heads off the objective stays exactly plain LoRA SFT (the baseline).
        use_decision = (bool(h_args.w_lm_decision) and labels is not None and decision_pos is not None
                        and (heads.selector is not None or heads.argument is not None))
        kwargs.pop("output_hidden_states", None)
        self._set_lora_input_cast(not torch.is_autocast_enabled(input_ids.device.type))
        if labels is not None or use_select or use_param:
            kwargs.setdefault("use_cache", False)  # a loss forward has no use for a KV cache
            if padding_mask_is_redundant(attention_mask, kwargs):
                attention_mask = None
        fast = labels is not None and self._lm_head_reproduces_logits()
        if fast:
            # Logits only where a loss needs them (computed in _lm_loss): the full [B, T, V]
            # tensor (49k vocab) is most of the memory and time of a small model's step, and
            # even the last position's logits cost a weight-sized copy (a sliced hidden state
            # makes matmul broadcast the output layer over the batch), so none are kept here.
            out = self.lm(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True,
                          logits_to_keep=_NO_POSITIONS.to(input_ids.device), **kwargs)
            out.logits = None
            loss_lm = self._lm_loss(out.hidden_states[-1], labels, num_items_in_batch)
        else:
            if num_items_in_batch is not None and labels is not None:
                kwargs["num_items_in_batch"] = num_items_in_batch
            out = self.lm(input_ids=input_ids, attention_mask=attention_mask, labels=labels,
                          output_hidden_states=use_select or use_param or use_decision, **kwargs)
            loss_lm = out.loss
        result = FunctionCallingOutput(logits=out.logits, loss_lm=loss_lm, **with_cache(cache_of(out)))
        terms = []
        if loss_lm is not None and (h_args.w_lm or not (use_select or use_param)):
            terms.append(h_args.w_lm * loss_lm)
        if use_decision:
            result.loss_lm_decision = self._lm_decision_loss(
                out.hidden_states[-1], out.logits, labels, decision_pos, num_decisions)
            terms.append(h_args.w_lm_decision * result.loss_lm_decision)
        if use_select or use_param:
            hidden = out.hidden_states[-1]
            tool_emb = heads.tool_embeddings(hidden, tool_spans, tool_mask)
            if use_select:
                *match, pending_sum = self.request_match(
                    out.hidden_states, tool_spans, tool_mask, decision_request, decision_pos, call_spans, request_cover)
                self._select(result, hidden, tool_emb, decision_pos, decision_target, tool_mask, num_decisions, match)
                if result.loss_select is not None:
                    terms.append(h_args.w_select * result.loss_select)
                if pending_sum is not None:
                    result.loss_pending = _mean_or_normalised(
                        pending_sum, (request_cover != IGNORE).sum().clamp_min(1), num_request_tokens)
                    terms.append(h_args.w_select * result.loss_pending)
            if use_param:
                result.loss_param = self._param_loss(hidden, tool_emb, input_ids, param_tool, num_param_tokens)
                if result.loss_param is not None:
                    terms.append(h_args.w_param * result.loss_param)
        if terms:
            result.loss = terms[0] if len(terms) == 1 else torch.stack([t.float() for t in terms]).sum()
        return result

    def _set_lora_input_cast(self, enabled: bool) -> None:
        """peft casts each LoRA layer's input to the adapter weights' dtype (fp32): a copy of
        the full activation per layer and its backward. Under autocast the LoRA matmuls run
        in the autocast dtype whatever the input's dtype, so the cast only costs time (about
        5% of a bf16 CPU step on SmolLM2); it is switched off while autocast is on and back
        on without it (where a bf16 input must meet fp32 adapter weights)."""
        if self._lora_input_cast == enabled:
            return
        for module in self.lm.modules():
            if hasattr(module, "cast_input_dtype_enabled"):
                module.cast_input_dtype_enabled = enabled
        self._lora_input_cast = enabled

    def _lm_loss(self, hidden, labels, count) -> torch.Tensor:
        """Next-token cross-entropy on the labelled positions only (same value as the LM's
        own loss: identical logits there, summed in a different order)."""
        shifted = labels[:, 1:]
        rows, cols = (shifted != IGNORE).nonzero(as_tuple=True)
        return self._next_token_loss(hidden, None, rows, cols, shifted[rows, cols], count)

    def _lm_decision_loss(self, hidden, logits, labels, decision_pos, count) -> torch.Tensor:
        """The LM's next-token cross-entropy at each decision point whose next token is
        trained (the state at a decision predicts the call's first token, another call, or
        the answer / end of the turn): the selector's decisions made by the LM itself, a mean
        over decisions. ``logits``: the model's own where it computed them (models whose
        logits are not the output layer's, e.g. soft-capped), else from ``hidden``."""
        nxt = (decision_pos + 1).clamp(0, labels.shape[1] - 1)
        target = labels.gather(1, nxt).masked_fill(decision_pos < 0, IGNORE)
        rows, cols = (target != IGNORE).nonzero(as_tuple=True)
        return self._next_token_loss(hidden, logits, rows, decision_pos[rows, cols], target[rows, cols], count)

    def _next_token_loss(self, hidden, logits, rows, pos, targets, count) -> torch.Tensor:
        """Cross-entropy of ``targets`` at positions ``(rows, pos)``, from ``logits`` when given,
        else from the output layer on ``hidden`` there; a sum over ``count`` (the step's)
        or the local mean. No position gives 0, still connected to the graph."""
        scores = logits[rows, pos] if logits is not None else self.output_layer()(hidden[rows, pos])
        total = F.cross_entropy(scores.float(), targets, reduction="sum")
        return _mean_or_normalised(total, max(rows.numel(), 1), count)

    def _lm_head_reproduces_logits(self) -> bool:
        """Whether ``output_layer(last hidden state)`` is the model's logits (it is not for
        models with logit soft-capping or scaling); checked once on a probe input."""
        if self._fast_lm_loss is None:
            # Forked RNG: the probe must not consume random numbers (a resumed run restores
            # the RNG state and must then draw the same dropout masks as an uninterrupted one).
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                probe = torch.tensor([[1, 2, 3, 4]], device=self.device).clamp_max(self.fingerprint["vocab_size"] - 1)
                out = self.lm(input_ids=probe, output_hidden_states=True)
                again = self.output_layer()(out.hidden_states[-1])
            self._fast_lm_loss = bool(torch.allclose(again.float(), out.logits.float(), rtol=1e-3, atol=1e-3))
            if not self._fast_lm_loss:
                logger.info("The output layer does not reproduce this model's logits; computing full logits")
        return self._fast_lm_loss

    def request_match(self, hidden_states, tool_spans, tool_mask, request_spans, decision_pos=None, call_spans=None,
                      request_cover=None):
        """``(match [B, D, T], has_request [B, D], pending [B, D], L_pending summed)`` for the selector;
        ``None`` for each part the model or the batch lacks (the pending term needs the calls'
        spans and ``request_cover``)."""
        match_head = self.heads.match
        if match_head is None or request_spans is None:
            return None, None, None, None
        served = None
        if call_spans is not None and decision_pos is not None:
            served = served_calls(call_spans, request_spans, decision_pos)
        states = hidden_states[self.match_layer]
        match = match_head(states, tool_spans, tool_mask, request_spans, call_spans, served)
        pending = loss = None
        if match_head.value is not None and served is not None and request_cover is not None:
            pending, loss = match_head.pending(states, request_spans, request_cover, served)
        return match, request_spans[..., 1] > request_spans[..., 0], pending, loss

    def _select(self, result, hidden, tool_emb, decision_pos, decision_target, tool_mask, count=None,
                match=(None, None, None)) -> None:
        valid = decision_pos >= 0
        index = decision_pos.clamp_min(0)[..., None].expand(-1, -1, hidden.shape[-1])
        h = hidden.gather(1, index)  # [B, D, H]
        logits = self.heads.select_logits(h, tool_emb, tool_mask, *match)
        result.select_logits = logits
        if decision_target is None:
            return
        target = decision_targets(decision_target, tool_emb.shape[1]).masked_fill(~valid, IGNORE)
        counted = target != IGNORE
        flat = logits.reshape(-1, logits.shape[-1])
        if counted.any():
            result.loss_select = _mean_or_normalised(
                F.cross_entropy(flat, target.reshape(-1), ignore_index=IGNORE, reduction="sum"), counted.sum(), count)
        else:  # keep the graph connected so every process runs the same backward
            result.loss_select = flat.masked_fill(torch.isinf(flat), 0).sum() * 0.0
        result.select_correct = ((logits.argmax(-1) == target) & counted).sum()
        result.select_total = counted.sum()

    def _param_loss(self, hidden, tool_emb, input_ids, param_tool, count=None) -> torch.Tensor | None:
        # The state at t predicts token t+1: condition it on the tool of token t+1.
        next_tool = param_tool[:, 1:]
        rows, cols = (next_tool >= 0).nonzero(as_tuple=True)
        if rows.numel() == 0:
            return (self.heads.argument.weight.sum() * 0.0).to(hidden.dtype)
        h = hidden[rows, cols]
        e = tool_emb[rows, next_tool[rows, cols]]
        logits = self.output_layer()(self.heads.condition(h, e))
        loss = F.cross_entropy(logits.float(), input_ids[rows, cols + 1], reduction="sum")
        return _mean_or_normalised(loss, rows.numel(), count)

    def param_logits(self, hidden: torch.Tensor, tool_emb: torch.Tensor) -> torch.Tensor:
        """Next-token logits from ``h + U e_f`` (inference: the decode loop's argument head)."""
        return self.output_layer()(self.heads.condition(hidden, tool_emb))

    # -- persistence (the folder format is fc_finetune.model.io's) ----------------------
    def save_pretrained(self, directory, *, tokenizer=None, **kwargs):
        return io.save_model(self, directory, tokenizer=tokenizer, **kwargs)

    @classmethod
    def from_pretrained(cls, name_or_path, *, base_model: str | None = None, dtype: Any = "auto",
                        is_trainable: bool = False, revision: str | None = None, trust_remote_code: bool = False,
                        device_map: Any = None) -> FunctionCallingModel:
        """Load a saved model onto its base (or ``base_model``), checking that the two match."""
        folder = io.local_folder(name_or_path, revision)
        config = io.read_config(folder)
        io.check_complete(folder)
        base_name = base_model or config["base_model"]
        base = load_causal_lm(base_name, dtype=dtype, trust_remote_code=trust_remote_code,
                              **({"device_map": device_map} if device_map is not None else {}))
        io.check_base(folder, config, base, base_name)
        lm = io.load_adapter(base, folder, is_trainable=is_trainable)
        # Folders written before the request match (or its coverage, or pending term) existed do not use it.
        heads = HeadArguments(**{"request_match": False, "match_coverage": False, "match_pending": False,
                                 **config["heads"]})
        model = cls(lm, heads, base_model=config["base_model"],
                    lora=LoraArguments(**config["lora"]) if config.get("lora") else None,
                    call_format=config.get("call_format", "hermes"),
                    no_call_threshold=config.get("no_call_threshold"),
                    more_calls_threshold=config.get("more_calls_threshold"),
                    selector_temperature=config.get("selector_temperature", 1.0),
                    # Folders saved before the pairwise rule were calibrated on the softmax's P(NO_CALL).
                    call_decision=config.get("call_decision", "softmax"))
        io.load_heads_into(model.heads, folder)
        model.heads.to(device=model.device)
        if is_trainable:
            model.heads.requires_grad_(True)
            model.train()
        else:
            model.requires_grad_(False)
            model.eval()
            merge_frozen_token_rows(model.lm)
        return model

    # -- utilities --------------------------------------------------------------------
    def trainable_parameters(self) -> tuple[int, int]:
        total = sum(p.numel() for p in self.parameters())
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return trainable, total

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None) -> None:
        enable_activation_checkpointing(self.lm, gradient_checkpointing_kwargs)

    activation_checkpointing_enable = gradient_checkpointing_enable  # the name transformers 5.2x calls

    def merge_and_unload(self) -> nn.Module:
        """The LM with LoRA merged into its weights: a plain transformers model for servers."""
        return self.lm.merge_and_unload()


load_model = FunctionCallingModel.from_pretrained


def load_for_inference(name_or_path, *, dtype: Any = "auto", base_model: str | None = None):
    """``(model, tokenizer, call_format)`` for generation: a folder written by fc-finetune
    gives its FunctionCallingModel (heads and text mode); anything else (alias, model
    folder, Hub id) a plain causal LM in eval mode whose tokenizer gets the tool template
    (text mode only)."""
    if io.is_saved_model(name_or_path):
        path = Path(name_or_path).expanduser()
        model = load_model(path, dtype=dtype, base_model=base_model)
        return model, io.load_tokenizer_for(path), model.call_format
    lm = load_causal_lm(name_or_path, dtype=dtype)
    lm.eval()
    tokenizer = load_tokenizer(name_or_path)
    return lm, tokenizer, prepare_tokenizer(tokenizer).name
