"""Plumbing every stage may use: the cache root with atomic files and folders, wheel
downloads from the package index, lazy re-exports. Imports nothing from fc_finetune but
:mod:`fc_finetune.errors`."""

from .lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "cache_root": ".cache", "cache_dir": ".cache", "atomic_file": ".cache", "atomic_directory": ".cache",
    "atomic_write_bytes": ".cache", "download_wheel": ".pip_fetch", "lazy_exports": ".lazy",
})
