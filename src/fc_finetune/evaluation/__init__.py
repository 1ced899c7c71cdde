"""Held-out evaluation, beside training: BFCL-style AST matching (``ast_match``), metrics
(also as ``evaluate`` modules), evaluation sets and the BFCL fetch (``sets``,
``bfcl_fetch``), the runner, its report and plots, and the comparison across models and
modes.

Imports data, model, inference, tools and utils; never training. Tools to execute calls
with are handed in as a registry.
"""

from ..utils.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "evaluate": ".runner", "RunOptions": ".runner", "load_eval_set": ".sets", "match_calls": ".ast_match",
    "fetch_bfcl": ".bfcl_fetch", "write_report": ".report",
})
