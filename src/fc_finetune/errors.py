"""Errors a user can cause, each naming the input and what to do about it.

Every exception raised for bad input derives from :class:`FcFinetuneError`, so the CLI
can print the message without a traceback while programming errors still show one.
"""

from __future__ import annotations


class FcFinetuneError(Exception):
    """Base class for errors caused by the user's input or environment."""


class CacheError(FcFinetuneError):
    """The cache directory cannot be used (unwritable, full, or holding a partial file)."""


class OutputError(FcFinetuneError):
    """An output path cannot or must not be written: it is one of the command's inputs, a folder,
    a device or other special file, or its folder refuses new files. The message names the path."""


class ModelNotFoundError(FcFinetuneError):
    """A model name is neither a known alias, an existing folder, nor a Hub id."""


class ModelFetchError(FcFinetuneError):
    """Fetching or converting a bundled model failed (missing or corrupt GGUF, pip failure)."""


class ModelLoadError(FcFinetuneError):
    """A model or tokenizer folder exists but cannot be loaded."""


class DataFetchError(FcFinetuneError):
    """Fetching or extracting an evaluation dataset failed."""


class DataError(FcFinetuneError):
    """A record is malformed. The message names the file, the record index and the field path.

    >>> str(DataError("'kelvin' is not one of ['celsius']", source="train.jsonl", index=17,
    ...               field="messages[3].tool_calls[0].arguments.unit"))
    "train.jsonl record 17: messages[3].tool_calls[0].arguments.unit: 'kelvin' is not one of ['celsius']"
    """

    def __init__(self, message: str, *, source: str | None = None, index: int | None = None,
                 field: str | None = None):
        self.reason, self.source, self.index, self.field = message, source, index, field
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.index is not None:
            where.append(f"record {self.index}")
        head = " ".join(where)
        parts = [p for p in (head, self.field, self.reason) if p]
        return ": ".join(parts)

    def located(self, *, source: str | None = None, index: int | None = None) -> DataError:
        """The same error with the file and record filled in where they were unknown."""
        return DataError(self.reason, source=self.source if self.source is not None else source,
                         index=self.index if self.index is not None else index, field=self.field)
