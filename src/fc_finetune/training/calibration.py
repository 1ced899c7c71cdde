"""Calibrate the selector on held-out decisions: a temperature and two NO_CALL thresholds.

The selector's softmax is fit by temperature scaling (one scalar, NLL on held-out
decisions), which leaves its argmax unchanged but makes its probabilities honest. The
call / don't-call decision then uses a threshold on ``P(NO_CALL)`` against the best tool
(``sigmoid((s_NO_CALL - max_f s_f) / T)``, :func:`~fc_finetune.model.heads.no_call_probability`),
chosen to maximise balanced accuracy between "should call" and "should not call" decisions.
Against the best tool, not the softmax's share: that share falls as more tools split the
mass, so a threshold fit where requests meet two tools calls too often where they meet seven.

Two questions are asked at decision points, and they get a threshold each:

* fresh decisions (no call made since the request): should this request get a call at all?
  (``no_call_threshold``);
* served decisions (calls already made since the request, in this turn or the ones before):
  does the request need another call? (``more_calls_threshold``). After a call ``P(NO_CALL)``
  is high for both answers (most turns make one call), so one threshold for both questions
  either stops every turn after its first call or calls where nothing should be called.
  A more-calls fit whose balanced accuracy the same fit reaches with the answers shuffled
  (p >= 0.05, :func:`chance_p_value`) is not used (the NO_CALL threshold then serves both, as
  when too few decisions follow calls): on
  the NESTFUL dev set a short run's decisions after calls are few (55, 9 "another call"), and
  a threshold fitted there at 0.58 or 0.53 is noise that moves from run to run (0.43, 0.04,
  0.005) while setting it aside changed no verdict on the mix's held-out parallel records.
  NESTFUL makes one call per turn, so its decisions after calls all follow tool results; the
  more-calls threshold can be fit on another set's decisions after calls (``more_calls`` of
  :func:`calibrate_selector`; ``more_calls_data`` in training, ``--more-calls-data`` in
  ``fc-finetune calibrate``), such as one with several calls in a turn.

All are stored with the model (``fc_finetune_config.json``) and used at inference.

The fitted temperature minimises the held-out NLL, which does not always lower the
expected calibration error: when the fit's ECE on the held-out decisions is above that of
the current temperature (1.0 for a model never calibrated), the current one is kept, the
thresholds are fitted under it, and both figures are reported (``fitted_temperature``,
``ece_fitted``, ``temperature_kept``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields

import torch
from torch.nn import functional as F

from ..data.contract import IGNORE
from ..model.heads import decision_targets, no_call_probability, served_calls

logger = logging.getLogger(__name__)


@dataclass
class SelectorCalibration:
    temperature: float
    no_call_threshold: float
    decisions: int
    ece_before: float
    ece_after: float
    accuracy: float  # argmax over tools + NO_CALL
    call_decision_accuracy: float  # balanced accuracy of call vs no-call with the threshold (fresh decisions)
    more_calls_threshold: float | None = None  # served decisions; None: too few of both answers to fit
    more_calls_accuracy: float | None = None  # balanced accuracy of another call vs done (served decisions)
    more_calls_fitted: float | None = None  # the more-calls fit, whether used or not (see chance_p_value)
    more_calls_p_value: float | None = None  # the fit's accuracy reached with answers shuffled (chance_p_value)
    served_decisions: int = 0
    fitted_temperature: float | None = None  # the NLL fit, whether kept or not
    ece_fitted: float | None = None  # ECE under the fitted temperature
    temperature_kept: bool = False  # the fit raised ECE: the temperature before calibration is kept
    call_decision: str = "pairwise"  # what the thresholds read (model.heads.no_call_probability)

    @classmethod
    def from_dict(cls, values: dict) -> SelectorCalibration:
        """The calibration a ``to_dict`` wrote (train_summary.json), extra keys such as ``data`` ignored."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def collect_decisions(model, dataloader) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Selector logits ``[N, C]`` (NO_CALL last, padded candidates ``-inf``), targets ``[N]`` and
    which decisions are served ``[N]`` (calls were made since their request)."""
    rows, width = [], 0
    was_training = model.training
    model.eval()
    for batch in dataloader:
        batch = {k: v.to(model.device) for k, v in batch.items()}
        out = model(**batch)
        if out.select_logits is None:
            continue
        n_tools = batch["tool_mask"].shape[1]
        target = decision_targets(batch["decision_target"], n_tools)
        keep = (batch["decision_pos"] >= 0) & (target != IGNORE)
        logits = out.select_logits[keep].float().cpu()
        # Move NO_CALL to a fixed last column so batches with different tool counts stack.
        tgt = target[keep].cpu()
        served = served_calls(batch["call_spans"], batch["decision_request"], batch["decision_pos"]).any(-1)
        rows.append((logits, tgt, n_tools, served[keep].cpu()))
        width = max(width, n_tools + 1)
    model.train(was_training)
    all_logits, all_targets, all_served = [], [], []
    for logits, tgt, n_tools, served in rows:
        padded = torch.full((logits.shape[0], width), float("-inf"))
        padded[:, :n_tools] = logits[:, :n_tools]
        padded[:, -1] = logits[:, n_tools]
        all_logits.append(padded)
        all_targets.append(torch.where(tgt == n_tools, torch.full_like(tgt, width - 1), tgt))
        all_served.append(served)
    if not all_logits:
        return torch.empty(0, 1), torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.bool)
    return torch.cat(all_logits), torch.cat(all_targets), torch.cat(all_served)


def expected_calibration_error(probs: torch.Tensor, targets: torch.Tensor, bins: int = 10) -> float:
    """ECE of the top-1 prediction (confidence vs accuracy over equal-width bins)."""
    confidence, predicted = probs.max(-1)
    correct = (predicted == targets).float()
    ece = torch.zeros(())
    edges = torch.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            ece += inside.float().mean() * (confidence[inside].mean() - correct[inside].mean()).abs()
    return float(ece)


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, steps: int = 200) -> float:
    """The scalar T minimising held-out NLL of ``softmax(logits / T)``."""
    log_t = torch.zeros((), requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def balanced_call_accuracy(p_no_call: torch.Tensor, should_not_call: torch.Tensor, threshold: float) -> float:
    """Mean recall of 'call' and 'no call' when NO_CALL wins at ``P(NO_CALL) >= threshold``
    (plain accuracy when only one of the two occurs)."""
    predicted_no = p_no_call >= threshold
    recalls = [float((predicted_no[mask] == want).float().mean()) for mask, want in
               ((should_not_call, True), (~should_not_call, False)) if mask.any()]
    return sum(recalls) / len(recalls)


SHUFFLES, CHANCE_LEVEL = 200, 0.05


def chance_p_value(p_no_call: torch.Tensor, should_not_call: torch.Tensor, balanced: float,
                   shuffles: int = SHUFFLES, seed: int = 0) -> float:
    """How often :func:`fit_no_call_threshold` reaches balanced accuracy ``balanced`` or more on
    these decisions with their answers shuffled (a permutation test, seeded). The fit picks its
    threshold on the decisions it is scored on, so on few decisions noise alone scores above
    0.5 (55 decisions, 9 of one answer: about 0.59, more than one standard error above it)."""
    g = torch.Generator().manual_seed(seed)
    reached = 0
    for _ in range(shuffles):
        shuffled = should_not_call[torch.randperm(len(should_not_call), generator=g)]
        reached += fit_no_call_threshold(p_no_call, shuffled)[1] >= balanced - 1e-9
    return (reached + 1) / (shuffles + 1)


MIN_PER_ANSWER = 30  # fewer of either answer: the thresholds come from a balanced logistic fit


def fit_no_call_threshold(p_no_call: torch.Tensor, should_not_call: torch.Tensor) -> tuple[float, float]:
    """Threshold t (call iff P(NO_CALL) < t) and its balanced accuracy on these decisions.

    With at least ``MIN_PER_ANSWER`` decisions of each answer, t maximises balanced accuracy.
    With fewer of either, that maximum rests on a handful of decisions and lands at an
    extreme: on the NESTFUL dev set the quickstart's 60 decisions after calls (13 "another
    call") put the more-calls threshold at 0.0001 (stop after nearly every first call), balanced
    accuracy 0.58 on the other records' decisions, where the best threshold there gets 0.68.
    Then t is where a logistic regression of "should not call" on the log-odds of
    ``P(NO_CALL)``, both answers weighted equally, crosses one half (0.0095 there, held out
    0.65); with 30 or more of each the maximum did better (fresh decisions, 47 and 46: held
    out 0.74 against 0.72)."""
    if should_not_call.all() or (~should_not_call).all():
        return 0.5, balanced_call_accuracy(p_no_call, should_not_call, 0.5)
    fewest = min(int(should_not_call.sum()), int((~should_not_call).sum()))
    if fewest < MIN_PER_ANSWER:
        t = _balanced_logistic_threshold(p_no_call, should_not_call)
        if t is not None:
            return t, balanced_call_accuracy(p_no_call, should_not_call, t)
    return _balanced_maximum(p_no_call, should_not_call)


def _balanced_maximum(p_no_call: torch.Tensor, should_not_call: torch.Tensor) -> tuple[float, float]:
    """The lowest of the thresholds (every P(NO_CALL) seen, and 0.5) with the highest
    :func:`balanced_call_accuracy`, and that accuracy, from sorted counts: O(n log n), so the
    permutation test of :func:`chance_p_value` stays cheap on large dev sets."""
    candidates = torch.unique(torch.cat([p_no_call, torch.tensor([0.5], dtype=p_no_call.dtype)]))
    no, call = torch.sort(p_no_call[should_not_call]).values, torch.sort(p_no_call[~should_not_call]).values
    # recalls as balanced_call_accuracy computes them (a float32 mean), so ties break the same way
    no_recall = ((len(no) - torch.searchsorted(no, candidates)).float() / len(no)).double()
    call_recall = (torch.searchsorted(call, candidates).float() / len(call)).double()
    scores = (no_recall + call_recall) / 2
    best = int(torch.argmax(scores))  # the first maximum: the lowest threshold
    return float(candidates[best]), float(scores[best])


def _balanced_logistic_threshold(p_no_call: torch.Tensor, should_not_call: torch.Tensor) -> float | None:
    """Where ``sigmoid(a * logit(p) + b)``, fit with both answers weighted equally, is one half:
    ``sigmoid(-b / a)``. ``None`` when a higher P(NO_CALL) does not mean "should not call" (a <= 0)."""
    p = p_no_call.double().clamp(1e-12, 1 - 1e-12)
    x = torch.log(p) - torch.log1p(-p)
    y = should_not_call.double()
    weight = torch.where(should_not_call, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    a = torch.ones((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([a, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (weight * F.binary_cross_entropy_with_logits(a * x + b, y, reduction="none")).mean()
        loss.backward()
        return loss

    opt.step(closure)
    a, b = a.detach(), b.detach()
    if float(a) <= 0:
        return None
    return float(torch.sigmoid(-b / a))


def _fresh(served: torch.Tensor) -> torch.Tensor:
    """The decisions the NO_CALL threshold is fit on: those no call served (all, when every one was)."""
    return ~served if (~served).any() else torch.ones_like(served)


def _finite(logits: torch.Tensor) -> torch.Tensor:
    """Padded candidates (``-inf``, see :func:`collect_decisions`) made finite, so fits and their
    gradients stay finite."""
    return logits.masked_fill(torch.isinf(logits), -1e4)


def calibrate_selector(logits: torch.Tensor, targets: torch.Tensor, served: torch.Tensor | None = None, *,
                       temperature: float = 1.0, rule: str = "pairwise",
                       more_calls: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
                       ) -> SelectorCalibration | None:
    """Fit the temperature (all decisions), the NO_CALL threshold (fresh decisions) and the
    more-calls threshold (served decisions, when both answers occur among them) from collected
    held-out decisions. Without ``served`` every decision counts as fresh. ``temperature``: the
    selector's current one, kept when the fitted one has the higher ECE on these decisions;
    ``rule``: what the thresholds read (:func:`~fc_finetune.model.heads.no_call_probability`).
    ``more_calls``: ``(logits, targets, served)`` of another held-out set (as
    :func:`collect_decisions` gives them) whose served decisions fit the more-calls threshold
    instead, read under the temperature fitted here."""
    if targets.numel() < 10:
        logger.warning("Only %d held-out decisions: the selector is left uncalibrated", targets.numel())
        return None
    logits = _finite(logits)
    before = torch.softmax(logits / temperature, -1)
    ece_before = expected_calibration_error(before, targets)
    fitted = fit_temperature(logits, targets)
    ece_fitted = expected_calibration_error(torch.softmax(logits / fitted, -1), targets)
    kept = ece_fitted > ece_before
    if kept:
        logger.warning("The fitted selector temperature %.3f would raise the held-out ECE from %.3f to %.3f: "
                       "keeping temperature %.3f", fitted, ece_before, ece_fitted, temperature)
    else:
        temperature = fitted
    after = torch.softmax(logits / temperature, -1)
    p_no_call = no_call_probability(logits, temperature, rule)
    should_not_call = targets == logits.shape[1] - 1
    served = torch.zeros_like(should_not_call) if served is None else served
    fresh = _fresh(served)
    threshold, balanced = fit_no_call_threshold(p_no_call[fresh], should_not_call[fresh])
    more, more_balanced, more_fitted, more_p = None, None, None, None
    after_p, after_no = p_no_call[served], should_not_call[served]
    if more_calls is not None:
        more_logits, more_targets, more_served = more_calls
        more_logits = _finite(more_logits)
        after_p = no_call_probability(more_logits, temperature, rule)[more_served]
        after_no = (more_targets == more_logits.shape[1] - 1)[more_served]
    if after_no.any() and (~after_no).any():
        more_fitted, more_balanced = fit_no_call_threshold(after_p, after_no)
        more_p = chance_p_value(after_p, after_no, more_balanced)
        # Set aside at chance; every caller reports which (more_calls_text), so no log line here.
        more = more_fitted if more_p < CHANCE_LEVEL else None
    return SelectorCalibration(
        temperature=temperature, no_call_threshold=threshold, decisions=int(targets.numel()),
        ece_before=ece_before, ece_after=ece_before if kept else ece_fitted,
        accuracy=float((after.argmax(-1) == targets).float().mean()), call_decision_accuracy=balanced,
        more_calls_threshold=more, more_calls_accuracy=more_balanced, served_decisions=len(after_p),
        more_calls_fitted=more_fitted, more_calls_p_value=more_p,
        fitted_temperature=fitted, ece_fitted=ece_fitted, temperature_kept=kept, call_decision=rule)


@dataclass
class CalibrationReport:
    """The selector's figures on held-out decisions with its current settings, and the refit."""
    decisions: int
    no_call_decisions: int
    current_temperature: float
    current_threshold: float
    current_decision: str  # what the current threshold reads (model.heads.no_call_probability)
    current_ece: float
    current_balanced_accuracy: float
    fitted: SelectorCalibration | None  # None: too few decisions to fit


