"""Every loss is a mean over the whole optimizer step, however the step is split into
micro-batches (gradient accumulation): step-wide counts, not per-micro-batch means.

Tolerances (float32 on CPU), differences coming only from float summation order and padding
widths: the model-level sums agree to 1e-6 relative (measured <= 1.4e-7); two training runs
that split the same 3 steps differently (4 x 1 vs 2 x 2 micro-batches) log the same losses to
1e-4 relative (the per-loss series are rounded to 4 decimals; the Trainer's `loss` agreed to
1.3e-7) and end with adapter and heads equal to 1e-6 absolute (measured 1.4e-8). Plain SGD
without clipping is used, so a scale error in any loss would show in the weights (Adam would
hide it): without the step-wide decision and argument-token counts the weights differ by
1.4e-2 (adapter) and 7.9e-2 (heads).
"""

from __future__ import annotations

import json

import pytest
import torch
from helpers.train_fixtures import read_safetensors, run_args, tiny_assets  # noqa: F401

from fc_finetune.data.collate import FunctionCallingCollator, encode_record
from fc_finetune.data.contract import IGNORE
from fc_finetune.data.io import load_records
from fc_finetune.data.render import render_record
from fc_finetune.data.templates import prepare_tokenizer
from fc_finetune.model.config import HeadArguments, LoraArguments
from fc_finetune.model.modeling import FunctionCallingModel
from fc_finetune.testing import tiny_model_and_tokenizer
from fc_finetune.training.config import FunctionCallingTrainingArguments
from fc_finetune.training.run import main
from fc_finetune.training.trainer import FunctionCallingTrainer

LOSSES = ("loss", "loss_lm", "loss_select", "loss_param", "loss_pending")


@pytest.fixture(scope="module")
def model_and_batches(tiny_assets):  # noqa: F811
    lm, tokenizer = tiny_model_and_tokenizer("llama")
    prepare_tokenizer(tokenizer)
    torch.manual_seed(0)
    model = FunctionCallingModel.from_base(lm, lora=LoraArguments(lora_r=4, lora_dropout=0.0), heads=HeadArguments())
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-zero LoRA B and heads, as after some training
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=generator) * 0.05)
    records = load_records(tiny_assets["train"]).records
    # micro-batches with different token, decision and argument-token counts: a short no-call
    # and the smallest call first, then the two largest, by length times argument characters
    # (so a mean of per-micro-batch means is far from the step-wide mean in every loss)
    size = lambda r: len(json.dumps(r["messages"]))  # noqa: E731
    arguments = lambda r: len(json.dumps([m.get("tool_calls") for m in r["messages"]]))  # noqa: E731
    no_call = sorted((r for r in records if not r["meta"]["functions"]), key=size)
    calls = sorted((r for r in records if r["meta"]["functions"]), key=lambda r: size(r) * arguments(r))
    chosen = [no_call[0], calls[0], calls[-2], calls[-1]]
    encoded = [encode_record(render_record(r, tokenizer), tokenizer) for r in chosen]
    collate = FunctionCallingCollator(tokenizer.pad_token_id)
    return model, collate(encoded), [collate(encoded[:2]), collate(encoded[2:])]


def step_counts(batches):
    return {"num_items_in_batch": sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in batches),
            "num_decisions": torch.tensor(float(sum(int((b["decision_target"] != IGNORE).sum()) for b in batches))),
            "num_param_tokens": torch.tensor(float(sum(int((b["param_tool"][:, 1:] >= 0).sum()) for b in batches))),
            "num_request_tokens": torch.tensor(float(sum(int((b["request_cover"] != IGNORE).sum()) for b in batches)))}


def grads_of(model, loss):
    model.zero_grad()
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad and p.grad is not None}


def test_micro_batches_differ_in_every_count(model_and_batches):
    _, full, micro = model_and_batches
    for name, count in (("labels", lambda b: (b["labels"][:, 1:] != IGNORE).sum()),
                        ("decisions", lambda b: (b["decision_target"] != IGNORE).sum()),
                        ("argument tokens", lambda b: (b["param_tool"][:, 1:] >= 0).sum())):
        a, b = (int(count(m)) for m in micro)
        assert a > 0 and b > 0 and a != b, name
    # The Trainer counts labels over whole rows; the LM loss never predicts position 0.
    # Equal only because no sequence starts with an assistant token:
    assert (full["labels"][:, 0] == IGNORE).all()


