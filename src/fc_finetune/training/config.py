"""Training configuration: one dataclass per concern behind one parser.

Precedence is defaults < YAML recipe (``--config``) < command-line flags. Unknown keys in
the recipe, and unknown flags, are errors that name the key and suggest close matches.

    parser = make_parser()
    model_args, data_args, lora_args, head_args, training_args = parse_args(parser, argv)
"""

from __future__ import annotations

import difflib
import os
import sys
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import yaml
from transformers import HfArgumentParser, TrainingArguments

from ..data.contract import TRUNCATION
from ..errors import FcFinetuneError
from ..model.config import HeadArguments, LoraArguments
from ..utils.hardware import FASTEST, fastest_dtype

DTYPES = ("auto", FASTEST, "bfloat16", "float16", "float32")


@dataclass
class ModelArguments:
    """The base model and how it is loaded."""

    model_name_or_path: str = field(default="smollm2-135m", metadata={
        "help": "Base model: a bundled alias (smollm2-135m), a local folder or a Hub id."})
    dtype: str = field(default="bfloat16", metadata={
        "help": f"Dtype of the base weights, one of {', '.join(DTYPES)} (LoRA and heads train in float32). "
                f"'{FASTEST}': bfloat16 where the hardware multiplies it natively (a CPU with AVX512-BF16 or AMX, "
                "a GPU of compute capability 8.0 or later), float32 elsewhere; with bfloat16 it also turns on "
                "--bf16 (autocast) unless the recipe or a flag sets --bf16 or --fp16. The run's saved recipe "
                "records what it chose."})
    trust_remote_code: bool = field(default=False, metadata={
        "help": "Run code shipped with the model repository. Off unless you trust it."})
    attn_implementation: str | None = field(default=None, metadata={
        "help": "Attention kernel: sdpa, eager, flash_attention_2 (default: transformers' choice)."})
    load_in_4bit: bool = field(default=False, metadata={
        "help": "QLoRA: load the base in 4-bit NF4 (needs CUDA and bitsandbytes)."})
    force_builtin_template: bool = field(default=False, metadata={
        "help": "Use the built-in Hermes/ChatML tool template even if the model's own renders tools."})

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")


