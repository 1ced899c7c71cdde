"""Text overlap of generated responses with reference responses: ROUGE-L and corpus BLEU.

Pure Python, no dependencies; both return a value in ``[0, 1]`` (not ``x100``).

- :func:`rouge_l`: the mean over pairs of the ROUGE-L F1 (beta = 1) of one prediction and
  its reference, from the longest common subsequence of their tokens. Tokens: the text is
  lower-cased and split on everything that is not a letter or a digit (as
  ``rouge_score``'s default tokenizer, without stemming). A pair where either side has no
  token scores 0.
- :func:`bleu`: corpus BLEU (Papineni et al. 2002) with one reference per prediction:
  clipped n-gram matches and n-gram counts for n = 1..4 are summed over the corpus, the
  geometric mean of the four precisions is multiplied by the brevity penalty
  ``exp(1 - r / c)`` (when the predictions' total length c is shorter than the
  references' r). Tokens: words (runs of letters, digits and ``_``) and every other
  non-space character on its own, case kept, close to sacrebleu's ``13a`` tokenizer.
  Smoothing, for short texts whose higher-order precision is zero: sacrebleu's ``exp``
  method: the k-th order with no match (k = 1, 2, ...) counts as ``1 / (2**k * total_n)``.
  Orders with no n-gram in any prediction at all (every prediction shorter than n) are
  left out of the mean. An empty corpus, or predictions without tokens, score 0.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_ROUGE_TOKEN = re.compile(r"[^\W_]+")
_BLEU_TOKEN = re.compile(r"\w+|[^\w\s]")
MAX_ORDER = 4


def _check(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references; they must pair up")


def rouge_tokens(text: str) -> list[str]:
    """ROUGE tokens: lower-cased runs of letters and digits.

    >>> rouge_tokens("The cat's hat, 2 times!")
    ['the', 'cat', 's', 'hat', '2', 'times']
    """
    return _ROUGE_TOKEN.findall(text.lower())


def bleu_tokens(text: str) -> list[str]:
    """BLEU tokens: words, and every other non-space character on its own (case kept).

    >>> bleu_tokens("Paris is 21 °C, sunny.")
    ['Paris', 'is', '21', '°', 'C', ',', 'sunny', '.']
    """
    return _BLEU_TOKEN.findall(text)


def _lcs(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (one row of the dynamic programme at a time)."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l_pair(prediction: str, reference: str) -> float:
    """ROUGE-L F1 of one prediction against one reference."""
    pred, ref = rouge_tokens(prediction), rouge_tokens(reference)
    if not pred or not ref:
        return 0.0
    common = _lcs(pred, ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F1 over (prediction, reference) pairs; 0 for no pairs.

    >>> round(rouge_l(["the cat sat on the mat"], ["the cat is on the mat"]), 4)
    0.8333
    """
    _check(predictions, references)
    if not predictions:
        return 0.0
    return sum(rouge_l_pair(p, r) for p, r in zip(predictions, references, strict=True)) / len(predictions)


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU-4 with exp smoothing and the brevity penalty; see the module docstring.

    >>> round(bleu(["the cat sat on the mat"], ["the cat is on the mat"]), 4)
    0.3799
    """
    _check(predictions, references)
    matches, totals = [0] * MAX_ORDER, [0] * MAX_ORDER
    hyp_len = ref_len = 0
    for prediction, reference in zip(predictions, references, strict=True):
        hyp, ref = bleu_tokens(prediction), bleu_tokens(reference)
        hyp_len, ref_len = hyp_len + len(hyp), ref_len + len(ref)
        for n in range(1, MAX_ORDER + 1):
            hyp_grams, ref_grams = _ngrams(hyp, n), _ngrams(ref, n)
            matches[n - 1] += sum(min(count, ref_grams[gram]) for gram, count in hyp_grams.items())
            totals[n - 1] += sum(hyp_grams.values())
    if hyp_len == 0:
        return 0.0
    log_precisions, unmatched = [], 0
    for match, total in zip(matches, totals, strict=True):
        if total == 0:
            continue
        if match == 0:
            unmatched += 1
            log_precisions.append(-math.log(2 ** unmatched * total))
        else:
            log_precisions.append(math.log(match / total))
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return brevity * math.exp(sum(log_precisions) / len(log_precisions))