def test_step_counts_reproduce_the_plain_mean(model_and_batches):
    model, full, _ = model_and_batches
    model.train()
    plain, counted = model(**full), model(**full, **step_counts([full]))
    for name in LOSSES:
        torch.testing.assert_close(getattr(counted, name), getattr(plain, name), rtol=1e-6, atol=0)


def test_micro_batch_losses_with_step_counts_sum_to_the_full_batch_loss(model_and_batches):
    model, full, micro = model_and_batches
    model.train()
    counts = step_counts(micro)
    whole = model(**full)
    parts = [model(**m, **counts) for m in micro]
    for name in LOSSES:
        total = sum(getattr(p, name) for p in parts)
        torch.testing.assert_close(total, getattr(whole, name), rtol=1e-6, atol=0)
    # gradients: accumulating the parts' gradients gives the full batch's
    full_grads = grads_of(model, model(**full).loss)
    part_grads = [grads_of(model, model(**m, **counts).loss) for m in micro]
    assert set(full_grads) == set(part_grads[0]) == set(part_grads[1])
    for name, grad in full_grads.items():
        # fp32 sums in another order: rounding scales with the tensor's largest entry
        torch.testing.assert_close(part_grads[0][name] + part_grads[1][name], grad, rtol=1e-4,
                                   atol=1e-5 * float(grad.abs().max()))
    # ...which a mean of per-micro-batch means would not: the test data can tell them apart (by
    # 2e-4 relative in the LM loss, whose per-token losses are near log(vocab) in a random model;
    # summation order moves these losses by <= 1.4e-7)
    local = [model(**m) for m in micro]
    for name in ("loss_lm", "loss_select", "loss_param", "loss_pending"):
        mean_of_means = sum(getattr(p, name) for p in local) / 2
        assert not torch.allclose(mean_of_means, getattr(whole, name), rtol=1e-5, atol=0), name


def test_trainer_counts_decisions_and_argument_tokens_over_the_step(model_and_batches, tmp_path):
    model, _, micro = model_and_batches
    args = FunctionCallingTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none",
                                            remove_unused_columns=False, gradient_accumulation_steps=2)
    trainer = FunctionCallingTrainer(model=model, args=args, data_collator=lambda x: x)
    batches, num_items = trainer.get_batch_samples(iter(micro), 2, torch.device("cpu"))
    assert len(batches) == 2
    expected = step_counts(micro)
    assert int(num_items) == expected["num_items_in_batch"]
    assert trainer._norm["num_decisions"].item() == expected["num_decisions"].item()
    assert trainer._norm["num_param_tokens"].item() == expected["num_param_tokens"].item()
    assert trainer._norm["num_request_tokens"].item() == expected["num_request_tokens"].item() > 0


def _run(assets, out, *, batch: int, accumulation: int) -> list[dict]:
    argv = run_args(assets, out, max_steps=3, per_device_train_batch_size=batch,
                    gradient_accumulation_steps=accumulation, train_sampling_strategy="sequential",
                    optim="sgd", learning_rate=0.02, max_grad_norm=0, lora_dropout=0)
    assert main(argv) == 0
    return json.loads((out / "trainer_state.json").read_text())["log_history"]


def test_gradient_accumulation_matches_one_big_batch(tiny_assets, tmp_path):  # noqa: F811
    one = _run(tiny_assets, tmp_path / "4x1", batch=4, accumulation=1)
    two = _run(tiny_assets, tmp_path / "2x2", batch=2, accumulation=2)
    steps_one = [e for e in one if "loss" in e]
    steps_two = [e for e in two if "loss" in e]
    assert [e["step"] for e in steps_one] == [e["step"] for e in steps_two] == [1, 2, 3]
    for a, b in zip(steps_one, steps_two, strict=True):
        for key in (*LOSSES, "select_accuracy", "grad_norm", "num_input_tokens_seen"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), (a["step"], key, a[key], b[key])
    for name in ("adapter_model.safetensors", "fc_heads.safetensors"):
        a, b = read_safetensors(tmp_path / "4x1" / name), read_safetensors(tmp_path / "2x2" / name)
        assert set(a) == set(b)
        worst = max((a[k] - b[k]).abs().max().item() for k in a)
        assert worst <= 1e-6, (name, worst)