@dataclass
class DataArguments:
    """Training and evaluation data, and how records become token sequences."""

    train_data: list[str] = field(default_factory=lambda: ["data/mix/train.jsonl"], metadata={
        "help": "Training sources: .jsonl/.json/.parquet files, `datasets` folders or hf:org/name[:split]."})
    eval_data: list[str] = field(default_factory=list, metadata={
        "help": "Held-out sources for the eval loop (same forms as train_data); none disables it."})
    calibration_data: list[str] = field(default_factory=list, metadata={
        "help": "Held-out conversations the selector's temperature and NO_CALL threshold are fit on after training "
                "(default: eval_data). Use data of another distribution than the training data, so the decision "
                "transfers: e.g. `fc-finetune data fetch-nestful` (real requests for real APIs)."})
    more_calls_data: list[str] = field(default_factory=list, metadata={
        "help": "Held-out conversations the more-calls threshold (after calls: does the request need another?) is "
                "fit on instead of calibration_data. Give one with several calls in one turn (the generator's eval "
                "split): NESTFUL's sequences make one call per turn, so none of its decisions after calls is "
                "the one a parallel request needs."})
    max_calibration_samples: int | None = field(default=None, metadata={
        "help": "Use at most this many calibration records, and as many more_calls_data records (seeded samples)."})
    data_format: str = field(default="auto", metadata={
        "help": "Input format: auto, canonical, openai, sharegpt, xlam, glaive, hermes."})
    max_length: int = field(default=1024, metadata={
        "help": "Longest token sequence kept (memory grows with it: see the memory check before training)."})
    truncation: str = field(default="oldest_turns", metadata={
        "help": "Too-long examples: 'oldest_turns' removes whole oldest exchanges until they fit; 'unused_tools' "
                "first removes the offered tools the example never calls (the longest first; one always stays), "
                "then oldest exchanges; 'drop' drops them."})
    on_error: str = field(default="raise", metadata={
        "help": "Bad records: 'raise' stops with the first error; 'skip' skips and reports them by reason."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use at most this many training records."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Use at most this many eval records."})
    preprocessing_num_workers: int | None = field(default=None, metadata={
        "help": "Processes for tokenisation (datasets.map num_proc)."})
    warn_drop_fraction: float = field(default=0.2, metadata={
        "help": "Warn when more than this share of the training records is dropped in preprocessing (too long "
                "for max_length, or not encodable), or of the records of one call shape (parallel calls, calls "
                "in several messages: the longest). Held-out splits (eval, calibration) warn above "
                "max_drop_fraction; the run summary counts every drop."})
    max_drop_fraction: float = field(default=0.5, metadata={
        "help": "Refuse to train when more than this share of the training records is dropped in preprocessing: "
                "raise max_length, generate shorter data (`fc-finetune data generate --max-tools 3`), or raise "
                "this limit (1.0 never refuses)."})

    def __post_init__(self):
        if isinstance(self.train_data, str):
            self.train_data = [self.train_data]
        if isinstance(self.eval_data, str):
            self.eval_data = [self.eval_data]
        for name in ("calibration_data", "more_calls_data"):
            if isinstance(getattr(self, name), str):
                setattr(self, name, [getattr(self, name)])
        if not self.train_data:
            raise ValueError("train_data is empty: give at least one training source")
        if self.more_calls_data and not (self.calibration_data or self.eval_data):
            raise ValueError("more_calls_data is given but nothing is calibrated: give calibration_data or eval_data too")
        if self.truncation not in TRUNCATION:
            raise ValueError(f"truncation must be one of {', '.join(TRUNCATION)}, got {self.truncation!r}")
        if self.on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {self.on_error!r}")
        if self.max_length < 16:
            raise ValueError(f"max_length {self.max_length} is too small to hold a conversation")
        for name in ("warn_drop_fraction", "max_drop_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a share in [0, 1], got {getattr(self, name)}")
        if self.warn_drop_fraction > self.max_drop_fraction:
            raise ValueError(f"warn_drop_fraction ({self.warn_drop_fraction}) is above max_drop_fraction "
                             f"({self.max_drop_fraction}): the warning would never come before the refusal")
        for name in ("max_train_samples", "max_eval_samples", "max_calibration_samples"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (or unset for all records), got {getattr(self, name)}")


@dataclass
class FunctionCallingTrainingArguments(TrainingArguments):
    """transformers' TrainingArguments plus what the heads need."""

    # transformers' defaults (8) with a 135M model at max_length 1024 on all layers took 18 GB of RAM on CPU.
    per_device_train_batch_size: int = field(default=4, metadata={
        "help": "Training batch size per device (CPU or GPU). Memory grows with it; raise gradient_accumulation_steps "
                "for a larger effective batch."})
    per_device_eval_batch_size: int = field(default=4, metadata={"help": "Evaluation batch size per device."})
    skip_memory_check: bool = field(default=False, metadata={
        "help": "Train even when the memory estimate made before training (weights, optimizer states, activations) "
                "exceeds the memory available."})
    head_learning_rate: float | None = field(default=None, metadata={
        "help": "Learning rate of the selector and argument heads (default: 10x learning_rate). They start from "
                "zero and need a larger step than LoRA."})
    token_learning_rate: float | None = field(default=None, metadata={
        "help": "Learning rate of the trainable_tokens rows, trained whole and without decay (default: the heads' "
                "rate). A row that is raised too far makes the model write that token wherever a reply starts."})
    max_train_minutes: float = field(default=0.0, metadata={
        "help": "Wall-clock budget for training, in minutes (0: none). After its first steps the run measures this "
                "host's speed; where max_steps would take longer, it trains as many steps as fit, with the "
                "learning-rate schedule (warm-up included) compressed to end there, warns, and records the plan "
                "in train_summary.json. Time before and after training (loading, calibration) is not counted."})
    plot_losses: bool = field(default=True, metadata={
        "help": "Write loss_curves.png (L_lm, L_select, L_param) in output_dir at the end."})
    torch_compile_regions: bool = field(default=False, metadata={
        "help": "Compile the model with torch.compile region by region (accelerate's regional compilation, "
                "dynamic shapes): the decoder layers share one compiled graph, so the cold start is about 30-60 s "
                "on 2 CPU cores instead of ~10 min for --torch_compile alone, for 1.15-1.24x faster steps on "
                "SmolLM2-135M. Implies "
                "--torch_compile; worth it for runs much longer than the compile."})

    def __post_init__(self):
        self._check_sizes()
        if self.output_dir is not None:
            _check_output_dir(self.output_dir)
        if self.torch_compile_regions:
            self.torch_compile = True
            # accelerate's TorchDynamoPlugin (built by the Trainer) reads these when not told otherwise.
            os.environ["ACCELERATE_DYNAMO_USE_REGIONAL_COMPILATION"] = "1"
            os.environ.setdefault("ACCELERATE_DYNAMO_USE_DYNAMIC", "1")
        self._move_renamed_switches()
        super().__post_init__()

    def _move_renamed_switches(self) -> None:
        """Recipes say ``gradient_checkpointing``, the name every transformers 5.x accepts; 5.24 renamed
        it ``activation_checkpointing`` and warns about the old name. Where the new name exists, the
        value moves there before transformers looks, so the user sees no FutureWarning for our recipes."""
        for old, new in (("gradient_checkpointing", "activation_checkpointing"),
                         ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs")):
            if hasattr(self, new) and getattr(self, new) is None and getattr(self, old) is not None:
                setattr(self, new, getattr(self, old))
                setattr(self, old, None)

    def _check_sizes(self) -> None:
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.num_train_epochs < 0:
            raise ValueError(f"num_train_epochs must be >= 0, got {self.num_train_epochs}")
        if self.max_steps <= 0 and self.num_train_epochs == 0:
            raise ValueError(f"no training steps: max_steps is {self.max_steps} and num_train_epochs is 0. "
                             "Give --max_steps N (N >= 1) or --num_train_epochs above 0")
        if self.learning_rate < 0:
            raise ValueError(f"learning_rate must be >= 0, got {self.learning_rate}")
        if not self.max_train_minutes >= 0:  # (NaN too)
            raise ValueError(f"max_train_minutes must be >= 0 (0: no budget), got {self.max_train_minutes}")


def _check_output_dir(output_dir: str | os.PathLike) -> None:
    """The output folder, or the nearest part of its path that exists, must be a writable folder."""
    path = Path(output_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"output_dir '{output_dir}' is an existing file, not a folder. Name a folder "
                         "(it is created when missing)")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != path and not existing.is_dir():
        raise ValueError(f"output_dir '{output_dir}' cannot be created: '{existing}' is a file. Name a folder "
                         "whose parents are folders")
    if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"output_dir '{output_dir}': '{existing}' is not writable. Name a folder you can write to")


CONFIG_CLASSES = (ModelArguments, DataArguments, LoraArguments, HeadArguments, FunctionCallingTrainingArguments)


def make_parser() -> HfArgumentParser:
    # No abbreviations: '--lora_drop' must not silently mean '--lora_dropout' (the recipe has none either).
    parser = HfArgumentParser(CONFIG_CLASSES, prog="fc-finetune train",
                              description="Fine-tune with LoRA + selector and argument heads. Options come from "
                                          "the recipe (--config) and the flags below; flags win.", allow_abbrev=False)
    parser.add_argument("--config", type=str, default=None,
                        help="YAML recipe; its keys are the options below. Flags given here override it.")
    return parser


def known_keys() -> set[str]:
    return {f.name for cls in CONFIG_CLASSES for f in fields(cls) if f.init}


def _unknown_hint(key: str, keys: set[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(key, keys, n=1)
    return f"'{prefix}{key}'" + (f" (did you mean '{prefix}{close[0]}'?)" if close else "")


def load_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML recipe and refuse keys that no dataclass knows."""
    path = Path(path)
    if not path.is_file():
        raise FcFinetuneError(f"Recipe '{path}' does not exist.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FcFinetuneError(f"Recipe '{path}' is not a text file (byte {exc.start} is not UTF-8): give a YAML "
                              "recipe such as recipes/smollm2-135m/quickstart.yaml.") from exc
    except OSError as exc:
        raise FcFinetuneError(f"Recipe '{path}' cannot be read ({exc.strerror or exc}).") from exc
    try:
        recipe = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise FcFinetuneError(f"Recipe '{path}' is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(recipe, dict):
        raise FcFinetuneError(f"Recipe '{path}' must be a mapping of option: value, not {type(recipe).__name__}.")
    keys = known_keys()
    unknown = [k for k in recipe if k not in keys]
    if unknown:
        raise FcFinetuneError(f"Recipe '{path}' has unknown keys: {', '.join(_unknown_hint(k, keys) for k in unknown)}. "
                              "Run `fc-finetune train --help` for the options.")
    # `key:` with nothing after it is null: refuse it where the option takes no None.
    # (typing.get_type_hints: HfArgumentParser rewrites the fields' own `type`, dropping `| None`.)
    types = {k: str(t) for cls in CONFIG_CLASSES for k, t in typing.get_type_hints(cls).items()}
    empty = [k for k, v in recipe.items() if v is None and "None" not in types[k]]
    if empty:
        raise FcFinetuneError(f"Recipe '{path}' leaves {', '.join(repr(k) for k in empty)} empty (null); "
                              "give a value or remove the line.")
    return recipe


def parse_args(parser: HfArgumentParser | None = None, argv: list[str] | None = None):
    """Defaults < YAML (``--config``) < flags. Returns the five dataclasses."""
    parser = parser or make_parser()
    pre, _ = parser.parse_known_args(argv)
    if pre.config:
        recipe = load_recipe(pre.config)
        parser.set_defaults(**{k: _as_default(v) for k, v in recipe.items()})
        # Required options satisfied by the recipe are no longer required on the command line.
        for action in parser._actions:
            if action.dest in recipe:
                action.required = False
    chosen = _resolve_fastest(parser, argv, recipe if pre.config else {})
    try:
        *dataclasses, remaining = parser.parse_args_into_dataclasses(argv, return_remaining_strings=True)
    except ValueError as exc:  # raised by the dataclasses' __post_init__
        raise FcFinetuneError(f"Invalid option: {exc}") from exc
    if remaining:
        keys = known_keys()
        hints = [_unknown_hint(r[2:].split("=", 1)[0].replace("-", "_"), keys, "--") if r.startswith("--") else repr(r)
                 for r in remaining]
        parser.error(f"unknown options: {', '.join(hints)}")
    dataclasses = [d for d in dataclasses if not isinstance(d, type(pre))]
    if chosen:
        dataclasses[0].dtype = chosen
    return tuple(dataclasses[: len(CONFIG_CLASSES)])


def _resolve_fastest(parser: HfArgumentParser, argv: list[str] | None, recipe: dict[str, Any]) -> str | None:
    """``dtype: fastest`` -> the dtype this machine multiplies fastest (``utils.hardware``), read
    from the options as given (defaults < recipe < flags). With bfloat16, ``bf16`` (autocast)
    becomes the default unless the recipe or a flag sets ``bf16`` or ``fp16``: it must be set
    before transformers' ``TrainingArguments`` derives its mixed precision from it."""
    given, _ = parser.parse_known_args(argv)
    if getattr(given, "dtype", None) != FASTEST:
        return None
    chosen = fastest_dtype(cpu=given.use_cpu or not torch.cuda.is_available())
    flags = {a.split("=", 1)[0] for a in (argv if argv is not None else sys.argv[1:]) if a.startswith("--")}
    precision_set = ({"bf16", "fp16"} & set(recipe)) or ({"--bf16", "--fp16"} & flags)
    if chosen == "bfloat16" and not precision_set:
        parser.set_defaults(bf16=True)
    return chosen


def _as_default(value: Any) -> Any:
    """YAML scalars are already typed; argparse applies `type` only to string defaults."""
    return value
