"""Shared test helpers: sample records, tiny training assets, format samples. Tests import
them as ``helpers.<module>`` (pyproject puts tests/ on the path)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
