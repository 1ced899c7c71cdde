"""The saved folder: every file name, the base fingerprint, and the code that reads and writes it.

:meth:`FunctionCallingModel.from_pretrained <fc_finetune.model.modeling.FunctionCallingModel.from_pretrained>`
builds a model from what this module reads; this module never imports modeling (it writes a
model it is handed through its ``lm``, ``heads`` and settings).

A saved folder is a plain peft adapter folder plus two small files, so plain
``PeftModel.from_pretrained(base, folder)`` still loads it and generates::

    adapter_config.json, adapter_model.safetensors    the LoRA adapter (peft)
    fc_heads.safetensors                              W, NO_CALL and U
    fc_finetune_config.json                           base model, its fingerprint, head settings
    tokenizer files + chat_template.jinja             the tokenizer with its tool template

Folders are written atomically (temporary folder, then rename). Nothing is pickled.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import snapshot_download
from peft import PeftModel
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .. import __version__
from ..errors import ModelLoadError, ModelNotFoundError
from ..utils.cache import atomic_directory, atomic_write_bytes
from .compat import quiet_library_deprecations
from .loading import load_tokenizer
from .zoo import BUNDLED_MODELS

logger = logging.getLogger(__name__)

CONFIG_NAME = "fc_finetune_config.json"
HEADS_NAME = "fc_heads.safetensors"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def base_fingerprint(config) -> dict:
    """What must match between the base a model was trained on and the one it is loaded onto."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return {"model_type": config.model_type, "hidden_size": text.hidden_size, "vocab_size": text.vocab_size,
            "num_hidden_layers": text.num_hidden_layers}


def hub_base_name(base_model: str) -> str:
    """The id written into adapter_config.json: a bundled alias becomes its upstream Hub id."""
    return BUNDLED_MODELS[base_model].upstream if base_model in BUNDLED_MODELS else base_model


def save_model(model, directory: str | os.PathLike, *, tokenizer=None, extra_files: dict[str, str] | None = None) -> Path:
    """Write ``model`` (adapter, heads, config) and ``tokenizer`` to ``directory`` atomically."""
    directory = Path(directory)
    with atomic_directory(directory, overwrite=True) as tmp:
        write_model_files(model, tmp, tokenizer=tokenizer, extra_files=extra_files)
    return directory


def write_model_files(model, folder: Path, *, tokenizer=None, extra_files: dict[str, str] | None = None,
                      state_dict: dict | None = None) -> None:
    """The files of a saved model, written into an existing ``folder`` (see :func:`save_model`).

    ``state_dict``: a full state dict of the wrapper (``lm.*`` and ``heads.*`` keys), as the
    Trainer gathers it under FSDP or ZeRO-3; by default the live parameters are saved."""
    tmp = Path(folder)
    peft_config = model.lm.peft_config["default"]
    original = peft_config.base_model_name_or_path
    peft_config.base_model_name_or_path = hub_base_name(model.base_model)
    try:
        lm_state = None if state_dict is None else {k[3:]: v for k, v in state_dict.items() if k.startswith("lm.")}
        model.lm.save_pretrained(tmp, safe_serialization=True, save_embedding_layers=False, state_dict=lm_state)
    finally:
        peft_config.base_model_name_or_path = original
    heads = model.heads.state_dict() if state_dict is None else \
        {k[6:]: v for k, v in state_dict.items() if k.startswith("heads.")}
    state = {k: v.detach().contiguous().cpu() for k, v in heads.items()}
    save_file(state, str(tmp / HEADS_NAME), metadata={"format": "pt", "fc_finetune": __version__})
    config = {
        "fc_finetune_version": __version__,
        "base_model": model.base_model,
        "base_fingerprint": model.fingerprint,
        "heads": asdict(model.head_args),
        "lora": asdict(model.lora_args) if model.lora_args else None,
        "call_format": model.call_format,
        "no_call_threshold": model.no_call_threshold,
        "more_calls_threshold": model.more_calls_threshold,
        "selector_temperature": model.selector_temperature,
        "call_decision": model.call_decision,
    }
    (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    if tokenizer is not None:
        tokenizer.save_pretrained(tmp)
    for name, text in (extra_files or {}).items():
        (tmp / name).write_text(text)


def move_saved_files(staging: Path, folder: Path) -> None:
    """Move a model saved in ``staging`` into ``folder`` (which may hold other files, such as
    checkpoints), renaming each file into place and the fc-finetune config last: until it
    lands, the folder is not a model. ``staging`` is removed."""
    (folder / CONFIG_NAME).unlink(missing_ok=True)
    names = sorted(p.name for p in staging.iterdir() if p.name != CONFIG_NAME) + [CONFIG_NAME]
    for name in names:
        os.replace(staging / name, folder / name)
    staging.rmdir()


def local_folder(name_or_path: str | os.PathLike, revision: str | None) -> Path:
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    text = str(name_or_path)
    if path.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1:
        raise ModelNotFoundError(f"Model folder '{path}' does not exist (nor is it a Hub id 'user/name').")
    try:
        return Path(snapshot_download(text, revision=revision))
    except Exception as exc:  # offline, missing repo, auth: one clear message
        raise ModelNotFoundError(f"Could not download '{text}' from the Hub ({type(exc).__name__}: {exc}). "
                                 "Check the id, your network and HF_TOKEN, or pass a local folder.") from exc


def read_config(folder: Path) -> dict:
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise ModelLoadError(f"'{folder}' is not an fc-finetune model: {CONFIG_NAME} is missing. "
                             "Point at a folder written by FunctionCallingModel.save_pretrained or `fc-finetune train`.")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"'{path}' is not valid JSON ({exc}); the model folder is corrupt.") from exc


