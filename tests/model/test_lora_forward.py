"""lora_forward: the same map as peft's LoRA Linear, with the scaling on the rank-r side."""

import copy

import pytest
import torch
from peft import LoraConfig, get_peft_model
from peft.tuners.lora.layer import Linear as LoraLinear

from fc_finetune.model import lora_forward
from fc_finetune.model.compat import quiet_library_deprecations
from fc_finetune.testing import tiny_model_and_tokenizer


def peft_pair(**config):
    lm, _ = tiny_model_and_tokenizer("llama")
    torch.manual_seed(0)
    with quiet_library_deprecations():  # plain peft reads transformers' deprecated is_gradient_checkpointing
        model = get_peft_model(lm, LoraConfig(r=4, lora_alpha=16, target_modules="all-linear", **config))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # lora_B starts at zero: give every adapter weight a value
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * 0.05)
    ours = copy.deepcopy(model)
    assert lora_forward.install(ours) > 0
    return model, ours


def outputs_and_grads(model, ids, seed=0):
    model.zero_grad()
    torch.manual_seed(seed)
    logits = model(input_ids=ids).logits
    logits.float().square().mean().backward()
    return logits, {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


IDS = torch.randint(0, 1000, (2, 12), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_same_outputs_and_gradients_as_peft(dropout):
    peft_model, ours = peft_pair(lora_dropout=dropout)
    peft_model.train(), ours.train()
    a, grads_a = outputs_and_grads(peft_model, IDS)
    b, grads_b = outputs_and_grads(ours, IDS)
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-6), name


def test_scaling_is_applied_to_the_rank_r_intermediate():
    _, ours = peft_pair(lora_dropout=0.0)
    layer = next(m for m in ours.modules() if isinstance(m, LoraLinear))
    seen = {}
    layer.lora_A["default"].register_forward_hook(lambda m, i, o: seen.__setitem__("a_out", o.detach()))
    layer.lora_B["default"].register_forward_pre_hook(lambda m, i: seen.__setitem__("b_in", i[0].detach()))
    with torch.no_grad():
        ours(input_ids=IDS)
    scaling = layer.scaling["default"]
    assert scaling != 1.0
    assert torch.allclose(seen["b_in"], seen["a_out"] * scaling)


# peft warns that lora_bias on a bias-free layer cannot be merged; that case is built on purpose.
@pytest.mark.filterwarnings("ignore:`lora_bias=True` was passed:UserWarning")
def test_other_cases_go_to_peft_unchanged():
    for config in ({"use_dora": True}, {"lora_bias": True}):
        peft_model, ours = peft_pair(lora_dropout=0.0, **config)
        with torch.no_grad():
            assert torch.equal(peft_model(input_ids=IDS).logits, ours(input_ids=IDS).logits), config
    peft_model, ours = peft_pair(lora_dropout=0.0)
    with torch.no_grad():
        with peft_model.disable_adapter(), ours.disable_adapter():
            assert torch.equal(peft_model(input_ids=IDS).logits, ours(input_ids=IDS).logits)
        peft_model.merge_adapter(), ours.merge_adapter()
        assert torch.equal(peft_model(input_ids=IDS).logits, ours(input_ids=IDS).logits)


def test_deepcopy_rebinds_the_forward_to_the_copy():
    _, ours = peft_pair(lora_dropout=0.0)
    clone = copy.deepcopy(ours)
    layer = next(m for m in clone.modules() if isinstance(m, LoraLinear))
    assert layer.forward.__self__ is layer
    with torch.no_grad():
        assert torch.equal(ours(input_ids=IDS).logits, clone(input_ids=IDS).logits)
