"""ROUGE-L and corpus BLEU of responses (fc-finetune); see fc_finetune.evaluation.text_metrics."""

import evaluate

from fc_finetune.evaluation.metrics import string_pairs_info
from fc_finetune.evaluation.text_metrics import bleu, rouge_l

_DESCRIPTION = """Overlap of generated responses with reference responses: mean ROUGE-L F1 (lower-cased word
tokens, longest common subsequence) and corpus BLEU-4 (13a-like tokens, exp smoothing,
brevity penalty). Both in [0, 1]. Pure Python, no extra dependency."""
_KWARGS = """
Args:
    predictions: generated response texts.
    references: one reference text per prediction.
Returns:
    rouge_l: mean ROUGE-L F1.
    bleu: corpus BLEU.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class FcResponse(evaluate.Metric):
    def _info(self):
        return string_pairs_info(_DESCRIPTION, _KWARGS)

    def _compute(self, predictions, references):
        return {"rouge_l": rouge_l(predictions, references), "bleu": bleu(predictions, references)}