def calibrate_model(model, dataloader, more_calls_dataloader=None) -> CalibrationReport:
    """Collect ``model``'s teacher-forced decisions over ``dataloader`` and refit its selector
    calibration (the pairwise rule, whatever the model's); the more-calls threshold from the
    decisions after calls over ``more_calls_dataloader`` when given. The model is left unchanged
    (see :func:`apply_calibration`)."""
    logits, targets, served = collect_decisions(model, dataloader)
    temperature = model.selector_temperature
    more_calls = None if more_calls_dataloader is None else collect_decisions(model, more_calls_dataloader)
    fitted = calibrate_selector(logits, targets, served, temperature=temperature, more_calls=more_calls)
    clean = _finite(logits)
    threshold = 0.5 if model.no_call_threshold is None else model.no_call_threshold
    current = torch.softmax(clean / temperature, -1)
    current_no_call = no_call_probability(clean, temperature, model.call_decision)
    should_not = targets == logits.shape[1] - 1
    fresh = _fresh(served)
    return CalibrationReport(
        decisions=int(targets.numel()), no_call_decisions=int(should_not.sum()), current_temperature=temperature,
        current_threshold=threshold, current_decision=model.call_decision, current_ece=expected_calibration_error(current, targets) if targets.numel() else 0.0,
        current_balanced_accuracy=balanced_call_accuracy(current_no_call[fresh], should_not[fresh], threshold)
        if targets.numel() else 0.0, fitted=fitted)


