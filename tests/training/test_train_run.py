"""A whole tiny training run through ``fc_finetune.training.run.main``: what it changes and writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import yaml
from helpers.train_fixtures import read_safetensors, run_args, tiny_assets  # noqa: F401

import fc_finetune.training.reporting as reporting
import fc_finetune.training.run as run_module
from fc_finetune.data.collate import FunctionCallingCollator, encode_record
from fc_finetune.data.io import load_records
from fc_finetune.data.render import render_record
from fc_finetune.model.io import load_tokenizer_for
from fc_finetune.model.modeling import FunctionCallingModel
from fc_finetune.training.run import main

SERIES = ("loss_lm", "loss_select", "loss_param", "loss_pending", "loss_lm_decision", "select_accuracy")


def run_capturing(argv: list[str]) -> dict:
    """Run ``main(argv)``; return the trainer (as it is at the end) and the model's initial weights."""
    seen: dict = {}
    original_finish, original_from_base = reporting.finish_run, FunctionCallingModel.from_base.__func__

    def finish_run(trainer, *args, **kwargs):
        seen["trainer"] = trainer
        return original_finish(trainer, *args, **kwargs)

    def from_base(cls, *args, **kwargs):
        model = original_from_base(cls, *args, **kwargs)
        seen["init"] = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        return model

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_module, "finish_run", finish_run)
        mp.setattr(FunctionCallingModel, "from_base", classmethod(from_base))
        assert main(argv) == 0
    return seen


