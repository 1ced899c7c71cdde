"""Held-out evaluation: BFCL-style AST matching, metrics (also as ``evaluate`` modules),
the evaluation runner, its report and plots, and the comparison across models and modes.

Nothing is imported eagerly: ``fc_finetune.evaluation.ast_match`` and friends are used directly.
"""
