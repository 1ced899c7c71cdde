"""Errors a user can cause, each naming the input and what to do about it.

Every exception raised for bad input derives from :class:`FcFinetuneError`, so the CLI
can print the message without a traceback while programming errors still show one.
"""

from __future__ import annotations


class FcFinetuneError(Exception):
    """Base class for errors caused by the user's input or environment."""


class CacheError(FcFinetuneError):
    """The cache directory cannot be used (unwritable, full, or holding a partial file)."""


class ModelNotFoundError(FcFinetuneError):
    """A model name is neither a known alias, an existing folder, nor a Hub id."""


class ModelFetchError(FcFinetuneError):
    """Fetching or converting a bundled model failed (missing or corrupt GGUF, pip failure)."""


class ModelLoadError(FcFinetuneError):
    """A model or tokenizer folder exists but cannot be loaded."""


class DataFetchError(FcFinetuneError):
    """Fetching or extracting an evaluation dataset failed."""
