"""``max_train_minutes``: a run that would take longer than its budget trains the steps that fit,
with the learning-rate schedule compressed to end there; the plan survives a resume."""

from __future__ import annotations

import json
import logging
import math
import shutil
from types import SimpleNamespace

import pytest
import torch
from helpers.train_fixtures import run_args, tiny_assets  # noqa: F401
from transformers import TrainingArguments, get_scheduler

from fc_finetune.training.config import FunctionCallingTrainingArguments
from fc_finetune.training.run import main
from fc_finetune.training.time_budget import TimeBudget, compress_schedule, planned_steps


def test_the_plan_is_the_steps_done_and_what_the_time_left_holds():
    assert planned_steps(budget_s=900, elapsed_s=170, step=10, seconds_per_step=16.0, max_steps=110) == 55
    assert planned_steps(budget_s=900, elapsed_s=100, step=10, seconds_per_step=5.0, max_steps=110) == 110
    assert planned_steps(budget_s=900, elapsed_s=1000, step=10, seconds_per_step=5.0, max_steps=110) == 11
    assert planned_steps(budget_s=1, elapsed_s=5, step=2, seconds_per_step=5.0, max_steps=2) == 2  # never past it


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_speed_is_read_per_token_after_the_first_step():
    """Step 1 (warm-up, the longest batch) is not measured; steps 2-10 read 0.05 s a token, and a
    step averages 250 tokens: 12.5 s a step. 900 s - 130 s spent leaves 61 steps: 71 planned."""
    clock = _Clock()
    budget = TimeBudget(15, tokens_per_step=250, clock=clock)
    state = SimpleNamespace(max_steps=110, global_step=0, num_input_tokens_seen=0, stateful_callbacks={})
    args = SimpleNamespace()
    budget.on_train_begin(args, state, None)
    clock.now, state.global_step, state.num_input_tokens_seen = 40.0, 1, 1000  # a slow first step
    budget.on_step_end(args, state, None)
    for step in range(2, 10):
        clock.now, state.global_step, state.num_input_tokens_seen = 40.0 + 10 * (step - 1), step, 1000 + 200 * (step - 1)
        budget.on_step_end(args, state, None)
        assert budget.planned is None  # not before the probe step
    clock.now, state.global_step, state.num_input_tokens_seen = 130.0, 10, 2800
    budget.on_step_end(args, state, None, lr_scheduler=None)
    assert budget.record["seconds_per_step"] == 12.5 and budget.planned == 10 + math.floor(770 / 12.5) == 71
    assert state.max_steps == 71  # where DefaultFlowCallback ends the run
    assert budget.state()["attributes"] == {"planned": 71, "seconds_before": 130.0}


def _scheduler(kind: str, steps: int, warmup: int):
    weight = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.AdamW([{"params": [weight], "lr": 1e-3}, {"params": [torch.nn.Parameter(torch.zeros(1))],
                                                                         "lr": 5e-3}])
    return optimizer, get_scheduler(kind, optimizer, num_warmup_steps=warmup, num_training_steps=steps)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_a_compressed_schedule_is_the_schedule_of_the_shorter_run(kind, tmp_path):
    args = TrainingArguments(output_dir=str(tmp_path), lr_scheduler_type=kind, warmup_steps=20, report_to="none")
    optimizer, scheduler = _scheduler(kind, 110, 20)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert compress_schedule(scheduler, args, 110, 55)
    reference_optimizer, reference = _scheduler(kind, 55, 10)  # warm-up scaled alike: 20 of 110 -> 10 of 55
    for _ in range(10):
        reference_optimizer.step()
        reference.step()
    lrs = []
    for _ in range(45):
        assert scheduler.get_last_lr() == pytest.approx(reference.get_last_lr(), rel=1e-6, abs=1e-12)
        assert [g["lr"] for g in optimizer.param_groups] == pytest.approx(reference.get_last_lr(), abs=1e-12)
        lrs.append(scheduler.get_last_lr()[0])
        for opt, sched in ((optimizer, scheduler), (reference_optimizer, reference)):
            opt.step()
            sched.step()
    assert scheduler.get_last_lr() == pytest.approx([0.0, 0.0], abs=1e-12)  # cooled down at step 55, not 110
    assert max(lrs) == pytest.approx(1e-3)


