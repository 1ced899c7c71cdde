"""Fetch the BFCL evaluation data from the ``bfcl-eval`` wheel, without installing it.

``fc-finetune data fetch-bfcl`` downloads the pinned wheel with ``pip download
--no-deps`` and extracts every category's questions and possible answers into
``<cache>/bfcl/<version>/`` together with an ``index.json`` of what is there. The data
is for evaluation only: it must never be mixed into training.

Layout (mirrors ``bfcl_eval/data`` in the wheel)::

    <cache>/bfcl/<version>/BFCL_v4_<category>.json            questions, JSON lines
    <cache>/bfcl/<version>/possible_answer/BFCL_v4_<category>.json
    <cache>/bfcl/<version>/multi_turn_func_doc/*.json           tool docs of multi-turn sets
    <cache>/bfcl/<version>/index.json                           categories and counts
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..errors import DataFetchError
from ..utils.cache import atomic_directory, cache_dir, cache_root, remove_stale_temporaries
from ..utils.pip_fetch import download_wheel, open_wheel, sha256_file

logger = logging.getLogger(__name__)

BFCL_PACKAGE = "bfcl-eval"
BFCL_VERSION = "2026.3.23"
_DATA_PREFIX = "bfcl_eval/data/"
_SKIP = ("unused_datasets/",)
_CATEGORY = re.compile(r"^BFCL_v\d+_(?P<cat>[a-z_]+)\.json$")
INDEX = "index.json"


def bfcl_dir(version: str = BFCL_VERSION) -> Path:
    """Where the extracted data of ``version`` lives (may not exist yet)."""
    return cache_root() / "bfcl" / version


def _read_ids(path: Path, member: str) -> list[str]:
    """Parse a JSON-lines file and return its ids; fail clearly on a bad line."""
    ids = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                ids.append(json.loads(line)["id"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataFetchError(f"'{member}' line {lineno} is not a BFCL record with an 'id': {exc}.") from exc
    return ids


def _subset_of(path: Path) -> dict[str, int] | None:
    """Some files (e.g. format_sensitivity) are one JSON object {category: [ids]}, naming a
    subset of other categories rather than holding questions. Return {category: count}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
        return {k: len(v) for k, v in data.items()}
    return None


def _index(root: Path, version: str, wheel_sha256: str) -> dict:
    categories, subsets = {}, {}
    for question_file in sorted(root.glob("BFCL_v*_*.json")):
        match = _CATEGORY.match(question_file.name)
        if not match:
            continue
        subset = _subset_of(question_file)
        if subset is not None:
            subsets[match["cat"]] = {"file": question_file.name, "ids_per_category": subset}
            continue
        ids = _read_ids(question_file, question_file.name)
        answer_file = root / "possible_answer" / question_file.name
        answers = _read_ids(answer_file, f"possible_answer/{answer_file.name}") if answer_file.is_file() else None
        missing = sorted(set(ids) - set(answers)) if answers is not None else []
        categories[match["cat"]] = {
            "file": question_file.name,
            "questions": len(ids),
            "possible_answers": None if answers is None else len(answers),
            "questions_without_answer": len(missing),
        }
    if not categories:
        raise DataFetchError(f"No BFCL question files were found in the wheel (expected {_DATA_PREFIX}BFCL_v*_*.json).")
    return {"package": BFCL_PACKAGE, "version": version, "wheel_sha256": wheel_sha256,
            "categories": categories, "subsets": subsets}


def extract_bfcl(wheel: Path, target: Path, *, version: str) -> dict:
    """Extract the data files of a ``bfcl-eval`` wheel into ``target`` atomically."""
    remove_stale_temporaries(target)
    with open_wheel(wheel, error=DataFetchError) as zf, atomic_directory(target, overwrite=True) as tmp:
        members = [m for m in zf.namelist() if m.startswith(_DATA_PREFIX) and not m.endswith("/")]
        members = [m for m in members if not m[len(_DATA_PREFIX):].startswith(_SKIP)]
        for member in members:
            rel = PurePosixPath(member[len(_DATA_PREFIX):])
            if rel.is_absolute() or ".." in rel.parts:
                raise DataFetchError(f"'{wheel}' holds an unsafe path '{member}'; refusing to extract it.")
            dest = tmp.joinpath(*rel.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                dest.write_bytes(zf.read(member))
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise DataFetchError(f"'{wheel}' is corrupt: reading '{member}' failed ({exc}). Delete it and fetch again.") from exc
        index = _index(tmp, version, sha256_file(wheel))
        (tmp / INDEX).write_text(json.dumps(index, indent=2) + "\n")
    return index


def fetch_bfcl(*, version: str = BFCL_VERSION, wheel: Path | None = None, force: bool = False) -> Path:
    """Make the BFCL data of ``version`` available under the cache and return its folder."""
    target = bfcl_dir(version)
    if (target / INDEX).is_file() and not force:
        logger.info("BFCL %s is already in %s", version, target)
        return target
    if wheel is None:
        wheel = download_wheel(BFCL_PACKAGE, version, cache_dir("downloads"), error=DataFetchError)
    index = extract_bfcl(Path(wheel), target, version=version)
    logger.info("Extracted %d BFCL categories into %s", len(index["categories"]), target)
    return target


def load_index(version: str = BFCL_VERSION) -> dict:
    """The ``index.json`` of a fetched version; a clear error when it was never fetched."""
    path = bfcl_dir(version) / INDEX
    if not path.is_file():
        raise DataFetchError(f"BFCL {version} is not fetched ({path} is missing). Run `fc-finetune data fetch-bfcl`.")
    return json.loads(path.read_text())
