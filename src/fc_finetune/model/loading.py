"""Resolve a model name (alias, local folder or Hub id) and load it safely.

Anywhere the toolkit accepts a model path it accepts:

* a bundled alias such as ``smollm2-135m`` (fetched on demand into the cache),
* a local folder holding a transformers checkpoint,
* a Hub id ``org/name``, loaded the usual transformers way.

Weights load as safetensors only and ``trust_remote_code`` stays off unless asked for.
"""

from __future__ import annotations

import difflib
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


def resolve_model_path(name_or_path: str | os.PathLike, *, fetch_missing: bool = True) -> str:
    """Turn a user-given model reference into something ``from_pretrained`` accepts."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise ModelNotFoundError(
                f"'{path}' is a folder but holds no config.json: it is not a model checkpoint. "
                "Point at the folder that contains config.json."
            )
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
