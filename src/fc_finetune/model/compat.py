"""The one place that knows which transformers release renamed what.

transformers 5.24 renamed ``past_key_values`` to ``cache`` on every ``ModelOutput`` and on
the models' ``forward``: the old keyword still works there but logs a deprecation line, and
a ``ModelOutput`` subclass that declares ``past_key_values`` no longer constructs. Every
module that hands a KV cache to a model or reads one back goes through the names here, so
the code runs without warnings on 5.23 and on 5.24+.

Deprecated aliases that libraries call on our behalf (peft reads
``is_gradient_checkpointing`` when it wraps a model) are silenced here too, by exact
message, so the user never sees a library's deprecation warning for a call we did not
write.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator
from typing import Any

from transformers.modeling_outputs import CausalLMOutputWithPast

# "cache" from transformers 5.24 on, "past_key_values" before.
CACHE_KEY: str = "cache" if "cache" in {f.name for f in dataclasses.fields(CausalLMOutputWithPast)} \
    else "past_key_values"
_CACHE_KEYS = ("cache", "past_key_values", "cache_params")


def cache_of(output: Any) -> Any:
    """The KV cache a model returned (``None`` when it returned none)."""
    return output.get(CACHE_KEY) if hasattr(output, "get") else getattr(output, CACHE_KEY, None)


def with_cache(cache: Any) -> dict[str, Any]:
    """The keyword that hands ``cache`` to a model's ``forward`` in this transformers."""
    return {CACHE_KEY: cache}


def has_cache(kwargs: dict) -> bool:
    """Whether forward keyword arguments carry a KV cache, under any release's name."""
    return any(kwargs.get(key) is not None for key in _CACHE_KEYS)


# Deprecations raised inside libraries' own code paths (peft's get_peft_model reads
# ``is_gradient_checkpointing``); the newer names are used wherever the call is ours.
_LIBRARY_DEPRECATIONS = (
    r"`is_gradient_checkpointing` is deprecated",
    r"`gradient_checkpointing_enable` is deprecated",
    r"`gradient_checkpointing_disable` is deprecated",
)


@contextlib.contextmanager
def quiet_library_deprecations() -> Iterator[None]:
    """Silence the known deprecation warnings libraries raise on our behalf, and only those."""
    with warnings.catch_warnings():
        for message in _LIBRARY_DEPRECATIONS:
            warnings.filterwarnings("ignore", message=message, category=FutureWarning)
        yield


def enable_activation_checkpointing(model: Any, kwargs: dict | None = None) -> None:
    """Turn on activation (gradient) checkpointing under the name this release uses."""
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:  # transformers before the rename
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
