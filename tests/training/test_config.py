"""Training configuration: defaults < YAML recipe < flags, unknown keys, validation, --help."""

from __future__ import annotations

import os
import re
from dataclasses import MISSING, fields

import pytest
from transformers import TrainingArguments

from fc_finetune.cli import main as cli_main
from fc_finetune.errors import FcFinetuneError
from fc_finetune.model.config import HeadArguments, LoraArguments
from fc_finetune.training.config import (
    CONFIG_CLASSES,
    FunctionCallingTrainingArguments,
    known_keys,
    load_recipe,
    make_parser,
    parse_args,
)


def parse(argv):
    model, data, lora, heads, training = parse_args(make_parser(), argv)
    return {"model": model, "data": data, "lora": lora, "heads": heads, "training": training}


@pytest.fixture
def recipe(tmp_path):
    def write(text: str):
        path = tmp_path / "recipe.yaml"
        path.write_text(text)
        return str(path)
    return write


def test_defaults_yaml_and_flags_take_precedence_in_that_order(recipe, tmp_path):
    path = recipe(f"""
# fc-finetune train --config recipe.yaml
output_dir: {tmp_path / 'run'}
lora_r: 8
max_length: 512
learning_rate: 1e-3          # YAML 1.1 reads this as a string: argparse must still make it a float
train_data: [a.jsonl, b.jsonl]
selector_head: false
lora_target_modules: q_proj v_proj
w_param: 0.5
""")
    only_yaml = parse(["--config", path])
    assert only_yaml["lora"].lora_r == 8  # YAML over default 16
    assert only_yaml["data"].max_length == 512
    assert only_yaml["training"].learning_rate == pytest.approx(1e-3)
    assert isinstance(only_yaml["training"].learning_rate, float)
    assert only_yaml["data"].train_data == ["a.jsonl", "b.jsonl"]
    assert only_yaml["heads"].selector_head is False
    assert only_yaml["lora"].lora_target_modules == ["q_proj", "v_proj"]
    assert only_yaml["training"].output_dir == str(tmp_path / "run")
    # untouched options keep their defaults
    assert only_yaml["lora"].lora_alpha == LoraArguments().lora_alpha
    assert only_yaml["heads"].w_lm == HeadArguments().w_lm
    assert only_yaml["training"].head_learning_rate is None

    flags = parse(["--config", path, "--lora_r", "4", "--selector_head", "true", "--train_data", "c.jsonl",
                   "--learning_rate", "2e-4", "--lora_target_modules", "k_proj"])
    assert flags["lora"].lora_r == 4  # flag over YAML
    assert flags["heads"].selector_head is True
    assert flags["data"].train_data == ["c.jsonl"]
    assert flags["training"].learning_rate == pytest.approx(2e-4)
    assert flags["lora"].lora_target_modules == ["k_proj"]
    assert flags["data"].max_length == 512  # YAML still applies where no flag is given
    assert flags["heads"].w_param == 0.5


def test_defaults_without_a_recipe(tmp_path):
    parsed = parse(["--output_dir", str(tmp_path)])
    assert parsed["lora"] == LoraArguments()
    assert parsed["heads"] == HeadArguments()
    assert parsed["model"].model_name_or_path == "smollm2-135m"


def test_unknown_recipe_key_is_an_error_that_suggests_the_close_match(recipe):
    path = recipe("lora_dropuot: 0.1\nmax_length: 512\n")
    with pytest.raises(FcFinetuneError) as info:
        parse(["--config", path])
    message = str(info.value)
    assert "'lora_dropuot'" in message and "did you mean 'lora_dropout'" in message
    assert path in message and "--help" in message


def test_unknown_flag_is_an_error_that_suggests_the_close_match(capsys):
    with pytest.raises(SystemExit) as info:
        parse(["--lora_dropuot", "0.1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown options" in err and "'--lora_dropuot'" in err and "did you mean '--lora_dropout'" in err


def test_abbreviated_flags_are_not_accepted(capsys):
    # argparse's prefix matching would silently read --lora_drop as --lora_dropout
    with pytest.raises(SystemExit):
        parse(["--lora_drop", "0.1"])
    assert "--lora_drop" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "option"), [
    (["--lora_dropout", "1.5"], "lora_dropout"),
    (["--truncation", "x"], "truncation"),
    (["--on_error", "ignore"], "on_error"),
    (["--dtype", "float64"], "dtype"),
    (["--lora_r", "0"], "lora_r"),
    (["--w_select", "-1"], "w_select"),
    (["--max_length", "8"], "max_length"),
    (["--w_lm", "0", "--selector_head", "false", "--argument_head", "false"], "w_lm"),
    (["--more_calls_data", "dev.jsonl"], "more_calls_data"),  # nothing calibrated to use it
])
def test_invalid_values_name_the_option(argv, option):
    with pytest.raises(FcFinetuneError) as info:
        parse(argv)
    assert option in str(info.value)
    assert str(info.value).startswith("Invalid option")


