"""Inference: one turn engine and the function-calling loop around it.

* ``heads_decoder``: heads mode (selector at each decision point, the name forced, arguments
  decoded under the function's JSON schema with the argument head, KV cache across turns);
* ``text_decoder``: text mode (``generate``, then the family's call format parsed, as a
  server without the heads would);
* ``constrained``: JSON-schema-constrained decoding (xgrammar);
* ``agent``: :class:`FunctionCallingAgent`, the loop (decode a turn, execute calls, feed
  results back).

Imports data, model and tools; never training (a trained folder is read through
:mod:`fc_finetune.model.io`).
"""

from ..utils.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "FunctionCallingAgent": ".agent", "ChatResult": ".agent", "HeadsDecoder": ".heads_decoder",
    "generate_turn": ".text_decoder", "generate_turns": ".text_decoder", "parse_turn": ".text_decoder",
    "decode_arguments": ".constrained", "generate_arguments": ".constrained",
})
