"""Bundled synthetic function-calling data: a catalogue of fake tools and a seeded generator.

A package beside ``fc_finetune``, not part of the library: training and inference never
import it. The catalogue is data (``catalogue/*.yaml``: each function's definition, request
and answer templates) joined by name with Python (``functions/*.py``: argument samplers and
deterministic fake implementations). It imports ``fc_finetune``'s record schema, registry
and cache helpers; ``fc-finetune data generate`` runs it, and ``fc-finetune eval`` hands the
evaluation its implementations as a registry (:func:`fc_synthetic.registry.catalogue_registry`).

>>> from fc_synthetic import CATALOGUE, generate_mix
>>> len(CATALOGUE) >= 50
True
>>> train, evaluation = generate_mix(n_train=30, n_eval=10, seed=0, heldout_functions=6)
>>> sorted({r["meta"]["kind"] for r in train}) == sorted(KINDS)
True

Every record is synthetic: user requests are filled from templates, tool outputs come from
deterministic fake implementations, and answers are written from those outputs. See
``data/README.md`` for the mix, the function list and how to regenerate the bundled files.
"""

from __future__ import annotations

from .chains import CHAINS, Chain
from .functions import BY_NAME, CATALOGUE, DOMAINS
from .generator import KINDS, NEAR_MISS_RATE, Pools, RecordBuilder
from .masking import mask_record
from .mix import (
    DEFAULT_LIBRARY_RATE,
    DEFAULT_MASK_RATE,
    DEFAULT_PROPORTIONS,
    choose_heldout,
    generate_mix,
    kind_counts,
    normalise_proportions,
    split_stats,
    write_mix,
)
from .spec import FunctionSpec

__all__ = [
    "BY_NAME", "CATALOGUE", "CHAINS", "DEFAULT_LIBRARY_RATE", "DEFAULT_MASK_RATE", "DEFAULT_PROPORTIONS", "DOMAINS",
    "KINDS", "NEAR_MISS_RATE",
    "Chain", "FunctionSpec", "Pools", "RecordBuilder", "choose_heldout", "generate_mix", "kind_counts", "mask_record",
    "normalise_proportions", "split_stats", "write_mix",
]
