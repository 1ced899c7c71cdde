"""Training: the configuration dataclasses and their one parser, the Trainer subclass (joint
loss, per-loss logging), the run itself (``run.main``: read a recipe, load data and model,
train, calibrate, save, report), selector calibration, and the end-of-run report.

Imports data, model, tools, hub and utils; nothing imports training but the command line.
"""

from ..utils.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "FunctionCallingTrainer": ".trainer", "ModelArguments": ".config", "DataArguments": ".config",
    "FunctionCallingTrainingArguments": ".config", "make_parser": ".config", "load_recipe": ".config",
    "parse_args": ".config", "calibrate_selector": ".calibration", "SelectorCalibration": ".calibration",
    "main": ".run",
})
