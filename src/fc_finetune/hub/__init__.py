"""Publishing: push a trained folder (adapter, heads, tokenizer, evaluation numbers) to the
Hugging Face Hub with a generated model card. Reads the saved folder through
:mod:`fc_finetune.model.io`; imports nothing from training, inference or evaluation."""

from ..utils.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "push_to_hub": ".push", "build_model_card": ".push", "files_to_push": ".push",
})
