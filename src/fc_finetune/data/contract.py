"""The batch contract: the values and keys the collator writes and the model, the trainer and
calibration read. Defined here once; every stage imports them from here.

A batch from :class:`~fc_finetune.data.collate.FunctionCallingCollator` (right padded):

* ``input_ids``, ``attention_mask`` ``[B, L]``;
* ``labels`` ``[B, L]``: the token where the LM learns it, else :data:`IGNORE`;
* ``param_tool`` ``[B, L]``: for the tokens of a call's arguments (the object through the
  closing tag), the index of the gold tool (the argument head's ``f``), else :data:`NO_TOOL`;
* ``decision_pos`` ``[B, D]``: the last token before each decision point (:data:`NO_POSITION`
  pads), ``decision_target`` ``[B, D]``: a tool index or :data:`NO_CALL` (:data:`IGNORE` pads),
  ``decision_request`` ``[B, D, 2]``: ``[start, end)`` of the request each decision answers
  (the latest user message's content; ``[0, 0]``: none, and pads);
* ``tool_spans`` ``[B, T, 2]``: ``[start, end)`` of each tool's definition in the prompt,
  ``tool_mask`` ``[B, T]``: which tools are real;
* ``call_spans`` ``[B, C, 2]``: ``[start, end)`` of each call written in the record (its
  whole ``call_open ... call_close`` text; ``[0, 0]`` pads): the request match reads the calls
  made since a decision's request, up to the decision, as the part of the request already served;
* ``request_cover`` ``[B, L]``: for each token of a request that calls answer, the index (into
  ``call_spans``) of the first of those calls that takes one of its words as a value
  (:mod:`fc_finetune.data.coverage`), :data:`NOT_COVERED` when none does; :data:`IGNORE` at every
  other token. The selector's pending term reads it (the value tag's labels, and which tagged
  tokens the calls made before a decision took).
"""

from __future__ import annotations

import torch

TRUNCATION = ("drop", "oldest_turns", "unused_tools")
"""How a too-long example is shortened: not at all (dropped), by removing whole oldest exchanges, or by
removing first the offered tools it never calls (the longest first; one always stays), then oldest exchanges."""

IGNORE = -100  # a label or decision target that no loss reads (PyTorch's ignore_index)
NO_CALL = -1  # decision target: answer directly / no more calls
NO_TOOL = -1  # param_tool of a token outside any call's arguments
NO_POSITION = -1  # decision_pos padding
NOT_COVERED = -1  # request_cover of a request token that none of the request's calls takes

BATCH_KEYS = ("input_ids", "attention_mask", "labels", "param_tool", "decision_pos", "decision_target",
              "decision_request", "tool_spans", "tool_mask", "call_spans", "request_cover")


def decision_count(batch: dict) -> int:
    """Decisions the selector loss reads in ``batch``."""
    return int((batch["decision_target"] != IGNORE).sum())


def param_token_count(batch: dict) -> int:
    """Argument tokens the argument-head loss reads in ``batch`` (each predicts the next token)."""
    return int((batch["param_tool"][:, 1:] != NO_TOOL).sum())


def request_token_count(batch: dict) -> int:
    """Request tokens the value tag's loss reads in ``batch``."""
    return int((batch["request_cover"] != IGNORE).sum())


def step_counts(batches: list[dict], device=None) -> torch.Tensor:
    """``[decisions, argument tokens, request tokens]`` over every micro-batch of one optimizer
    step: the normalisers that make each head's loss a mean over the step, as the Trainer does
    for labels."""
    return torch.tensor([sum(count(b) for b in batches) for count in (decision_count, param_token_count,
                                                                      request_token_count)],
                        device=device, dtype=torch.float32)