def check_base(folder: Path, config: dict, base, base_name: str) -> None:
    """Refuse a base model whose fingerprint differs from the one the folder was trained on."""
    found = base_fingerprint(base.config)
    if found != config["base_fingerprint"]:
        diffs = ", ".join(f"{k}: trained {config['base_fingerprint'].get(k)} vs given {v}"
                          for k, v in found.items() if config["base_fingerprint"].get(k) != v)
        raise ModelLoadError(f"'{folder}' was trained on base '{config['base_model']}', which does not match "
                             f"'{base_name}' ({diffs}). Pass the right base with base_model=... / --base-model.")


def check_complete(folder: Path) -> None:
    for name in (ADAPTER_WEIGHTS, HEADS_NAME):
        if not (folder / name).is_file():
            raise ModelLoadError(f"'{folder}' has no {name}: the save is incomplete. Save or download it again.")


def load_adapter(base, folder: Path, *, is_trainable: bool = False):
    """The LoRA adapter in ``folder`` on ``base`` (a ``PeftModel``; safetensors only)."""
    try:
        with quiet_library_deprecations():  # peft reads the deprecated is_gradient_checkpointing
            return PeftModel.from_pretrained(base, str(folder), is_trainable=is_trainable)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"Could not load the LoRA adapter in '{folder}' ({type(exc).__name__}: {exc}).") from exc


def load_heads_into(heads, folder: Path) -> None:
    """Load the heads' weights saved in ``folder`` into ``heads`` (strict)."""
    try:
        heads.load_state_dict(load_file(str(folder / HEADS_NAME)), strict=True)
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise ModelLoadError(f"'{folder / HEADS_NAME}' is corrupt or does not fit these heads "
                             f"({type(exc).__name__}: {exc}). Save or download the model again.") from exc


def update_config(folder: str | os.PathLike, **changes: Any) -> dict:
    """Change settings in a saved folder's config (e.g. the selector calibration), atomically."""
    folder = Path(folder)
    config = read_config(folder)
    config.update(changes)
    atomic_write_bytes(folder / CONFIG_NAME, (json.dumps(config, indent=2) + "\n").encode())
    return config


def load_tokenizer_for(name_or_path: str | os.PathLike, revision: str | None = None):
    """The tokenizer saved with a model (with its tool template)."""
    folder = local_folder(name_or_path, revision)
    if not (folder / "tokenizer_config.json").is_file():
        raise ModelLoadError(f"'{folder}' holds no tokenizer; save the model with its tokenizer.")
    return load_tokenizer(folder)


def is_saved_model(name_or_path: str | os.PathLike) -> bool:
    """Whether ``name_or_path`` is a local folder written by fc-finetune (adapter + heads)."""
    return (Path(name_or_path).expanduser() / CONFIG_NAME).is_file()


def export_merged(model, directory: str | os.PathLike, *, tokenizer=None, dtype: Any = None) -> Path:
    """Merge LoRA into the base weights and save a plain transformers model (safetensors).

    For servers that take no adapters. The heads are not part of it: the merged model is a
    text-mode tool caller. ``model`` is left unmerged (a merged copy is saved).
    """
    directory = Path(directory)
    merged = copy.deepcopy(model.lm).merge_and_unload()
    if dtype is not None:
        merged = merged.to(getattr(torch, dtype) if isinstance(dtype, str) else dtype)
    with atomic_directory(directory, overwrite=True) as tmp:
        merged.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
    return directory
