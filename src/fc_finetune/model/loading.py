"""Resolve a model name (alias, local folder or Hub id) and load it safely.

Anywhere the toolkit accepts a model path it accepts:

* a bundled alias such as ``smollm2-135m`` (fetched on demand into the cache),
* a local folder holding a transformers checkpoint,
* a Hub id ``org/name``, loaded the usual transformers way.

Weights load as safetensors only and ``trust_remote_code`` stays off unless asked for.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from ..errors import ModelLoadError, ModelNotFoundError
from .zoo import BUNDLED_MODELS, fetch_model, is_fetched, model_dir

logger = logging.getLogger(__name__)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")

MODEL_FOLDER = ("A model folder holds config.json, the weights (model.safetensors, or shards listed in "
                "model.safetensors.index.json) and the tokenizer (tokenizer.json, tokenizer_config.json), as "
                "transformers' save_pretrained writes them")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def _listing(path: Path, limit: int = 4) -> str:
    names = sorted(p.name for p in path.iterdir())
    if not names:
        return "it is empty"
    return "it holds " + ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_model_folder(path: str | os.PathLike, *, weights: bool = False, tokenizer: bool = False) -> None:
    """Refuse a local folder that is not a model (before transformers tries, and fails with a message
    about sentencepiece or model_type): its config.json, and the weights or tokenizer files asked for."""
    path = Path(path)
    if not path.is_dir() or (path / "adapter_config.json").is_file():
        return  # a Hub id, or a peft adapter folder (its base is resolved on its own)
    config = path / "config.json"
    if not config.is_file():
        raise ModelNotFoundError(f"'{path}' is not a model folder: it holds no config.json ({_listing(path)}). "
                                 f"{MODEL_FOLDER}.")
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (ValueError, AttributeError) as exc:
        raise ModelLoadError(f"'{config}' is not a transformers model config ({type(exc).__name__}: {exc}). "
                             f"{MODEL_FOLDER}.") from exc
    if not model_type:
        raise ModelLoadError(f"'{config}' is not a transformers model config (no model_type). {MODEL_FOLDER}.")
    if weights and not any(path.glob("*.safetensors")) and not any(path.glob("*.safetensors.index.json")):
        pickled = sorted(p.name for p in path.glob("*.bin"))
        if pickled:
            raise ModelLoadError(f"'{path}' holds its weights only as pickle ({', '.join(pickled[:2])}); fc-finetune "
                                 "loads safetensors only (pickle can run code). Convert them with save_pretrained("
                                 "safe_serialization=True) in a trusted environment.")
        raise ModelLoadError(f"'{path}' is not a model folder: it has a config.json but no weights "
                             f"(no *.safetensors; {_listing(path)}). {MODEL_FOLDER}.")
    if tokenizer and not any((path / name).is_file() for name in _TOKENIZER_FILES):
        raise ModelLoadError(f"'{path}' holds no tokenizer (none of {', '.join(_TOKENIZER_FILES)}; "
                             f"{_listing(path)}). {MODEL_FOLDER}.")


def resolve_model_path(name_or_path: str | os.PathLike, *, fetch_missing: bool = True) -> str:
    """Turn a user-given model reference into something ``from_pretrained`` accepts."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        check_model_folder(path)
        return str(path)
    if text in BUNDLED_MODELS:
        if not is_fetched(text):
            if not fetch_missing:
                raise ModelNotFoundError(
                    f"Model '{text}' is not fetched yet. Run `fc-finetune models fetch {text}`."
                )
            logger.info("Model '%s' is not in the cache yet: fetching it (one time)", text)
            fetch_model(text)
        return str(model_dir(text))
    if path.exists():
        raise ModelNotFoundError(f"'{path}' is a file, not a model folder. Pass the folder that holds config.json.")
    looks_like_path = text.startswith((".", "/", "~")) or os.sep in text and not _HUB_ID.match(text)
    if looks_like_path:
        raise ModelNotFoundError(f"Model folder '{path}' does not exist. Check the path.")
    if _HUB_ID.match(text):
        return text
    close = difflib.get_close_matches(text, list(BUNDLED_MODELS), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ModelNotFoundError(
        f"Unknown model '{text}': not a bundled alias ({', '.join(sorted(BUNDLED_MODELS))}), "
        f"not an existing folder, and not a Hub id of the form 'org/name'.{hint}"
    )


def _load_error(kind: str, ref: str, resolved: str, exc: Exception) -> ModelLoadError:
    where = f"'{ref}'" if ref == resolved else f"'{ref}' ({resolved})"
    offline = " If it is a Hub id, this machine may have no Hub access: use a local folder." if _HUB_ID.match(resolved) else ""
    return ModelLoadError(f"Could not load the {kind} from {where}: {type(exc).__name__}: {exc}.{offline}")


def load_tokenizer(name_or_path: str | os.PathLike, *, trust_remote_code: bool = False, **kwargs: Any):
    """Load a tokenizer; a pad token is set to EOS when the tokenizer has none."""
    resolved = resolve_model_path(name_or_path)
    check_model_folder(resolved, tokenizer=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved, trust_remote_code=trust_remote_code, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise _load_error("tokenizer", str(name_or_path), resolved, exc) from exc
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(name_or_path: str | os.PathLike, *, dtype: Any = "auto", trust_remote_code: bool = False,
                   **kwargs: Any):
    """Load ``AutoModelForCausalLM`` from safetensors only (never pickle)."""
    resolved = resolve_model_path(name_or_path)
    check_model_folder(resolved, weights=True)
    try:
        with _no_weight_bar():
            return AutoModelForCausalLM.from_pretrained(
                resolved, dtype=dtype, trust_remote_code=trust_remote_code, use_safetensors=True, **kwargs
            )
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        raise _load_error("model", str(name_or_path), resolved, exc) from exc


@contextmanager
def _no_weight_bar() -> Iterator[None]:
    """transformers' per-tensor "Loading weights" bar off while a model loads (a few seconds
    of noise in front of every command that loads one; the commands show their own progress)."""
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()
