"""The train/eval mix: proportions of each kind, held-out functions, writing to disk.

``generate_mix`` draws ``n_train`` and ``n_eval`` records from one seed. ``heldout_functions``
functions (one per domain, never a domain's last function) are removed from training
entirely: they are never offered, called, chained or used as distractors there. In eval,
a call example targets a held-out function with probability ``heldout_share``, so the
selector can be measured on tools it never saw. The same arguments always produce
byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from pathlib import Path

from fc_finetune import __version__
from fc_finetune.data.schema import validate_record
from fc_finetune.errors import DataError
from fc_finetune.utils.cache import atomic_file

from .chains import CHAINS
from .functions import CATALOGUE, DOMAINS, NEVER_HELD_OUT
from .generator import KINDS, LOOKALIKE_RATE, NEAR_MISS_RATE, REPEAT_RATE, Pools, RecordBuilder
from .library import library_tools, library_versions, split_library

logger = logging.getLogger(__name__)

DEFAULT_PROPORTIONS: dict[str, float] = {
    "single": 0.25, "parallel": 0.22, "sequential": 0.08, "multi_turn": 0.08,
    "no_call_irrelevant": 0.27, "no_call_chitchat": 0.10,
}
DEFAULT_MASK_RATE = 0.3
DEFAULT_LIBRARY_RATE = 0.5


def normalise_proportions(proportions: dict[str, float] | None) -> dict[str, float]:
    """Check the kinds and weights and scale them to sum to 1 (missing kinds get 0)."""
    given = dict(DEFAULT_PROPORTIONS if proportions is None else proportions)
    unknown = sorted(set(given) - set(KINDS))
    if unknown:
        raise ValueError(f"Unknown example kind(s) {unknown} in proportions; expected some of {list(KINDS)}.")
    if any(not isinstance(v, int | float) or v < 0 for v in given.values()):
        raise ValueError(f"Proportions must be non-negative numbers, got {given}.")
    total = sum(given.values())
    if total <= 0:
        raise ValueError("Proportions sum to 0: give at least one kind a positive weight.")
    return {kind: given.get(kind, 0) / total for kind in KINDS}


def kind_counts(n: int, proportions: dict[str, float]) -> dict[str, int]:
    """Exact counts summing to ``n`` (largest remainder), so the mix matches the request."""
    raw = {kind: n * p for kind, p in proportions.items()}
    counts = {kind: int(value) for kind, value in raw.items()}
    by_remainder = sorted(raw, key=lambda k: (-(raw[k] - counts[k]), KINDS.index(k)))
    for kind in by_remainder[: n - sum(counts.values())]:
        counts[kind] += 1
    return counts


def choose_heldout(seed: int, k: int) -> list[str]:
    """``k`` function names to hold out, spread over domains; each domain keeps >= 1 function in training."""
    holdable = {domain: names for domain, names in DOMAINS.items() if domain not in NEVER_HELD_OUT}
    capacity = sum(len(names) - 1 for names in holdable.values())
    if not 0 <= k <= capacity:
        raise ValueError(f"heldout_functions must be between 0 and {capacity} (every domain keeps one function "
                         f"for training), got {k}.")
    rng = random.Random(f"fc-finetune-heldout-{seed}")
    domains = sorted(holdable)
    rng.shuffle(domains)
    remaining = {d: rng.sample(holdable[d], len(holdable[d])) for d in domains}
    picked: list[str] = []
    while len(picked) < k:
        for domain in domains:
            if len(picked) < k and len(remaining[domain]) > 1:
                picked.append(remaining[domain].pop())
    return sorted(picked)


def _split(n: int, kinds: dict[str, int], builder: RecordBuilder, split: str, seed: int) -> list[dict]:
    order = [kind for kind in KINDS for _ in range(kinds[kind])]
    builder.rng.shuffle(order)
    records = []
    for index, kind in enumerate(order):
        record = builder.build(kind)
        meta = record["meta"]
        record["meta"] = {"source": meta["source"], "kind": kind, "split": split, "index": index, "seed": seed,
                          **{k: v for k, v in meta.items() if k not in ("source", "kind")}}
        records.append(record)
    return records


def generate_mix(n_train: int = 3000, n_eval: int = 300, seed: int = 0, heldout_functions: int = 6,
                 proportions: dict[str, float] | None = None, *, heldout_share: float = 0.5,
                 system_prompt_rate: float = 0.5, max_tools: int = 6, mask_rate: float = DEFAULT_MASK_RATE,
                 lookalike_rate: float = LOOKALIKE_RATE, repeat_rate: float = REPEAT_RATE,
                 near_miss_rate: float = NEAR_MISS_RATE,
                 library_rate: float = DEFAULT_LIBRARY_RATE) -> tuple[list[dict], list[dict]]:
    """Generate the synthetic train and eval records (canonical format, ``meta.kind`` etc.).

    ``mask_rate`` of the training records get random function and parameter names
    (:mod:`fc_synthetic.masking`); eval records never do. ``lookalike_rate``: share of the
    requests for an unavailable catalogue function that are offered a look-alike first;
    ``near_miss_rate``: share of those requests offered, instead, a function of the same
    domain that cannot serve them (where the domain has one); ``repeat_rate``: share of
    parallel turns that repeat one call with one value changed; ``library_rate``: share of the
    distractor slots filled with real library functions (:mod:`fc_synthetic.library`), the eval
    split's from a fifth of them training never offers.

    >>> train, evaluation = generate_mix(20, 10, seed=1, heldout_functions=3)
    >>> len(train), len(evaluation)
    (20, 10)
    """
    if n_train < 0 or n_eval < 0:
        raise ValueError(f"Record counts must be >= 0, got n_train={n_train}, n_eval={n_eval}.")
    if not 0 <= heldout_share <= 1:
        raise ValueError(f"heldout_share must be in [0, 1], got {heldout_share}.")
    weights = normalise_proportions(proportions)
    heldout = frozenset(choose_heldout(seed, heldout_functions))
    seen = [spec for spec in CATALOGUE if spec.name not in heldout]
    train_chains = [c for c in CHAINS if c.first not in heldout and c.second not in heldout]
    train_kinds, eval_kinds = kind_counts(n_train, weights), kind_counts(n_eval, weights)
    if not train_chains and train_kinds["sequential"]:
        logger.warning("Every sequential chain uses a held-out function: %d sequential training records become "
                       "parallel ones.", train_kinds["sequential"])
        train_kinds["parallel"] += train_kinds.pop("sequential")
        train_kinds["sequential"] = 0
    train_library, eval_library = split_library(library_tools()) if library_rate else ([], [])
    train_pools = Pools(targets=seen, offerable=seen, chains=train_chains, library=train_library)
    eval_pools = Pools(targets=list(CATALOGUE), offerable=list(CATALOGUE), chains=list(CHAINS), heldout=heldout,
                       heldout_share=heldout_share if heldout else 0.0, library=eval_library)
    engine = {"lookalike_rate": lookalike_rate, "repeat_rate": repeat_rate, "near_miss_rate": near_miss_rate,
              "library_rate": library_rate}
    train_builder = RecordBuilder(random.Random(seed * 2 + 1), train_pools, system_prompt_rate=system_prompt_rate,
                                  max_tools=max_tools, mask_rate=mask_rate, **engine)
    eval_builder = RecordBuilder(random.Random(seed * 2 + 2), eval_pools, system_prompt_rate=system_prompt_rate,
                                 max_tools=max_tools, **engine)
    train = _split(n_train, train_kinds, train_builder, "train", seed)
    evaluation = _split(n_eval, eval_kinds, eval_builder, "eval", seed)
    logger.info("Generated %d train and %d eval records (seed %d, held out: %s)", len(train), len(evaluation), seed,
                ", ".join(sorted(heldout)) or "none")
    return train, evaluation


def split_stats(records: list[dict]) -> dict:
    """Counts a reader of ``stats.json`` wants: kinds, calls per function, tools offered, held-out use."""
    kinds = Counter(r["meta"]["kind"] for r in records)
    calls = Counter(r["meta"].get("masked", {}).get(name, name) for r in records for name in r["meta"]["functions"])
    tools = Counter(len(r["tools"]) for r in records)
    n = max(len(records), 1)
    return {
        "records": len(records),
        "kinds": {kind: kinds.get(kind, 0) for kind in KINDS},
        "kind_fractions": {kind: round(kinds.get(kind, 0) / n, 4) for kind in KINDS},
        "calls": sum(calls.values()),
        "records_calling_heldout": sum(r["meta"]["heldout_function"] for r in records),
        "records_offering_heldout": sum(r["meta"]["offered_heldout"] for r in records),
        "near_misses": sum(bool(r["meta"].get("near_miss")) for r in records),
        "offering_library_tools": sum(bool(r["meta"].get("library_tools")) for r in records),
        "with_system_prompt": sum(r["messages"][0]["role"] == "system" for r in records),
        "masked": sum(bool(r["meta"].get("masked")) for r in records),  # calls are counted by catalogue name
        "tools_offered": {str(k): tools[k] for k in sorted(tools)},
        "calls_per_function": dict(sorted(calls.items())),
    }


def _write_jsonl(path: Path, records: list[dict]) -> None:
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False))
            fh.write("\n")


def generator_fingerprint() -> str:
    """A digest of everything the mix is written from: this package's code and catalogue, and the
    bundled chat tools it reads its definitions and outputs from, and the versions of the packages
    library tools are read from. ``stats.json`` keeps it, so a mix written by another version of
    the generator can be told apart and rewritten."""
    import fc_finetune.tools

    digest = hashlib.sha256()
    for package in (Path(__file__).parent, Path(fc_finetune.tools.__file__).parent):
        for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".yaml", ".json")):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(json.dumps(library_versions(), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def write_mix(out_dir: str | Path, n_train: int = 3000, n_eval: int = 300, seed: int = 0, heldout_functions: int = 6,
              proportions: dict[str, float] | None = None, *, heldout_share: float = 0.5,
              system_prompt_rate: float = 0.5, max_tools: int = 6, mask_rate: float = DEFAULT_MASK_RATE,
              lookalike_rate: float = LOOKALIKE_RATE, repeat_rate: float = REPEAT_RATE,
              near_miss_rate: float = NEAR_MISS_RATE, library_rate: float = DEFAULT_LIBRARY_RATE,
              validate: bool = True) -> dict:
    """Generate the mix and write ``train.jsonl``, ``eval.jsonl`` and ``stats.json`` under ``out_dir``.

    Each file is written to a temporary sibling and renamed into place. With ``validate``
    every record is checked with :func:`fc_finetune.data.schema.validate_record` first. Returns
    the statistics written to ``stats.json``.
    """
    train, evaluation = generate_mix(n_train, n_eval, seed, heldout_functions, proportions,
                                     heldout_share=heldout_share, system_prompt_rate=system_prompt_rate,
                                     max_tools=max_tools, mask_rate=mask_rate, lookalike_rate=lookalike_rate,
                                     repeat_rate=repeat_rate, near_miss_rate=near_miss_rate, library_rate=library_rate)
    if validate:
        for name, records in (("train.jsonl", train), ("eval.jsonl", evaluation)):
            for index, record in enumerate(records):
                try:
                    validate_record(record)
                except DataError as exc:
                    raise exc.located(source=name, index=index) from None
    heldout = choose_heldout(seed, heldout_functions)
    called_in_eval = sorted({name for r in evaluation for name in r["meta"]["functions"] if name in heldout})
    stats = {
        "generator": "fc_synthetic", "version": __version__, "fingerprint": generator_fingerprint(), "synthetic": True,
        "seed": seed, "max_tools": max_tools, "mask_rate": mask_rate, "lookalike_rate": lookalike_rate,
        "repeat_rate": repeat_rate, "near_miss_rate": near_miss_rate, "library_rate": library_rate,
        "library_packages": library_versions() if library_rate else {}, "heldout_functions": heldout,
        "heldout_functions_called_in_eval": called_in_eval, "heldout_share": heldout_share,
        "system_prompt_rate": system_prompt_rate, "proportions_requested": normalise_proportions(proportions),
        "catalogue_size": len(CATALOGUE), "domains": {d: list(names) for d, names in DOMAINS.items()},
        "splits": {"train": split_stats(train), "eval": split_stats(evaluation)},
    }
    out = Path(out_dir)
    _write_jsonl(out / "train.jsonl", train)
    _write_jsonl(out / "eval.jsonl", evaluation)
    with atomic_file(out / "stats.json") as tmp:
        tmp.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("Wrote %s/{train,eval}.jsonl and stats.json", out)
    return stats
