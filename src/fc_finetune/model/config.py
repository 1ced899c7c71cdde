"""Configuration dataclasses for the model: LoRA and the heads with their loss weights.

One dataclass per concern, with ``help`` on every field (shown by ``--help``) and
validation in ``__post_init__``. The training parser (``config.py``) combines these with
the data and training arguments.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import torch
from peft import LoraConfig, TaskType
from peft.tuners.trainable_tokens.layer import TrainableTokensLayer
from torch import nn

logger = logging.getLogger(__name__)


@dataclass
class LoraArguments:
    """LoRA adapter on the LM (peft)."""

    lora_r: int = field(default=16, metadata={"help": "LoRA rank r."})
    lora_alpha: float = field(default=32, metadata={"help": "LoRA scaling alpha (the update is scaled by alpha/r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input, in [0, 1)."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={"help": "Modules to adapt: names such as q_proj v_proj, or 'all-linear' for every linear "
                          "layer but the output layer."})
    use_rslora: bool = field(default=False, metadata={"help": "Rank-stabilised LoRA scaling (alpha/sqrt(r))."})
    lora_layers: int | None = field(default=None, metadata={
        "help": "Adapt only the last N decoder layers (default: all; all too when the model has fewer). "
                "Backpropagation then stops at the first adapted layer: on SmolLM2-135M (30 layers, CPU, fp32) "
                "the last 10 train 1.9x faster than all 30. The adapter stays plain peft LoRA (layers_to_transform)."})
    trainable_tokens: list[str] = field(default_factory=list, metadata={
        "help": "Tokens whose rows are trained in full beside LoRA (peft's trainable_token_indices), for a base "
                "whose own tags were never trained: Qwen2.5-Coder-0.5B's <tool_call> and </tool_call> rows are "
                "copies of the padding row, so it cannot learn to write them through LoRA alone. The output "
                "layer's rows (what makes the model write the token) are trained; the input embedding's rows "
                "too where backpropagation reaches it anyway (no lora_layers) or the two are tied. An input row "
                "that is a copy of another row starts from the mean of its spelling's rows (<, tool, _call, >), "
                "so the model can tell the tags apart where it reads them. Each must be "
                "one token of the vocabulary. They train at token_learning_rate (the heads' rate by default), "
                "without weight decay. Saved in the adapter: PeftModel.from_pretrained restores them."})

    def __post_init__(self):
        if self.lora_layers is not None and self.lora_layers < 1:
            raise ValueError(f"lora_layers must be >= 1 (or unset for every layer), got {self.lora_layers}")
        if self.lora_r < 1:
            raise ValueError(f"lora_r must be >= 1, got {self.lora_r}")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if isinstance(self.lora_target_modules, str):
            self.lora_target_modules = [m for m in self.lora_target_modules.replace(",", " ").split() if m]
        if not self.lora_target_modules:
            raise ValueError("lora_target_modules is empty: name modules such as q_proj, or use all-linear")
        if isinstance(self.trainable_tokens, str):
            self.trainable_tokens = self.trainable_tokens.split()

    def token_ids(self, tokenizer) -> dict[int, list[int]]:
        """The ids of ``trainable_tokens``, each with its spelling in ordinary tokens (``<tool_call>``:
        ``<``, ``tool``, ``_call``, ``>``; empty where a piece is itself a special token), which
        an untrained row starts from (:func:`spelled_input_rows`). A token that is not exactly one
        token of the vocabulary is an error naming it."""
        ids = {}
        special = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}))
        for token in self.trainable_tokens:
            found = tokenizer.convert_tokens_to_ids(token)
            if found is None or tokenizer.convert_ids_to_tokens(found) != token:  # unknown: the unk id
                encoded = tokenizer.encode(token, add_special_tokens=False)
                raise ValueError(f"trainable_tokens: {token!r} is not one token of this tokenizer's vocabulary "
                                 f"(it encodes as {len(encoded)} tokens); name single tokens, such as the model's "
                                 "own special tokens, or leave trainable_tokens empty")
            # Encoded apart, the first character and the rest no longer match the added token.
            pieces = [i for part in (token[:1], token[1:]) for i in tokenizer.encode(part, add_special_tokens=False)]
            ids[found] = [] if len(pieces) < 2 or special & set(pieces) else pieces
        return ids

    def to_peft(self, model=None, token_ids: dict[int, list[int]] | list[int] | None = None):
        """The peft config; ``model`` (the LM) is needed with ``lora_layers``, to count its layers
        and name its linear modules (peft takes ``layers_to_transform`` only with named targets),
        and with ``token_ids`` (the ids of ``trainable_tokens``), to name its output layer and
        input embedding."""
        targets = self.lora_target_modules
        target = "all-linear" if targets == ["all-linear"] else list(targets)
        layers = None
        if self.lora_layers is not None:
            if model is None:
                raise ValueError("lora_layers needs the model, to count its decoder layers")
            total = model.config.get_text_config().num_hidden_layers
            if self.lora_layers > total:
                logger.warning("lora_layers is %d but the model has %d decoder layers: adapting all of them",
                               self.lora_layers, total)
            layers = list(range(max(total - self.lora_layers, 0), total))
            if target == "all-linear":
                target = sorted(linear_layer_names(model))
                if not target:
                    raise ValueError("lora_layers: no linear layers found under '.layers.'; name the modules "
                                     "to adapt in lora_target_modules")
        tokens = None
        if token_ids:
            if model is None:
                raise ValueError("trainable_tokens needs the model, to name its output layer and input embedding")
            tokens = _token_targets(model, list(token_ids), backprop_reaches_embedding=layers is None)
        return LoraConfig(r=self.lora_r, lora_alpha=self.lora_alpha, lora_dropout=self.lora_dropout,
                          target_modules=target, use_rslora=self.use_rslora, task_type=TaskType.CAUSAL_LM,
                          layers_to_transform=layers, trainable_token_indices=tokens)


def _token_targets(model, ids: list[int], *, backprop_reaches_embedding: bool) -> dict[str, list[int]]:
    """peft's ``trainable_token_indices`` for rows ``ids``: the output layer's and the input
    embedding's (a tied pair is one set of rows: peft wraps the embedding and the output layer
    shares it)."""
    names = {id(module): name for name, module in model.named_modules()}
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    if outputs is None or id(outputs) not in names or id(inputs) not in names:
        raise ValueError("trainable_tokens: this model has no output layer and input embedding to train rows of")
    in_name, out_name = names[id(inputs)].rsplit(".", 1)[-1], names[id(outputs)].rsplit(".", 1)[-1]
    if outputs.weight is inputs.weight:
        if not backprop_reaches_embedding:
            logger.warning("trainable_tokens on a model whose output layer is tied to its input embedding: the "
                           "shared rows make backpropagation run through every layer, not only the last "
                           "lora_layers")
        return {in_name: ids}
    # The input rows are in the adapter even where backpropagation does not reach them (then
    # frozen: spelled_input_rows), so rows that start from their spelling are saved.
    return {out_name: ids, in_name: ids}


def spelled_input_rows(lm, spellings: dict[int, list[int]], *, trainable: bool) -> list[int]:
    """Give each ``trainable_tokens`` input row that is a copy of another row of the input
    embedding (never trained: Qwen2.5-Coder-0.5B's ``<tool_call>`` and ``</tool_call>`` are both
    the padding row) the mean of its spelling's rows (``spellings``: id -> ordinary token ids);
    rows with no spelling, or their own vector, are left. Otherwise the two tags read the same:
    after ``<tool_call>`` the model sees what follows ``</tool_call>`` and ends the turn. With
    ``trainable`` false (``lora_layers``: backpropagation stops before the embedding) the rows are
    frozen, so they cost no backpropagation, and are kept in the adapter as they start. Returns
    the ids given a spelled row."""
    inputs = lm.get_input_embeddings()
    adapter = getattr(inputs, "token_adapter", None)
    if adapter is None:
        return []
    base = adapter.get_base_layer().weight
    name = adapter.active_adapters[0]
    delta, indices = adapter.trainable_tokens_delta[name], adapter.token_indices[name]
    spelled = []
    with torch.no_grad():
        for k, token in enumerate(indices):
            pieces = spellings.get(token) or []
            if pieces and _has_copy(base, token):
                delta[k] = base[pieces].mean(0).to(delta.dtype)
                spelled.append(token)
    if not trainable and inputs.weight is not lm.get_output_embeddings().weight:
        delta.requires_grad_(False)
    return spelled


def merge_frozen_token_rows(lm) -> None:
    """Write the ``trainable_tokens`` rows of every layer whose rows no longer train (a model
    loaded for inference) into its base weight, once, with peft's own ``merge``. Unmerged, peft
    builds the whole patched matrix on every forward: an ``index_copy`` of all 151,936 x 896
    rows of Qwen2.5-Coder-0.5B, 0.36 s on these CPUs, for the input embedding and again for the
    output layer, per decoded token (half of heads mode's time). The rows stay in the adapter:
    saving, export and ``disable_adapter`` (which unmerges) work as before. Not used in
    training, where sharded weights (ZeRO-3, FSDP) may not be whole."""
    for module in lm.modules():
        if (isinstance(module, TrainableTokensLayer) and not module.merged
                and module.get_base_layer().weight.device.type != "meta"  # offloaded (device_map): left to peft
                and not any(p.requires_grad for p in module.trainable_tokens_delta.values())):
            module.merge()


def _has_copy(weight: torch.Tensor, row: int, block: int = 8192) -> bool:
    """Whether another row of ``weight`` points the same way as row ``row`` (cosine above
    0.9999; a bf16 round trip leaves copies a hair apart), read a block at a time so no
    float32 copy of a whole embedding is made."""
    v = torch.nn.functional.normalize(weight[row].detach().float(), dim=0)
    for start in range(0, weight.shape[0], block):
        chunk = torch.nn.functional.normalize(weight[start:start + block].detach().float(), dim=-1)
        close = (chunk @ v > 0.9999).nonzero().flatten() + start
        if (close != row).any():
            return True
    return False


def linear_layer_names(model) -> set[str]:
    """The last name part of every linear layer inside the decoder layers (what peft's
    'all-linear' adapts: the output layer and embeddings are outside them)."""
    out = set()
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and ".layers." in f".{name}":
            out.add(name.rsplit(".", 1)[-1])
    return out


@dataclass
class HeadArguments:
    """The function-selector and argument heads, and the weights of the joint loss."""

    selector_head: bool = field(default=True, metadata={
        "help": "Train the function-selector head (softmax over offered tools + NO_CALL)."})
    argument_head: bool = field(default=True, metadata={
        "help": "Train the argument head (h_t + U e_f through the LM's output layer)."})
    request_match: bool = field(default=True, metadata={
        "help": "Add the request match to the selector: how closely the latest user message's tokens meet "
                "each tool definition's tokens (hidden states of the layer at match_depth), so a request is "
                "matched to tools by what they say, and one that matches none is not a call."})
    match_coverage: bool = field(default=True, metadata={
        "help": "Discount, in the request match, the request's tokens that the calls made since the request "
                "already cover (their best cosine with a call's tokens): after a call the match points at what "
                "the request still asks for, and a request fully served is not called again."})
    match_pending: bool = field(default=True, metadata={
        "help": "At a decision after calls made since the request, lower NO_CALL by the share of the request's "
                "value tokens (a learned tag, trained on the tokens the calls take) that no call has taken yet "
                "(letters and digits found in a call's text), so 'for Paris and for London' is called twice. "
                "Part of the request match: off without request_match."})
    match_depth: float = field(default=0.8, metadata={
        "help": "Which layer the request match reads, as a fraction of the model's depth (0.8: layer 24 of 30)."})
    w_select: float = field(default=1.0, metadata={"help": "Weight of the selector loss L_select."})
    w_param: float = field(default=1.0, metadata={"help": "Weight of the argument-token loss L_param."})
    w_lm: float = field(default=1.0, metadata={"help": "Weight of the language-modelling loss L_lm."})
    w_lm_decision: float = field(default=1.0, metadata={
        "help": "Weight of L_lm_decision: the LM's own next-token loss at the selector's decision points (where "
                "a turn's first call or its answer starts, and after each call: another call or the end of the "
                "turn), averaged per decision like L_select. L_lm averages over every answer token, where "
                "these few tokens weigh little; this term teaches the adapter read as plain LoRA (text mode) "
                "the same call / stop decisions the selector learns (trained beside the heads without it, the "
                "adapter read as text kept calling after its first call). Not used with both heads off, where the "
                "loss stays plain SFT's. 0: off."})

    def __post_init__(self):
        for name in ("w_select", "w_param", "w_lm", "w_lm_decision"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.match_depth <= 1:
            raise ValueError(f"match_depth must be in (0, 1], got {self.match_depth}")
        if self.w_lm == 0 and not (self.selector_head or self.argument_head):
            raise ValueError("nothing to train: w_lm is 0 and both heads are off")

    def to_dict(self) -> dict:
        return asdict(self)
