"""fc-finetune: teach a pretrained causal LM to call functions.

LoRA plus a function-selector head and an argument head, trained jointly through a
custom ``transformers.Trainer``, evaluated with BFCL-style AST matching and served in
a real function-calling loop. See ``README.md`` for the two-command quickstart.

Importing the package is cheap: heavy modules (torch, transformers) load lazily in the
submodules that need them.
"""

__version__ = "0.1.0"