def test_another_kind_of_schedule_is_left_as_it_is(tmp_path, caplog):
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5)
    with caplog.at_level(logging.WARNING):
        assert not compress_schedule(scheduler, args, 100, 50)
    assert "StepLR" in caplog.text and optimizer.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_a_negative_budget_is_refused(bad, tmp_path):
    with pytest.raises(ValueError, match="max_train_minutes must be >= 0"):
        FunctionCallingTrainingArguments(output_dir=str(tmp_path), max_train_minutes=bad, report_to="none")


def _summary(out) -> dict:
    return json.loads((out / "train_summary.json").read_text())


def _last_lr(out) -> float:
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    return [e["learning_rate"] for e in history if "learning_rate" in e][-1]


def test_a_run_over_its_budget_trains_fewer_steps_and_ends_cooled_down(tiny_assets, tmp_path, caplog):  # noqa: F811
    # 0.0001 min is 6 ms: spent before the second step ends, so the plan is one step after the probe (step 2).
    out = tmp_path / "run"
    with caplog.at_level(logging.WARNING, logger="fc_finetune.training.time_budget"):
        assert main(run_args(tiny_assets, out, max_steps=8, max_train_minutes=0.0001)) == 0
    budget = _summary(out)["time_budget"]
    assert budget["recipe_steps"] == 8 and budget["planned_steps"] == 3 and budget["seconds_per_step"] > 0
    assert _summary(out)["steps"] == 3
    # transformers counts samples by the recipe's 8 steps over the planned 3; the summary reads 3 x 4 samples
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    runtime = [e["train_runtime"] for e in history if "train_samples_per_second" in e][-1]  # unrounded
    assert _summary(out)["samples_per_s"] == pytest.approx(12 / runtime, rel=0.01)  # transformers': 8 x 4 / runtime
    assert "max_steps 8 would take" in caplog.text and "Training 3 steps instead" in caplog.text
    # the logged rate is the one a step used: linear decay over 3 steps uses 1e-3 / 3 in its last one
    # (over 8 steps, step 3 used 1e-3 * 6/8)
    assert _last_lr(out) == pytest.approx(1e-3 / 3)


def test_a_budget_that_holds_the_run_changes_nothing(tiny_assets, tmp_path):  # noqa: F811
    out = tmp_path / "run"
    assert main(run_args(tiny_assets, out, max_steps=4, max_train_minutes=600)) == 0
    assert _summary(out)["steps"] == 4 and _summary(out)["time_budget"]["planned_steps"] == 4


def test_a_resumed_run_keeps_its_plan(tiny_assets, tmp_path, caplog):  # noqa: F811
    out = tmp_path / "run"
    options = {"max_steps": 8, "max_train_minutes": 0.0001, "save_strategy": "steps", "save_steps": 2,
               "lora_dropout": 0.0}
    assert main(run_args(tiny_assets, out, **options)) == 0
    shutil.rmtree(out / "checkpoint-3")  # killed after checkpoint-2, which holds the plan (made at step 2)
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["stateful_callbacks"]["TimeBudget"]["attributes"]["planned"] == 3
    with caplog.at_level(logging.WARNING, logger="fc_finetune.training.time_budget"):
        assert main(run_args(tiny_assets, out, resume_from_checkpoint=out / "checkpoint-2",
                             **{**options, "max_train_minutes": 600})) == 0
    assert "resuming the plan of 3 steps of 8" in caplog.text
    assert _summary(out)["steps"] == 3 and _last_lr(out) == pytest.approx(1e-3 / 3)


def test_a_checkpoint_written_without_a_budget_resumes_with_one(tiny_assets, tmp_path):  # noqa: F811
    """Its trainer_state.json has no TimeBudget entry; the Trainer's next save looks the entry up."""
    out = tmp_path / "run"
    options = {"max_steps": 4, "save_strategy": "steps", "save_steps": 2, "lora_dropout": 0.0}
    assert main(run_args(tiny_assets, out, **options)) == 0
    shutil.rmtree(out / "checkpoint-4")
    assert main(run_args(tiny_assets, out, resume_from_checkpoint=out / "checkpoint-2", max_train_minutes=600,
                         **options)) == 0
    assert _summary(out)["steps"] == 4 and (out / "checkpoint-4" / "trainer_state.json").is_file()
