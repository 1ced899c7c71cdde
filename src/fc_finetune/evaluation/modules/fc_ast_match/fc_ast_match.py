"""BFCL-style AST accuracy of function calls (fc-finetune); see fc_finetune.evaluation.ast_match."""

import json
from collections import Counter

import evaluate

from fc_finetune.evaluation.ast_match import REASONS, match_calls
from fc_finetune.evaluation.metrics import string_pairs_info

_DESCRIPTION = """AST accuracy as the Berkeley Function Calling Leaderboard defines it: each prediction (a
JSON list of calls {"name", "arguments"}) is matched against the possible answers of its
reference (a JSON object {"possible_answers": [{function: {param: [allowed values]}}] or
null when no call is expected, "tools": [OpenAI-style tools]})."""
_KWARGS = """
Args:
    predictions: JSON strings, each the list of calls the model made.
    references: JSON strings, each {"possible_answers": ..., "tools": ...}.
Returns:
    ast_accuracy: the fraction of predictions that match.
    reasons: {reason: count} over the predictions ("correct", "wrong_value", ...).
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class FcAstMatch(evaluate.Metric):
    def _info(self):
        return string_pairs_info(_DESCRIPTION, _KWARGS)

    def _compute(self, predictions, references):
        reasons = Counter()
        for prediction, reference in zip(predictions, references, strict=True):
            ref = json.loads(reference)
            reasons[match_calls(json.loads(prediction), ref.get("possible_answers"), ref.get("tools") or []).reason] += 1
        total = sum(reasons.values())
        return {"ast_accuracy": reasons["correct"] / total if total else 0.0,
                "reasons": {reason: reasons[reason] for reason in REASONS if reasons[reason]}}
