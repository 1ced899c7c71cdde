"""Functions a model may call: the registry (Python callables -> JSON schemas), the executor
(one schema check, a hard timeout, results as tool messages) and the built-in offline tools.

Imports :mod:`fc_finetune.data` (the record schema, for the one call check) and nothing
above it. ``--tools fc_finetune.tools:REGISTRY`` names the built-in tools: a calculator, unit
conversion, date arithmetic and a small local knowledge base; nothing here touches the
network.
"""

from ..utils.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "FunctionRegistry": ".registry", "RegistryError": ".registry", "load_registry": ".registry",
    "Executor": ".executor", "ToolResult": ".executor",
    "REGISTRY": ".builtin", "build_registry": ".builtin",
})
