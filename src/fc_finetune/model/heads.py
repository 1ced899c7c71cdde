"""The two small heads on top of the LM: function selector and argument conditioning.

* Selector: ``P(f | h) = softmax_f(e_f^T W h / sqrt(H))`` over the tools offered in the
  example plus a learned ``NO_CALL`` vector. ``e_f`` is the LM's hidden state pooled over
  tool f's definition inside the rendered prompt (no extra forward pass; works for unseen
  tools). ``e_f`` and ``h`` are RMS-normalised first, so the scores' scale does not depend
  on the model's hidden-state norms (which differ by orders of magnitude across models),
  and ``W`` starts at zero: every candidate starts equally likely.
* Request match (``request_match``): a late-interaction score added to each tool's logit,
  ``alpha * mean_i max_j cos(P x_i, P y_j)`` over the request's tokens ``x_i`` (the latest
  user message) and the tool definition's tokens ``y_j``, both hidden states of one middle
  layer, centred on the mean of the tools' tokens; ``NO_CALL`` gets ``alpha * tau``, so a
  request that matches no tool better than ``tau`` is not a call. With ``match_coverage``,
  the request's tokens that the calls made since the request already cover are discounted:
  token i weighs ``(1 - c_i)^2``, ``c_i`` its best cosine (clipped to [0, 1]) with a token of
  those calls. After a call the match then points at what the request still asks for (a
  second function, a second value), and a request fully served matches nothing. ``P`` starts at the
  identity: before any training the term already ranks tools by how closely the request's
  words meet their definitions (on NESTFUL, with the previous quickstart's hidden states, it
  picked a tool the request uses 72% of the time, where that model's trained bilinear term
  was at chance). It gives the selector what the bilinear form of two pooled vectors learns
  slowly from a few hundred decisions. Coverage, on the mix's held-out dev turns and the same
  states: after a call, "another call" against "done" went from AUC 0.48 to 0.72, and the tool
  of the next call from 64% to 75%.
* Pending values (``match_pending``): at a decision after calls made since the request, the
  ``NO_CALL`` score drops by ``beta * pending``, ``pending`` how many of the request's value
  tokens no call has taken yet: ``sum_i v_i (1 - k_i) / sqrt(sum_i v_i)`` with ``v_i = [w . x_i
  + b > 0]`` a learned tag ("a call will take this token"; trained with binary cross-entropy,
  ``L_pending``, on the tokens the request's calls take) and ``k_i`` whether a call made since
  the request took token i (the lexical rule of :mod:`fc_finetune.data.coverage`). Tagged
  hard, not weighted by the tag's probability: on the mix's held-out turns the many non-value
  tokens' small probabilities left a turn whose values were all taken at a median share
  pending of 0.39 (another call 0.67; AUC 0.84); counted hard, 0.00 against 0.50 (AUC 0.90; gold
  tags 0.96). Over the square root, not the count: a third value left after two calls still
  weighs (share 0.28, this 1.0, at the median); AUC 0.93 (the share 0.91, the count 0.93).
  The cosine coverage above cannot say this: a second call of the same function covers the
  same function words, and the match layer's states of a copied value meet the request's at a
  median cosine of 0.57, not 1.
* Argument head: argument tokens are predicted from ``h_t + U e_f`` through the LM's own
  output layer; ``U`` starts at zero, so training starts from the plain LM.

Heads compute in float32 whatever the LM's dtype.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.contract import IGNORE, NO_CALL


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


class RequestMatch(nn.Module):
    """The request match: ``P`` (starts at the identity), ``alpha`` (scale) and ``tau`` (the
    NO_CALL bar). Created without drawing random numbers."""

    def __init__(self, hidden_size: int, *, coverage: bool = False, pending: bool = False):
        super().__init__()
        self.coverage = coverage
        self.proj = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.scale = nn.Parameter(torch.empty(()))
        self.threshold = nn.Parameter(torch.empty(()))
        self.value = nn.Parameter(torch.empty(hidden_size + 1)) if pending else None  # the value tag's w, b
        self.pending_scale = nn.Parameter(torch.empty(())) if pending else None  # beta
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.eye_(self.proj)
        nn.init.constant_(self.scale, MATCH_SCALE)
        nn.init.constant_(self.threshold, MATCH_THRESHOLD)
        if self.value is not None:
            nn.init.zeros_(self.value)
            nn.init.constant_(self.pending_scale, PENDING_SCALE)

    def forward(self, states: torch.Tensor, tool_spans: torch.Tensor, tool_mask: torch.Tensor,
                request_spans: torch.Tensor, call_spans: torch.Tensor | None = None,
                served: torch.Tensor | None = None) -> torch.Tensor:
        """Match scores ``[B, D, T]`` in [-1, 1]: for decision d and tool t, the mean over the
        request's tokens of their best cosine with a token of t's definition (each token
        discounted by its coverage when the match has coverage and ``served`` is given).

        ``states [B, L, H]`` are the match layer's hidden states, ``request_spans [B, D, 2]``
        each decision's request tokens (an empty span scores 0), ``call_spans [B, C, 2]`` the
        calls' tokens and ``served [B, D, C]`` which calls cover decision d's request (see
        :func:`served_calls`). The states are read, not
        trained through: the match learns ``P``, ``alpha`` and ``tau`` only (its gradient,
        scaled by ``alpha``, slowed the LM's own learning when it reached the LM)."""
        states = states.detach().float()
        # Only the tools' tokens (columns) and the requests' tokens (rows) take part: gathered,
        # the similarities are [B, rows, columns], not [B, L, L].
        cols, col_ok, in_tool = _gather_spans(tool_spans, states.shape[1], tool_mask)  # in_tool [B, T, C]
        rows, row_ok, weights = _gather_spans(request_spans, states.shape[1])  # weights [B, D, R]
        tool_states = _take(states, cols)
        centre = (tool_states * col_ok[..., None]).sum(1, keepdim=True) / col_ok.sum(-1).clamp_min(1)[:, None, None]
        keys = nn.functional.normalize((tool_states - centre) @ self.proj.T, dim=-1)
        queries = nn.functional.normalize((_take(states, rows) - centre) @ self.proj.T, dim=-1)
        sim = torch.einsum("brh,bch->brc", queries, keys)  # [B, R, C]
        best = []
        for t in range(in_tool.shape[1]):
            per_row = sim.masked_fill(~in_tool[:, t, None, :], float("-inf")).amax(-1)  # [B, R]
            best.append(torch.where(row_ok & in_tool[:, t].any(-1, keepdim=True), per_row, 0.0))
        best = torch.stack(best, -1)  # [B, R, T]
        weights = weights.float() / weights.sum(-1, keepdim=True).clamp_min(1)
        if self.coverage and served is not None and call_spans is not None and bool(served.any()):
            covered = self._coverage(states, centre, queries, call_spans, served)
            weights = weights * (1 - covered) ** COVERAGE_POWER
        return torch.einsum("bdr,brt->bdt", weights, best)

    def _coverage(self, states, centre, queries, call_spans, served) -> torch.Tensor:
        """``[B, D, R]``: each request token's best cosine (clipped to [0, 1]) with a token of
        the calls that serve decision d (0 where none does)."""
        cols, _, owner = _gather_spans(call_spans, states.shape[1])  # owner [B, C, K]
        keys = nn.functional.normalize((_take(states, cols) - centre) @ self.proj.T, dim=-1)
        sim = torch.einsum("brh,bch->brc", queries, keys)  # [B, R, K]
        usable = torch.einsum("bdc,bck->bdk", served.float(), owner.float()) > 0  # [B, D, K]
        best = sim[:, None].masked_fill(~usable[:, :, None, :], float("-inf")).amax(-1)  # [B, D, R]
        return torch.where(usable.any(-1, keepdim=True), best, 0.0).clamp(0, 1)


    def pending(self, states: torch.Tensor, request_spans: torch.Tensor, request_cover: torch.Tensor,
                served: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(pending [B, D], L_pending)``: how many of each decision's request value tokens none
        of the calls serving it (``served [B, D, C]``) took, over the square root of how many
        there are (0 where no call serves the decision), and the tag's binary cross-entropy summed
        over the request tokens that ``request_cover [B, L]`` labels (0 when it labels none); the
        tag trains on that loss only (its hard decisions carry no gradient). Reads the match layer's
        ``states [B, L, H]`` without training through them."""
        if self.value is None:
            raise RuntimeError("this request match has no pending term (match_pending is off)")
        rows, row_ok, member = _gather_spans(request_spans, states.shape[1])  # member [B, D, R]
        tags = self.tags(states, rows)  # [B, R]
        cover = request_cover.gather(1, rows)
        labelled = row_ok & (cover != IGNORE)
        if bool(labelled.any()):
            loss = nn.functional.binary_cross_entropy_with_logits(tags[labelled], (cover[labelled] >= 0).float(),
                                                                  reduction="sum")
        else:  # keep the graph connected so every process runs the same backward
            loss = tags.sum() * 0.0
        taken = served.gather(2, cover.clamp_min(0)[:, None, :].expand(-1, served.shape[1], -1))
        taken = taken & (cover >= 0)[:, None, :]  # [B, D, R]
        values = (member & ((tags > 0) & labelled)[:, None, :]).float()  # the tokens tagged as values
        pending = (values * ~taken).sum(-1) / values.sum(-1).clamp_min(1).sqrt()
        return pending * served.any(-1), loss


    def tags(self, states: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """The value tag's logits ``[B, N]`` at ``positions [B, N]`` of the match layer's ``states``
        (read, not trained through)."""
        return _rms_normalise(_take(states.detach().float(), positions)) @ self.value[:-1] + self.value[-1]


class FunctionCallingHeads(nn.Module):
    """``W`` (selector bilinear form), the ``NO_CALL`` vector and ``U`` (argument head)."""

    def __init__(self, hidden_size: int, *, selector: bool = True, argument_head: bool = True,
                 request_match: bool = False, match_coverage: bool = False, match_pending: bool = False):
        super().__init__()
        self.hidden_size = hidden_size
        self.selector = nn.Linear(hidden_size, hidden_size, bias=False) if selector else None
        self.no_call = nn.Parameter(torch.zeros(hidden_size)) if selector else None
        self.pool_query = nn.Parameter(torch.zeros(hidden_size)) if (selector or argument_head) else None
        self.argument = nn.Linear(hidden_size, hidden_size, bias=False) if argument_head else None
        self.match = (RequestMatch(hidden_size, coverage=match_coverage, pending=match_pending)
                      if (selector and request_match) else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.selector is not None:
            nn.init.zeros_(self.selector.weight)
            nn.init.normal_(self.no_call, std=1.0)
        if self.match is not None:
            self.match.reset_parameters()
        if self.argument is not None:
            nn.init.zeros_(self.argument.weight)
        if self.pool_query is not None:
            nn.init.zeros_(self.pool_query)

    def tool_embeddings(self, hidden: torch.Tensor, tool_spans: torch.Tensor, tool_mask: torch.Tensor) -> torch.Tensor:
        return pool_spans(hidden.float(), tool_spans, tool_mask, self.pool_query)

    def select_logits(self, h: torch.Tensor, tool_emb: torch.Tensor, tool_mask: torch.Tensor,
                      match: torch.Tensor | None = None, has_request: torch.Tensor | None = None,
                      pending: torch.Tensor | None = None) -> torch.Tensor:
        """Scores ``[B, D, T + 1]`` of each decision state ``h [B, D, H]`` against the offered
        tools ``[B, T, H]`` and, last, ``NO_CALL``. Padded tools score ``-inf``. ``match``
        (``[B, D, T]``, from :class:`RequestMatch`) adds the request match where ``has_request``
        ``[B, D]`` holds; ``pending [B, D]`` (from :meth:`RequestMatch.pending`) lowers NO_CALL."""
        if self.selector is None:
            raise RuntimeError("the selector head is switched off")
        no_call = self.no_call.expand(tool_emb.shape[0], 1, -1)
        candidates = _rms_normalise(torch.cat([tool_emb, no_call], dim=1))  # [B, T+1, H]
        query = self.selector(_rms_normalise(h.float()))
        scores = torch.einsum("bdh,bth->bdt", query, candidates) * self.hidden_size ** -0.5
        if self.match is not None and match is not None:
            bar = self.match.threshold.expand(*match.shape[:2], 1)
            term = self.match.scale * torch.cat([match, bar], dim=-1)
            scores = scores + term * has_request[..., None].to(term.dtype)
            if pending is not None and self.match.pending_scale is not None:
                no_call_score = scores[..., -1:] - self.match.pending_scale * pending[..., None]
                scores = torch.cat([scores[..., :-1], no_call_score], dim=-1)
        valid = torch.cat([tool_mask, tool_mask.new_ones(tool_mask.shape[0], 1)], dim=1)
        return scores.masked_fill(~valid[:, None, :], float("-inf"))

    def condition(self, h: torch.Tensor, tool_emb: torch.Tensor) -> torch.Tensor:
        """``h + U e_f`` in ``h``'s dtype; ``h`` and ``tool_emb`` have matching leading dims."""
        if self.argument is None:
            raise RuntimeError("the argument head is switched off")
        return h + self.argument(tool_emb.float()).to(h.dtype)


MATCH_SCALE = 30.0  # alpha at the start: a 0.1 cosine gap is 3 nats
MATCH_THRESHOLD = 0.4  # tau at the start: between matching and unrelated requests' best scores on NESTFUL
PENDING_SCALE = 5.0  # beta at the start: 2 of 4 values pending lower NO_CALL by 5 nats
COVERAGE_POWER = 2  # a request token weighs (1 - coverage)^2; dev turns: 1 -> AUC 0.69, 2 -> 0.72, 4 -> 0.71


def served_calls(call_spans: torch.Tensor, request_spans: torch.Tensor, decision_pos: torch.Tensor) -> torch.Tensor:
    """``[B, D, C]``: whether call c was made after decision d's request and before d (so it
    serves part of that request). ``call_spans [B, C, 2]``, ``request_spans [B, D, 2]``,
    ``decision_pos [B, D]`` (the last token before the decision)."""
    real = call_spans[:, None, :, 1] > call_spans[:, None, :, 0]
    asked = (request_spans[..., 1] > request_spans[..., 0])[..., None]
    after = call_spans[:, None, :, 0] >= request_spans[..., 1:2]
    before = call_spans[:, None, :, 1] <= decision_pos[..., None] + 1
    return real & asked & after & before


def match_layer(num_layers: int, depth: float) -> int:
    """Index into ``hidden_states`` (0 = embeddings) of the layer at ``depth`` of the model."""
    return max(1, min(num_layers, round(depth * num_layers)))


def _gather_spans(spans: torch.Tensor, length: int, mask: torch.Tensor | None = None):
    """The tokens inside ``spans [B, S, 2]`` (of a length-``length`` sequence; ``mask [B, S]``
    drops spans), gathered: their positions ``[B, N]``, which of those are real ``[B, N]`` and
    which span each lies in ``[B, S, N]``."""
    positions = torch.arange(length, device=spans.device)
    inside = (positions >= spans[..., :1]) & (positions < spans[..., 1:])  # [B, S, L]
    if mask is not None:
        inside = inside & mask[..., None]
    where, ok = _positions_where(inside.any(1))
    member = inside.gather(2, where[:, None, :].expand(-1, inside.shape[1], -1)) & ok[:, None, :]
    return where, ok, member


def _positions_where(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``mask [B, L]`` -> the positions where it holds, left-aligned ``[B, N]`` (N: the most in
    one row), and which of them are real."""
    counts = mask.sum(-1)
    width = max(int(counts.max()) if counts.numel() else 0, 1)
    order = torch.argsort((~mask).to(torch.int8), dim=-1, stable=True)[:, :width]
    return order, torch.arange(width, device=mask.device)[None, :] < counts[:, None]


def _take(states: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return states.gather(1, index[..., None].expand(-1, -1, states.shape[-1]))


def _rms_normalise(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


CALL_DECISIONS = ("pairwise", "softmax")


def check_call_decision(rule: str) -> str:
    """``rule`` when it is one of :data:`CALL_DECISIONS`; a ValueError naming them otherwise."""
    if rule not in CALL_DECISIONS:
        raise ValueError(f"call_decision '{rule}' is not one of {', '.join(CALL_DECISIONS)}")
    return rule


def no_call_probability(logits: torch.Tensor, temperature: float = 1.0, rule: str = "pairwise") -> torch.Tensor:
    """The probability the call / no-call decision reads, from selector scores ``[..., T + 1]``
    (``NO_CALL`` last; absent tools ``-inf``): NO_CALL calls no tool when it is at least the
    calibrated threshold.

    ``"pairwise"``: NO_CALL against the best tool alone, ``sigmoid((s_NO_CALL - max_f s_f) / T)``.
    It does not fall as more tools share the softmax's mass, so one threshold serves one tool
    and seven (on the NESTFUL dev set, fresh decisions: AUC of call / no-call 0.810, against
    0.806 for the softmax's at temperature 1 and 0.765 at 2.83). ``"softmax"``: ``P(NO_CALL)`` of
    the softmax over every candidate, the rule of models calibrated before ``call_decision``
    was saved."""
    scaled = logits.float() / temperature
    if check_call_decision(rule) == "softmax":
        return torch.softmax(scaled, dim=-1)[..., -1]
    return torch.sigmoid(scaled[..., -1] - scaled[..., :-1].max(-1).values)


def decision_targets(targets: torch.Tensor, n_tools: int) -> torch.Tensor:
    """Map ``NO_CALL`` (-1) to the last candidate slot; keep ``IGNORE`` (-100)."""
    return torch.where(targets == NO_CALL, torch.full_like(targets, n_tools), targets)
