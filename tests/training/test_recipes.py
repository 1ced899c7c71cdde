"""Every recipe stays loadable by the code it is meant for.

* Training recipes (``recipes/<model>/*.yaml``) load into the dataclasses through the real
  parser (``fc_finetune.training.config.parse_args``), keep every key they set, and name their own
  launch command in the header; the flags of each launch command parse too, and multi-GPU
  commands keep the recipe's global batch.
* accelerate configs (``recipes/accelerate/*.yaml``) load with accelerate's own config
  loader and pass ``accelerate launch``'s validation; their FSDP / DeepSpeed keys are
  options that ``accelerate launch`` knows.
* DeepSpeed JSON configs parse, have the ZeRO stage their name says, leave the batch,
  precision and clipping fields to the Trainer ("auto"), and pass accelerate's DeepSpeed
  plugin (DeepSpeed itself is not installed here and is not needed for that).
"""

from __future__ import annotations

import enum
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from helpers import ROOT

RECIPES_DIR = ROOT / "recipes"
ACCELERATE_DIR = RECIPES_DIR / "accelerate"


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


TRAINING_RECIPES = sorted(_rel(p) for p in RECIPES_DIR.rglob("*.yaml") if ACCELERATE_DIR not in p.parents)
ACCELERATE_CONFIGS = sorted(_rel(p) for p in ACCELERATE_DIR.glob("*.yaml"))
DEEPSPEED_JSONS = sorted(_rel(p) for p in ACCELERATE_DIR.glob("*.json"))
TRAIN_COMMAND = re.compile(r"(?:fc-finetune train|-m fc_finetune\.train)\s(?P<flags>.*)")
# bf16 recipes are refused by TrainingArguments on a machine without a GPU; forcing the CPU
# changes nothing else about how the recipe is read.
NO_GPU_FLAGS = ["--use_cpu", "true"]


def _needs_cpu_flag() -> list[str]:
    import torch

    return [] if torch.cuda.is_available() else NO_GPU_FLAGS


def _header(path: str) -> list[str]:
    """The leading comment block, '#' removed, with backslash-continued lines joined."""
    lines = []
    for raw in (ROOT / path).read_text(encoding="utf-8").splitlines():
        if not raw.startswith("#"):
            break
        lines.append(raw[1:].strip())
    joined, current = [], ""
    for line in lines:
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
        else:
            joined.append(current + line)
            current = ""
    return joined


def _commands(path: str, marker: str) -> list[list[str]]:
    return [shlex.split(line) for line in _header(path) if marker in line]