def test_invalid_values_in_a_recipe_are_caught_too(recipe):
    with pytest.raises(FcFinetuneError, match="lora_dropout must be in"):
        parse(["--config", recipe("lora_dropout: 1.5\n")])
    # a flag can repair a bad recipe value
    assert parse(["--config", recipe("lora_dropout: 1.5\n"), "--lora_dropout", "0.1"])["lora"].lora_dropout == 0.1


def test_empty_recipe_value_is_refused_where_the_option_takes_no_null(recipe):
    with pytest.raises(FcFinetuneError, match=r"'max_length' empty \(null\)"):
        load_recipe(recipe("max_length:\n"))
    assert load_recipe(recipe("max_train_samples:\n")) == {"max_train_samples": None}  # Optional: fine


def test_missing_recipe_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(FcFinetuneError, match="does not exist") as info:
        parse(["--config", str(missing)])
    assert str(missing) in str(info.value)


@pytest.mark.parametrize(("text", "match"), [
    ("lora_r: [8\nmax_length: 512\n", "is not valid YAML"),
    ("- lora_r\n- 8\n", "must be a mapping"),
])
def test_invalid_yaml(recipe, text, match):
    path = recipe(text)
    with pytest.raises(FcFinetuneError, match=match) as info:
        parse(["--config", path])
    assert path in str(info.value)


def test_empty_recipe_means_defaults(recipe):
    assert parse(["--config", recipe("# nothing\n")])["lora"] == LoraArguments()


