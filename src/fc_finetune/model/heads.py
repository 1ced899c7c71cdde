"""The two small heads on top of the LM: function selector and argument conditioning.

* Selector: ``P(f | h) = softmax_f(e_f^T W h / sqrt(H))`` over the tools offered in the
  example plus a learned ``NO_CALL`` vector. ``e_f`` is the LM's hidden state pooled over
  tool f's definition inside the rendered prompt (no extra forward pass; works for unseen
  tools). ``e_f`` and ``h`` are RMS-normalised first, so the scores' scale does not depend
  on the model's hidden-state norms (which differ by orders of magnitude across models),
  and ``W`` starts at zero: every candidate starts equally likely.
* Argument head: argument tokens are predicted from ``h_t + U e_f`` through the LM's own
  output layer; ``U`` starts at zero, so training starts from the plain LM.

Heads compute in float32 whatever the LM's dtype.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.contract import NO_CALL


def pool_spans(hidden: torch.Tensor, spans: torch.Tensor, mask: torch.Tensor,
               query: torch.Tensor | None = None) -> torch.Tensor:
    """Pool ``hidden[b, s:e]`` for each span: ``[B, L, H], [B, T, 2], [B, T] -> [B, T, H]``.

    Without ``query`` this is the mean. With a learned ``query [H]`` it is attention
    pooling, ``softmax_i(q . h_i)``-weighted, which equals the mean while ``q`` is zero.
    """
    positions = torch.arange(hidden.shape[1], device=hidden.device)
    inside = (positions >= spans[..., :1]) & (positions < spans[..., 1:]) & mask[..., None]  # [B, T, L]
    if query is None:
        weights = inside.to(hidden.dtype)
        weights = weights / weights.sum(-1, keepdim=True).clamp_min(1.0)
    else:
        scores = torch.einsum("blh,h->bl", hidden, query)[:, None, :].expand_as(inside)
        weights = torch.softmax(scores.masked_fill(~inside, float("-inf")), dim=-1)
        weights = torch.nan_to_num(weights, nan=0.0)  # spans of padded tools are empty
    return torch.bmm(weights, hidden)


class FunctionCallingHeads(nn.Module):
    """``W`` (selector bilinear form), the ``NO_CALL`` vector and ``U`` (argument head)."""

    def __init__(self, hidden_size: int, *, selector: bool = True, argument_head: bool = True):
        super().__init__()
        self.hidden_size = hidden_size
        self.selector = nn.Linear(hidden_size, hidden_size, bias=False) if selector else None
        self.no_call = nn.Parameter(torch.zeros(hidden_size)) if selector else None
        self.pool_query = nn.Parameter(torch.zeros(hidden_size)) if (selector or argument_head) else None
        self.argument = nn.Linear(hidden_size, hidden_size, bias=False) if argument_head else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.selector is not None:
            nn.init.zeros_(self.selector.weight)
            nn.init.normal_(self.no_call, std=1.0)
        if self.argument is not None:
            nn.init.zeros_(self.argument.weight)
        if self.pool_query is not None:
            nn.init.zeros_(self.pool_query)

    def tool_embeddings(self, hidden: torch.Tensor, tool_spans: torch.Tensor, tool_mask: torch.Tensor) -> torch.Tensor:
        return pool_spans(hidden.float(), tool_spans, tool_mask, self.pool_query)

    def select_logits(self, h: torch.Tensor, tool_emb: torch.Tensor, tool_mask: torch.Tensor) -> torch.Tensor:
        """Scores ``[B, D, T + 1]`` of each decision state ``h [B, D, H]`` against the offered
        tools ``[B, T, H]`` and, last, ``NO_CALL``. Padded tools score ``-inf``."""
        if self.selector is None:
            raise RuntimeError("the selector head is switched off")
        no_call = self.no_call.expand(tool_emb.shape[0], 1, -1)
        candidates = _rms_normalise(torch.cat([tool_emb, no_call], dim=1))  # [B, T+1, H]
        query = self.selector(_rms_normalise(h.float()))
        scores = torch.einsum("bdh,bth->bdt", query, candidates) * self.hidden_size ** -0.5
        valid = torch.cat([tool_mask, tool_mask.new_ones(tool_mask.shape[0], 1)], dim=1)
        return scores.masked_fill(~valid[:, None, :], float("-inf"))

    def condition(self, h: torch.Tensor, tool_emb: torch.Tensor) -> torch.Tensor:
        """``h + U e_f`` in ``h``'s dtype; ``h`` and ``tool_emb`` have matching leading dims."""
        if self.argument is None:
            raise RuntimeError("the argument head is switched off")
        return h + self.argument(tool_emb.float()).to(h.dtype)


def _rms_normalise(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def decision_targets(targets: torch.Tensor, n_tools: int) -> torch.Tensor:
    """Map ``NO_CALL`` (-1) to the last candidate slot; keep ``IGNORE`` (-100)."""
    return torch.where(targets == NO_CALL, torch.full_like(targets, n_tools), targets)