def _flag(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _parse(argv: list[str]):
    from fc_finetune.training.config import parse_args

    return parse_args(None, [*argv, *_needs_cpu_flag()])


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # recipes and launch commands use paths relative to the root


def test_the_promised_recipes_exist():
    expected = {"recipes/qwen2.5-0.5b/lora.yaml", "recipes/qwen2.5-1.5b/lora.yaml", "recipes/qwen2.5-7b/lora.yaml",
                "recipes/qwen2.5-7b/qlora.yaml", "recipes/llama-3.1-8b/lora.yaml", "recipes/llama-3.1-8b/qlora.yaml",
                "recipes/smollm2-135m/quickstart.yaml", "recipes/qwen2.5-coder-0.5b/cpu.yaml"}
    assert expected <= set(TRAINING_RECIPES)
    assert {f"recipes/accelerate/{n}.yaml" for n in ("ddp", "fsdp", "deepspeed_zero2", "deepspeed_zero3",
                                                       "cpu_2proc")} <= set(ACCELERATE_CONFIGS)


# -- training recipes -----------------------------------------------------------------------
def _as_plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


@pytest.mark.parametrize("path", TRAINING_RECIPES)
def test_recipe_loads_into_the_dataclasses(path):
    """Every key reaches its dataclass with the recipe's value (nothing dropped or renamed)."""
    recipe = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    parsed = _parse(["--config", path])
    values = {}
    for obj in parsed:
        values.update({k: _as_plain(v) for k, v in vars(obj).items()})
    for key, value in recipe.items():
        assert key in values, f"{path}: {key} is not an option"
        got = values[key]
        if key == "report_to":  # TrainingArguments normalises it to a list
            value = [value] if isinstance(value, str) else value
        if key == "dtype" and value == "fastest":  # resolved at parse time for this machine
            from fc_finetune.utils.hardware import fastest_dtype

            value = fastest_dtype(cpu=values["use_cpu"])
        if isinstance(value, float) or isinstance(got, float):
            assert got == pytest.approx(value), f"{path}: {key}"
        else:
            assert got == value, f"{path}: {key} is {got!r}, the recipe says {value!r}"


@pytest.mark.parametrize("path", TRAINING_RECIPES)
def test_recipe_header_names_its_launch_command(path):
    commands = _commands(path, "fc_finetune.training.run") + _commands(path, "fc-finetune train")
    own = [argv for argv in commands if _flag(argv, "--config") == path]
    assert own, f"{path}: the header comment has no launch command with --config {path}"


@pytest.mark.parametrize("path", TRAINING_RECIPES + ACCELERATE_CONFIGS)
def test_launch_commands_in_headers_parse(path):
    """The training flags of every command in a header are options of the parser."""
    for line in _header(path):
        match = TRAIN_COMMAND.search(line)
        if match and "--config" in line:
            _parse(shlex.split(match.group("flags")))


@pytest.mark.parametrize("path", TRAINING_RECIPES)
def test_multi_gpu_commands_keep_the_global_batch(path):
    """``--num_processes N`` with the command's gradient accumulation gives the recipe's global batch."""
    recipe = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    per_device = recipe.get("per_device_train_batch_size", 4)  # our default (transformers: 8)
    global_batch = per_device * recipe.get("gradient_accumulation_steps", 1)
    for argv in _commands(path, "accelerate launch"):
        processes = int(_flag(argv, "--num_processes") or 1)
        accumulation = int(_flag(argv, "--gradient_accumulation_steps") or recipe.get("gradient_accumulation_steps", 1))
        per_device_cmd = int(_flag(argv, "--per_device_train_batch_size") or per_device)
        if _flag(argv, "--config_file") == "recipes/accelerate/cpu_2proc.yaml":
            continue  # the CPU example halves the batch on purpose, it states its own
        assert per_device_cmd * accumulation * processes == global_batch, " ".join(argv)


@pytest.mark.parametrize("path", TRAINING_RECIPES + ACCELERATE_CONFIGS)
def test_files_named_in_headers_exist(path):
    for line in _header(path):
        for name in re.findall(r"recipes/[\w./-]+\.(?:yaml|json)", line):
            assert (ROOT / name).is_file(), f"{path} names {name}, which does not exist"


CPU_RECIPES = [p for p in TRAINING_RECIPES if yaml.safe_load((ROOT / p).read_text(encoding="utf-8")).get("use_cpu")]


def test_cpu_recipes_run_in_float32_or_in_the_fastest_dtype_of_the_cpu():
    """float32 without autocast (bf16 is the slower on CPUs without bf16 instructions), or
    ``dtype: fastest`` with ``bf16`` left for it to set (a ``bf16`` key would pin autocast)."""
    assert CPU_RECIPES == ["recipes/qwen2.5-coder-0.5b/cpu.yaml", "recipes/smollm2-135m/full.yaml",
                           "recipes/smollm2-135m/quickstart.yaml"]
    for path in CPU_RECIPES:
        recipe = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
        if recipe["dtype"] == "fastest":
            assert "bf16" not in recipe and "fp16" not in recipe, path
        else:
            assert recipe["bf16"] is False and recipe["dtype"] == "float32", path


def test_the_quickstart_trains_in_bf16_exactly_where_the_cpu_has_bf16_instructions(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr("torch.cpu._is_amx_tile_supported", lambda: False)
    for native, dtype in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr("torch.cpu._is_avx512_bf16_supported", lambda native=native: native)
        model, *_, training = _parse(["--config", "recipes/smollm2-135m/quickstart.yaml"])
        assert (model.dtype, training.bf16) == (dtype, native)


@pytest.mark.parametrize("path", [p for p in TRAINING_RECIPES if p not in CPU_RECIPES])
def test_gpu_recipes_follow_the_conventions(path):
    """bf16, tensorboard, length-grouped batches, bounded checkpoints, 2k-4k tokens."""
    recipe = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    assert recipe["bf16"] is True and recipe.get("use_cpu") is not True
    assert recipe["report_to"] == ["tensorboard"]
    assert recipe["train_sampling_strategy"] == "group_by_length"
    assert recipe["save_total_limit"] >= 1
    assert 2048 <= recipe["max_length"] <= 4096
    assert recipe.get("load_in_4bit", False) == path.endswith("qlora.yaml")
    assert "data/mix/train.jsonl" in (ROOT / path).read_text(encoding="utf-8"), "offer the bundled mix"


# -- accelerate configs ---------------------------------------------------------------------
@pytest.mark.parametrize("path", ACCELERATE_CONFIGS)
def test_accelerate_config_loads_and_validates(path):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    config = load_config_from_file(path)
    assert isinstance(config, ClusterConfig)
    try:
        from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    except ImportError:  # private API: the loader above is the public check
        pytest.skip("this accelerate has no _validate_launch_command")
    args = launch_command_parser().parse_args(["--config_file", path, "train.py"])
    args, _, _ = _validate_launch_command(args)
    assert args.num_processes == config.num_processes


@pytest.mark.parametrize("path", ACCELERATE_CONFIGS)
def test_accelerate_config_header_names_its_launch_command(path):
    own = [argv for argv in _commands(path, "accelerate launch") if _flag(argv, "--config_file") == path]
    assert own, f"{path}: the header comment has no `accelerate launch --config_file {path}` command"


@pytest.mark.parametrize("path", ACCELERATE_CONFIGS)
def test_plugin_keys_are_accelerate_launch_options(path):
    """Keys under fsdp_config / deepspeed_config are set as launch options: a typo would be ignored."""
    from accelerate.commands.launch import launch_command_parser

    options = {action.dest for action in launch_command_parser()._actions}
    config = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    for section in ("fsdp_config", "deepspeed_config"):
        unknown = set(config.get(section) or {}) - options
        assert not unknown, f"{path}: {section} has keys accelerate launch does not know: {sorted(unknown)}"


def test_distributed_types_match_the_file_names():
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DistributedType

    expected = {"ddp": DistributedType.MULTI_GPU, "fsdp": DistributedType.FSDP,
                "deepspeed_zero2": DistributedType.DEEPSPEED, "deepspeed_zero3": DistributedType.DEEPSPEED,
                "cpu_2proc": DistributedType.MULTI_GPU}
    for name, kind in expected.items():
        assert load_config_from_file(f"recipes/accelerate/{name}.yaml").distributed_type == kind, name
    # FSDP2 with explicit layer classes: the model wrapper does not expose _no_split_modules.
    fsdp = load_config_from_file("recipes/accelerate/fsdp.yaml").fsdp_config
    assert str(fsdp["fsdp_version"]) == "2" and fsdp["fsdp_transformer_layer_cls_to_wrap"]


def test_cpu_2proc_starts_two_workers_through_the_multi_gpu_launcher():
    """MULTI_CPU would start one process (without mpirun); use_cpu: true here would too. The
    training recipe's --use_cpu true makes the two workers CPU processes over gloo."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    args = launch_command_parser().parse_args(["--config_file", "recipes/accelerate/cpu_2proc.yaml", "train.py"])
    args, _, _ = _validate_launch_command(args)
    assert args.multi_gpu and not args.cpu and args.num_processes == 2
    header = "\n".join(_header("recipes/accelerate/cpu_2proc.yaml"))
    assert "--use_cpu true" in header


# -- DeepSpeed JSON -------------------------------------------------------------------------
AUTO_FIELDS = ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
               "gradient_clipping")


@pytest.mark.parametrize("path", DEEPSPEED_JSONS)
def test_deepspeed_json_has_what_deepspeed_and_the_trainer_need(path):
    config = json.loads((ROOT / path).read_text(encoding="utf-8"))
    stage = int(re.search(r"zero(\d)", Path(path).name).group(1))
    assert config["zero_optimization"]["stage"] == stage
    for key in AUTO_FIELDS:
        assert config[key] == "auto", f"{path}: {key} must be 'auto' (the Trainer fills it from the recipe)"
    assert config["bf16"]["enabled"] == "auto" and config["fp16"]["enabled"] == "auto"
    # The Trainer's own optimizer keeps the heads' learning rate; a DeepSpeed one would not.
    assert "optimizer" not in config and "scheduler" not in config
    if stage == 3:
        zero = config["zero_optimization"]
        assert zero["stage3_gather_16bit_weights_on_model_save"] is True  # savable adapter
        # Small parameters (the heads' NO_CALL and pooling vectors, read outside a module
        # call) must stay whole: "auto" = 10 x hidden size.
        assert zero["stage3_param_persistence_threshold"] == "auto"


@pytest.mark.parametrize("path", DEEPSPEED_JSONS)
def test_deepspeed_json_is_used_by_an_accelerate_config(path):
    users = [c for c in ACCELERATE_CONFIGS
             if (yaml.safe_load((ROOT / c).read_text()).get("deepspeed_config") or {}).get("deepspeed_config_file") == path]
    assert users, f"no accelerate config points at {path}"


@pytest.mark.parametrize("name", ["deepspeed_zero2", "deepspeed_zero3"])
def test_deepspeed_plugin_accepts_the_config(name, monkeypatch):
    """accelerate's DeepSpeedPlugin reads the JSON as `accelerate launch` would hand it over."""
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DeepSpeedPlugin

    config = load_config_from_file(f"recipes/accelerate/{name}.yaml")
    ds = config.deepspeed_config
    # What `accelerate launch` exports; the plugin refuses fields that the JSON must own.
    fields = list(ds) + (["mixed_precision"] if config.mixed_precision is not None else [])
    monkeypatch.setenv("ACCELERATE_CONFIG_DS_FIELDS", ",".join(fields).lower())
    plugin = DeepSpeedPlugin(hf_ds_config=ds["deepspeed_config_file"], zero3_init_flag=ds.get("zero3_init_flag"))
    assert plugin.zero_stage == int(name[-1])
    assert plugin.hf_ds_config.is_zero3() == name.endswith("3")


# -- every recipe trains ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_assets(tmp_path_factory):
    """A tiny Llama (4096 positions, so no recipe's max_length is cut) and short synthetic data."""
    from fc_finetune.data.io import write_jsonl
    from fc_finetune.testing import tiny_model_and_tokenizer
    from fc_synthetic import generate_mix

    root = tmp_path_factory.mktemp("recipe-smoke")
    model, tokenizer = tiny_model_and_tokenizer(max_positions=4096)
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    train, evaluation = generate_mix(n_train=64, n_eval=32, seed=0)

    def shortest(records, count):
        """The called tools plus one distractor (a real choice), shortest records first: the
        tiny tokenizer spends ~3x the tokens of a real one, and the quickstart keeps 1024."""
        trimmed = []
        for record in records:
            called = set(record["meta"]["functions"])
            tools = [t for t in record["tools"] if t["function"]["name"] in called]
            trimmed.append({**record, "tools": tools + [t for t in record["tools"] if t not in tools][:1]})
        return sorted(trimmed, key=lambda r: len(json.dumps(r)))[:count]

    write_jsonl(shortest(train, 8), root / "train.jsonl")
    write_jsonl(shortest(evaluation, 4), root / "eval.jsonl")
    return root


@pytest.mark.parametrize("path", TRAINING_RECIPES)
def test_recipe_trains_a_step_with_a_tiny_model(path, tiny_assets, tmp_path):
    """Each recipe as written (LoRA, heads, sampler, precision, checkpointing, logging) runs one
    optimizer step and one eval on CPU; only the model, the data, the length of the run and
    what needs a GPU (4-bit loading) are swapped."""
    from fc_finetune.training.run import main

    argv = ["--config", path, "--model_name_or_path", str(tiny_assets / "model"),
            "--train_data", str(tiny_assets / "train.jsonl"), "--eval_data", str(tiny_assets / "eval.jsonl"),
            "--calibration_data", str(tiny_assets / "eval.jsonl"),
            "--data_format", "canonical", "--on_error", "raise", "--output_dir", str(tmp_path / "run"),
            "--use_cpu", "true", "--load_in_4bit", "false", "--max_steps", "1",
            "--per_device_train_batch_size", "2", "--per_device_eval_batch_size", "2",
            "--gradient_accumulation_steps", "1", "--eval_strategy", "steps", "--eval_steps", "1",
            "--max_eval_samples", "2", "--preprocessing_num_workers", "1", "--dataloader_num_workers", "0",
            "--plot_losses", "false", "--disable_tqdm", "true"]
    if yaml.safe_load(Path(path).read_text()).get("trainable_tokens"):  # the model's own tags: the tiny one's rows
        from transformers import AutoTokenizer

        argv += ["--trainable_tokens", *AutoTokenizer.from_pretrained(tiny_assets / "model").convert_ids_to_tokens(
            [300, 301])]
    assert main(argv) == 0
    summary = json.loads((tmp_path / "run" / "train_summary.json").read_text())
    assert summary["steps"] == 1 and summary["final_train_loss"] > 0
    assert "eval_loss" in summary
