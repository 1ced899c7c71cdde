"""Data, the first stage: the canonical record and its validation (``schema``), reading and
writing files (``io``), converters from other formats (``formats/``), rendering with the
model's chat template (``render``, ``templates``, ``tool_format``), tokenising with masks
and decision points (``collate``) and dataset statistics (``stats``).

Imports only :mod:`fc_finetune.errors` and :mod:`fc_finetune.utils`: every later stage may
import data, data imports none of them.
"""

from ..utils.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "validate_record": ".schema", "validate_tools": ".schema", "load_records": ".io", "write_jsonl": ".io",
    "render_record": ".render", "render_prompt": ".render", "prepare_tokenizer": ".templates",
    "ToolCallFormat": ".tool_format", "FunctionCallingCollator": ".collate", "encode_record": ".collate",
    "dataset_stats": ".stats",
})