@pytest.fixture(scope="module")
def full_run(tiny_assets, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("full-run")
    seen = run_capturing(run_args(tiny_assets, out, max_steps=4, eval_data=True, report_to="tensorboard",
                                  plot_losses="true"))
    return {"out": out, **seen}


def test_training_changes_every_trainable_parameter(full_run):
    model = full_run["trainer"].model
    init = full_run["init"]
    trained = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    assert set(trained) == set(init)
    assert any(".lora_A." in n for n in trained) and any(".lora_B." in n for n in trained)
    assert {n for n in trained if n.startswith("heads.")} == {
        "heads.selector.weight", "heads.no_call", "heads.pool_query", "heads.argument.weight",
        "heads.match.proj", "heads.match.scale", "heads.match.threshold", "heads.match.value", "heads.match.pending_scale"}
    unchanged = [n for n in trained if torch.equal(trained[n], init[n])]
    assert unchanged == []
    # the zero-initialised parts really left zero
    assert model.heads.argument.weight.abs().sum() > 0 and model.heads.selector.weight.abs().sum() > 0


def test_output_folder_holds_a_loadable_model(full_run):
    out: Path = full_run["out"]
    for name in ("adapter_model.safetensors", "adapter_config.json", "fc_heads.safetensors", "fc_finetune_config.json",
                 "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "fc_finetune_recipe.yaml",
                 "train_summary.json", "loss_curves.png", "trainer_state.json"):
        assert (out / name).is_file(), name
    assert not (out / ".final-model").exists()
    assert "tools" in (out / "chat_template.jinja").read_text()  # the tool-aware template was saved
    config = json.loads((out / "fc_finetune_config.json").read_text())
    assert config["heads"]["selector_head"] and config["heads"]["argument_head"]
    assert not list(out.glob("checkpoint-*"))  # save_strategy no


def test_recipe_summary_and_plot(full_run, tiny_assets):  # noqa: F811
    out: Path = full_run["out"]
    recipe = yaml.safe_load((out / "fc_finetune_recipe.yaml").read_text())
    assert recipe["model_name_or_path"] == tiny_assets["base"]
    assert recipe["max_steps"] == 4 and recipe["lora_r"] == 4 and recipe["train_data"] == [tiny_assets["train"]]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 4
    assert summary["tokens"] > 0 and summary["tokens_per_s"] > 0
    assert summary["peak_rss_mib"] > 0
    for key in ("final_train_loss", "final_loss_lm", "final_loss_select", "final_loss_param",
                "final_select_accuracy", "eval_loss", "eval_loss_lm", "eval_loss_select", "eval_loss_param"):
        assert isinstance(summary[key], float), key
    png = (out / "loss_curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_log_history_has_one_series_per_loss(full_run):
    history = json.loads((full_run["out"] / "trainer_state.json").read_text())["log_history"]
    train = [e for e in history if "loss" in e]
    evals = [e for e in history if "eval_loss" in e]
    assert [e["step"] for e in train] == [1, 2, 3, 4]
    assert [e["step"] for e in evals] == [2, 4]
    for entry in train:
        assert all(isinstance(entry[k], float) for k in SERIES), entry
        # the joint loss is the weighted sum of its terms (weights 1; terms rounded to 4 places)
        terms = (entry["loss_lm"] + entry["loss_select"] + entry["loss_param"] + entry["loss_pending"]
                 + entry["loss_lm_decision"])
        assert entry["loss"] == pytest.approx(terms, abs=1e-3)
    for entry in evals:
        assert all(isinstance(entry[f"eval_{k}"], float) for k in SERIES), entry
        assert entry["eval_loss"] == pytest.approx(
            entry["eval_loss_lm"] + entry["eval_loss_select"] + entry["eval_loss_param"] + entry["eval_loss_pending"]
            + entry["eval_loss_lm_decision"], abs=1e-3)


def test_tensorboard_event_files_hold_the_loss_series(full_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = sorted(full_run["out"].glob("runs/*/events.out.tfevents.*"))
    assert events, list(full_run["out"].rglob("*"))
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    for name in SERIES:
        assert f"train/{name}" in scalars and f"eval/{name}" in scalars, scalars
    steps = [e.step for e in acc.Scalars("train/loss_select")]
    assert steps == [1, 2, 3, 4]
    logged = [e["loss_select"] for e in full_run["trainer"].state.log_history if "loss_select" in e]
    assert [e.value for e in acc.Scalars("train/loss_select")] == pytest.approx(logged, rel=1e-6)


def _batch(tokenizer, path: str, n: int = 4):
    records = load_records(path).records[:n]
    return FunctionCallingCollator(tokenizer.pad_token_id)([encode_record(render_record(r, tokenizer), tokenizer)
                                                            for r in records])


def test_saved_model_reloads_to_the_same_outputs(full_run, tiny_assets):  # noqa: F811
    out = full_run["out"]
    trained = full_run["trainer"].model.eval()
    loaded = FunctionCallingModel.from_pretrained(out)
    tokenizer = load_tokenizer_for(out)
    batch = _batch(tokenizer, tiny_assets["eval"])
    with torch.no_grad():
        a, b = trained(**batch), loaded(**batch)
        plain = {k: batch[k] for k in ("input_ids", "attention_mask")}
        logits_a, logits_b = trained(**plain).logits, loaded(**plain).logits
    for name in ("loss", "loss_lm", "loss_select", "loss_param", "select_logits"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert logits_a.shape[:2] == batch["input_ids"].shape and torch.equal(logits_a, logits_b)
    # and the weights themselves, file against memory
    heads = read_safetensors(out / "fc_heads.safetensors")
    assert all(torch.equal(heads[k], v) for k, v in trained.heads.state_dict().items())


def test_heads_off_run_is_plain_lora_and_logs_only_the_lm_loss(tiny_assets, tmp_path):  # noqa: F811
    out = tmp_path / "plain"
    seen = run_capturing(run_args(tiny_assets, out, max_steps=2, selector_head="false", argument_head="false"))
    history = seen["trainer"].state.log_history
    train = [e for e in history if "loss" in e]
    assert len(train) == 2
    for entry in train:
        assert "loss_lm" in entry and not set(entry) & {"loss_select", "loss_param", "loss_lm_decision", "select_accuracy"}, entry
        assert entry["loss"] == pytest.approx(entry["loss_lm"], abs=1e-3)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["final_loss_lm"] is not None and summary["final_loss_select"] is None
    config = json.loads((out / "fc_finetune_config.json").read_text())
    assert not config["heads"]["selector_head"] and not config["heads"]["argument_head"]
    assert not [n for n, p in seen["trainer"].model.named_parameters() if p.requires_grad and n.startswith("heads.")]
    loaded = FunctionCallingModel.from_pretrained(out)
    assert loaded.heads.selector is None and loaded.heads.argument is None


def test_trainer_runs_right_padded_batches_without_the_padding_mask(tiny_assets, tmp_path, monkeypatch):  # noqa: F811
    """The trainer drops a right-padding mask before the model (so a compiled model gets the
    causal-only attention too)."""
    masks, forward = [], FunctionCallingModel.forward

    def spy(self, *args, **kwargs):
        masks.append(kwargs.get("attention_mask", "absent"))
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(FunctionCallingModel, "forward", spy)
    run_capturing(run_args(tiny_assets, tmp_path / "out", max_steps=2))
    assert len(masks) == 2 and all(m is None for m in masks)


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["torch_compile", "torch_compile_regions"])
def test_torch_compile_run_trains_to_the_eager_losses(tiny_assets, tmp_path, flag):  # noqa: F811
    """Compiled training with both heads, whole-model or region by region (dynamo breaks the
    graph at the data-dependent indexing of the losses and compiles the rest)."""
    torch._dynamo.reset()
    compiled = run_capturing(run_args(tiny_assets, tmp_path / "compiled", max_steps=2, **{flag: "true"}))
    model = compiled["trainer"].model_wrapped
    assert any(type(m).__name__ == "OptimizedModule" for m in [model, *model.modules()]), "nothing was compiled"
    for name in ("ACCELERATE_DYNAMO_USE_REGIONAL_COMPILATION", "ACCELERATE_DYNAMO_BACKEND"):
        os.environ.pop(name, None)  # set by the compiled run's arguments; the eager run must not see them
    eager = run_capturing(run_args(tiny_assets, tmp_path / "eager", max_steps=2))

    def losses(seen):
        return [e["loss"] for e in seen["trainer"].state.log_history if "loss" in e]

    assert len(losses(compiled)) == 2
    assert losses(compiled) == pytest.approx(losses(eager), rel=1e-3)