def decision_text(rule: str) -> str:
    """What a NO_CALL threshold reads, in words."""
    return "P(NO_CALL) against the best tool" if rule == "pairwise" else "the softmax's P(NO_CALL)"


def temperature_text(fitted: SelectorCalibration) -> str:
    """One phrase on the temperature and the ECE, for logs and reports."""
    if fitted.temperature_kept:
        return (f"temperature {fitted.temperature:.3f} kept (ECE {fitted.ece_before:.3f}): the fitted "
                f"{fitted.fitted_temperature:.3f} would raise ECE to {fitted.ece_fitted:.3f}")
    return f"temperature {fitted.temperature:.3f}, ECE {fitted.ece_before:.3f} -> {fitted.ece_after:.3f}"


def more_calls_text(fitted: SelectorCalibration) -> str:
    """One phrase on the more-calls threshold, for logs and reports."""
    fit = fitted.more_calls_threshold if fitted.more_calls_fitted is None else fitted.more_calls_fitted
    if fit is None:
        return (f"more-calls threshold not fitted ({fitted.served_decisions} decisions after calls, "
                "not both answers among them): the NO_CALL threshold serves both")
    chance = "" if fitted.more_calls_p_value is None else f", p = {fitted.more_calls_p_value:.2f} against chance"
    figures = (f"another call / done balanced accuracy {fitted.more_calls_accuracy:.3f} over "
               f"{fitted.served_decisions} decisions after calls{chance}")
    if fitted.more_calls_threshold is None:
        return (f"more-calls threshold not used: its fit {fit:.4f} ({figures}) is no better than "
                "shuffled answers get, so the NO_CALL threshold serves both")
    return f"more-calls threshold {fitted.more_calls_threshold:.4f} ({figures})"


def apply_calibration(model, fitted: SelectorCalibration) -> None:
    """Use ``fitted``'s temperature and thresholds from now on (saved with the model)."""
    model.selector_temperature = fitted.temperature
    model.no_call_threshold = fitted.no_call_threshold
    model.more_calls_threshold = fitted.more_calls_threshold
    model.call_decision = fitted.call_decision