def test_cli_train_prints_input_errors_in_one_line(tmp_path, capsys):
    assert cli_main(["train", "--config", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fc-finetune: error: Recipe") and "Traceback" not in err


def _own_fields():
    """Fields our own dataclasses define (TrainingArguments' fields are transformers')."""
    inherited = {f.name for f in fields(TrainingArguments)}
    for cls in CONFIG_CLASSES:
        for f in fields(cls):
            if f.init and not (cls is FunctionCallingTrainingArguments and f.name in inherited):
                yield cls, f


def test_every_own_option_has_help_text():
    own = list(_own_fields())
    assert len(own) > 25
    missing = [f"{cls.__name__}.{f.name}" for cls, f in own if not str(f.metadata.get("help", "")).strip()]
    assert missing == []
    # and a default, so a recipe never has to give it
    assert [f.name for _, f in own if f.default is MISSING and f.default_factory is MISSING] == []


def test_train_help_lists_every_option_with_its_help(capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(["train", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    flat = re.sub(r"\s+", " ", out)
    listed = set(re.findall(r"--([a-z0-9_]+)", out))
    assert known_keys() - listed == set()
    assert "config" in listed
    for _, f in _own_fields():
        first_words = " ".join(f.metadata["help"].split()[:4])
        assert first_words in flat, f"help of --{f.name} missing from --help"


def test_torch_compile_regions_turns_on_accelerates_regional_dynamic_compilation(tmp_path):
    # (conftest's no_leaked_compile_settings puts the ACCELERATE_DYNAMO_* variables back)
    plain = parse(["--output_dir", str(tmp_path)])["training"]
    assert not plain.torch_compile and "ACCELERATE_DYNAMO_USE_REGIONAL_COMPILATION" not in os.environ
    args = parse(["--output_dir", str(tmp_path), "--torch_compile_regions", "true"])["training"]
    assert args.torch_compile and args.torch_compile_backend == "inductor"
    from accelerate.utils import TorchDynamoPlugin

    plugin = TorchDynamoPlugin(backend=args.torch_compile_backend)  # as the Trainer builds it
    assert plugin.use_regional_compilation and plugin.dynamic


# -- hardening (issue 16): bad values fail at parse time, in one line naming the option ---------------

@pytest.mark.parametrize(("argv", "option"), [
    (["--per_device_train_batch_size", "-1"], "per_device_train_batch_size"),
    (["--per_device_train_batch_size", "0"], "per_device_train_batch_size"),
    (["--per_device_eval_batch_size", "0"], "per_device_eval_batch_size"),
    (["--gradient_accumulation_steps", "0"], "gradient_accumulation_steps"),
    (["--num_train_epochs", "-1"], "num_train_epochs"),
    (["--max_steps", "0", "--num_train_epochs", "0"], "no training steps"),
    (["--max_steps", "-1", "--num_train_epochs", "0"], "no training steps"),
    (["--learning_rate=-1e-4"], "learning_rate"),
    (["--max_drop_fraction", "1.5"], "max_drop_fraction"),
    (["--warn_drop_fraction", "0.6", "--max_drop_fraction", "0.5"], "warn_drop_fraction"),
    (["--max_train_samples", "0"], "max_train_samples"),
])
def test_bad_sizes_and_step_counts_fail_at_parse_time(argv, option, tmp_path):
    with pytest.raises(FcFinetuneError, match=option) as info:
        parse(["--output_dir", str(tmp_path / "run"), *argv])
    assert "\n" not in str(info.value)


def test_zero_steps_are_refused_but_max_steps_alone_is_enough(tmp_path):
    args = parse(["--output_dir", str(tmp_path), "--max_steps", "3", "--num_train_epochs", "0"])["training"]
    assert args.max_steps == 3
    with pytest.raises(FcFinetuneError, match="--max_steps N"):
        parse(["--output_dir", str(tmp_path), "--max_steps", "0", "--num_train_epochs", "0"])


def test_output_dir_that_is_a_file_is_refused(tmp_path):
    existing = tmp_path / "file"
    existing.write_text("keep me")
    with pytest.raises(FcFinetuneError, match="output_dir .* is an existing file") as info:
        parse(["--output_dir", str(existing)])
    assert str(existing) in str(info.value)
    with pytest.raises(FcFinetuneError, match="cannot be created: .* is a file"):
        parse(["--output_dir", str(existing / "run")])
    assert existing.read_text() == "keep me"
    assert parse(["--output_dir", str(tmp_path / "new" / "run")])["training"].output_dir.endswith("run")


@pytest.mark.parametrize("content", [b"\x00\xff\xfe\x89PNG\r\n", b"\x89PNG\r\n\x1a\n" + bytes(range(256))])
def test_binary_recipe_is_one_clear_error(tmp_path, content):
    path = tmp_path / "recipe.yaml"
    path.write_bytes(content)
    with pytest.raises(FcFinetuneError, match="is not a text file|is not valid YAML") as info:
        parse(["--config", str(path)])
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_defaults_fit_a_cpu_machine(recipe):
    """An empty recipe used transformers' batch of 8 (18 GB of RAM on CPU with a 135M model)."""
    parsed = parse(["--config", recipe("# nothing\n")])
    assert parsed["training"].per_device_train_batch_size == 4
    assert parsed["training"].per_device_eval_batch_size == 4
    assert parsed["data"].max_length == 1024
    assert parsed["data"].warn_drop_fraction == 0.2 and parsed["data"].max_drop_fraction == 0.5
    assert parsed["training"].skip_memory_check is False


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU with (True) or without (False) bf16 instructions, and no CUDA device."""
    def set_cpu(native: bool):
        monkeypatch.setattr("torch.cuda.is_available", lambda: False)
        monkeypatch.setattr("torch.cpu._is_avx512_bf16_supported", lambda: native)
        monkeypatch.setattr("torch.cpu._is_amx_tile_supported", lambda: False)
    return set_cpu


def test_dtype_fastest_on_a_bf16_cpu_is_bfloat16_with_autocast(recipe, tmp_path, bf16_cpu):
    bf16_cpu(True)
    parsed = parse(["--config", recipe(f"dtype: fastest\nuse_cpu: true\noutput_dir: {tmp_path / 'run'}\n")])
    assert parsed["model"].dtype == "bfloat16"  # resolved: the run's saved recipe says what ran
    assert parsed["training"].bf16 is True
    assert parsed["training"].mixed_precision == "bf16"  # set before transformers derived it


def test_dtype_fastest_elsewhere_is_float32_without_autocast(recipe, tmp_path, bf16_cpu):
    bf16_cpu(False)
    parsed = parse(["--config", recipe(f"dtype: fastest\nuse_cpu: true\noutput_dir: {tmp_path / 'run'}\n")])
    assert parsed["model"].dtype == "float32"
    assert parsed["training"].bf16 is False and parsed["training"].mixed_precision == "no"


@pytest.mark.parametrize("where", ["recipe", "flag"])
def test_dtype_fastest_leaves_a_bf16_the_user_set(recipe, tmp_path, bf16_cpu, where):
    bf16_cpu(True)
    text = f"dtype: fastest\nuse_cpu: true\noutput_dir: {tmp_path / 'run'}\n"
    argv = ["--config", recipe(text + ("bf16: false\n" if where == "recipe" else ""))]
    if where == "flag":
        argv += ["--bf16", "false"]
    parsed = parse(argv)
    assert parsed["model"].dtype == "bfloat16" and parsed["training"].bf16 is False


def test_dtype_fastest_given_as_a_flag_over_a_float32_recipe(recipe, tmp_path, bf16_cpu):
    bf16_cpu(True)
    path = recipe(f"dtype: float32\nuse_cpu: true\noutput_dir: {tmp_path / 'run'}\n")
    assert parse(["--config", path])["training"].bf16 is False
    parsed = parse(["--config", path, "--dtype", "fastest"])
    assert parsed["model"].dtype == "bfloat16" and parsed["training"].bf16 is True
