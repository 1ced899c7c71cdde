"""Function-call metrics against reference calls (fc-finetune); see fc_finetune.evaluation.metrics."""

import json

import evaluate

from fc_finetune.evaluation.metrics import METRICS, score_turn, string_pairs_info, summarise

_DESCRIPTION = """Call / no-call accuracy, function selection accuracy, irrelevance accuracy, argument exact
match, AST accuracy, full-call accuracy and schema validity of predicted function calls
against the reference calls of the same turn."""
_KWARGS = """
Args:
    predictions: JSON strings, each the list of calls the model made ([{"name", "arguments"}]).
    references: JSON strings, each {"tool_calls": [...] (empty or absent: no call expected), "tools": [...]}.
Returns:
    one rate per metric (None when nothing counts for it, e.g. irrelevance without no-call turns),
    and "counts": {metric: {"correct", "total"}}.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class FcCallMetrics(evaluate.Metric):
    def _info(self):
        return string_pairs_info(_DESCRIPTION, _KWARGS)

    def _compute(self, predictions, references):
        scores = []
        for prediction, reference in zip(predictions, references, strict=True):
            ref = json.loads(reference)
            scores.append(score_turn({"tool_calls": ref.get("tool_calls") or []}, json.loads(prediction) or [],
                                     ref.get("tools") or []))
        summary = summarise(scores)["metrics"]
        out = {name: summary[name]["rate"] for name in METRICS}
        out["counts"] = {name: {"correct": summary[name]["correct"], "total": summary[name]["total"]}
                         for name in METRICS}
        return out
