"""FunctionCallingModel: heads, joint loss, architectures, precision, save/load, plain peft."""

import copy

import pytest
import torch
from helpers.fc_records import parallel_record
from helpers.models import batch_for, make, perturb

from fc_finetune.data.templates import prepare_tokenizer
from fc_finetune.model.compat import enable_activation_checkpointing, quiet_library_deprecations
from fc_finetune.model.config import HeadArguments, LoraArguments
from fc_finetune.model.modeling import FunctionCallingModel
from fc_finetune.testing import tiny_model_and_tokenizer


@pytest.mark.parametrize("arch", ["llama", "qwen2", "mistral", "gpt2"])
def test_joint_loss_trains_every_part_on_each_architecture(arch):
    model, tok = make(arch)
    perturb(model)  # at step 0, LoRA B and U are zero, so LoRA A and the pooling query get no gradient
    with torch.no_grad():
        model.heads.match.value[-1] = 1.0  # the value tag marks tokens (so beta, the pending scale, has a gradient)
    model.train()
    out = model(**batch_for(tok))
    for name in ("loss", "loss_lm", "loss_select", "loss_param", "loss_pending", "loss_lm_decision"):
        assert torch.isfinite(getattr(out, name)), name
    expected = out.loss_lm + out.loss_select + out.loss_param + out.loss_pending + out.loss_lm_decision
    assert torch.allclose(out.loss, expected)
    out.loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert missing == []
    trainable, total = model.trainable_parameters()
    assert 0 < trainable < total


def test_heads_off_is_exactly_plain_lora():
    from peft import get_peft_model

    lm, tok = tiny_model_and_tokenizer("qwen2")
    prepare_tokenizer(tok)
    plain_base = copy.deepcopy(lm)
    lora = LoraArguments(lora_dropout=0.0)
    torch.manual_seed(0)
    ours = FunctionCallingModel.from_base(lm, lora=lora, heads=HeadArguments(selector_head=False, argument_head=False))
    torch.manual_seed(0)
    with quiet_library_deprecations():  # plain peft reads transformers' deprecated is_gradient_checkpointing
        plain = get_peft_model(plain_base, lora.to_peft())
    perturb(ours)
    perturb(plain)
    batch = batch_for(tok)
    a = ours(**batch)
    b = plain(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
    # The objective is exactly the LM loss: no other term, same logits at every labelled
    # position; only the summation order of the per-token losses differs (we compute logits
    # at labelled positions only), which moves the last bits of the float32 mean.
    assert a.loss_select is None and a.loss_param is None and a.loss_lm_decision is None
    assert torch.equal(a.loss, a.loss_lm)
    assert torch.allclose(a.loss, b.loss, rtol=1e-6, atol=0)
    with torch.no_grad():
        hidden = ours.lm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                         output_hidden_states=True).hidden_states[-1]
        rows, cols = (batch["labels"][:, 1:] != -100).nonzero(as_tuple=True)
        assert torch.equal(ours.output_layer()(hidden[rows, cols]), b.logits[rows, cols])


def test_the_lm_decision_loss_is_the_lms_own_loss_at_the_decision_points():
    heads = HeadArguments(w_select=0.0, w_param=0.0, w_lm_decision=2.0)
    model, tok = make("llama", heads=heads)
    perturb(model)
    batch = batch_for(tok)
    out = model(**batch)
    # By hand: the logits at each decision point, scored on the token that follows it
    # (the call's first token, or the end of the turn), averaged over the decisions.
    with torch.no_grad():
        logits = model.lm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    losses = []
    for b, row in enumerate(batch["decision_pos"].tolist()):
        for pos in row:
            if pos >= 0:
                assert batch["labels"][b, pos + 1] != -100  # every decision's next token is trained
                losses.append(torch.nn.functional.cross_entropy(logits[b, pos], batch["labels"][b, pos + 1]))
    assert len(losses) == int((batch["decision_pos"] >= 0).sum()) > 3
    assert torch.allclose(out.loss_lm_decision, torch.stack(losses).mean(), rtol=1e-5)
    assert torch.allclose(out.loss, out.loss_lm + 2.0 * out.loss_lm_decision)  # the heads' weights are 0 here
    # Where the model's logits are not the output layer's (soft-capped), its own logits are read.
    model._fast_lm_loss = False
    assert torch.allclose(model(**batch).loss_lm_decision, out.loss_lm_decision, rtol=1e-5)
    model._fast_lm_loss = None
    # It trains the LoRA weights on its own (the LM loss off), and is absent at weight 0.
    model.head_args.w_lm = 0.0
    model.zero_grad()
    model(**batch).loss.backward()
    assert any(p.grad is not None and p.grad.any() for n, p in model.named_parameters() if "lora_" in n)
    model.head_args.w_lm, model.head_args.w_lm_decision = 1.0, 0.0
    plain = model(**batch)
    assert plain.loss_lm_decision is None and torch.equal(plain.loss, plain.loss_lm)


def test_argument_head_starts_as_the_base_lm():
    model, tok = make("llama")
    batch = batch_for(tok)
    with torch.no_grad():
        out = model.lm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
        hidden = out.hidden_states[-1]
        emb = model.heads.tool_embeddings(hidden, batch["tool_spans"], batch["tool_mask"])
        rows, cols = (batch["param_tool"][:, 1:] >= 0).nonzero(as_tuple=True)
        tools = batch["param_tool"][:, 1:][rows, cols]
        conditioned = model.param_logits(hidden[rows, cols], emb[rows, tools])
    assert rows.numel() > 0
    assert torch.equal(conditioned, out.logits[rows, cols])


def test_padded_tools_and_decisions_do_not_change_results():
    model, tok = make("llama")
    perturb(model)
    model.eval()
    small = {"tools": parallel_record()["tools"][:1], "messages": [{"role": "user", "content": "hi"},
                                                                  {"role": "assistant", "content": "hello"}]}
    with torch.no_grad():
        alone = model(**batch_for(tok, [small]))
        together = model(**batch_for(tok, [small, parallel_record()]))
    assert torch.allclose(alone.select_logits[0, :1], together.select_logits[0, :1, [0, -1]][:, [0, 1]], atol=1e-5)
    assert torch.isinf(together.select_logits[0, 0, 1]), "a padded tool can never be selected"


def test_gradient_checkpointing_matches():
    plain, tok = make("llama")
    perturb(plain)
    checkpointed = copy.deepcopy(plain)
    enable_activation_checkpointing(checkpointed.lm, {"use_reentrant": False})
    plain.train()
    checkpointed.train()
    batch = batch_for(tok)
    a, b = plain(**batch), checkpointed(**batch)
    a.loss.backward()
    b.loss.backward()
    assert torch.allclose(a.loss, b.loss)
    ga = torch.cat([p.grad.flatten() for p in plain.parameters() if p.grad is not None])
    gb = torch.cat([p.grad.flatten() for p in checkpointed.parameters() if p.grad is not None])
    assert torch.allclose(ga, gb, atol=1e-6)


def test_bf16_forward_backward():
    model, tok = make("qwen2", dtype=torch.bfloat16)
    model.train()
    out = model(**batch_for(tok))
    out.loss.backward()
    assert out.loss.dtype == torch.float32 and torch.isfinite(out.loss)
    assert model.heads.selector.weight.grad is not None


def test_lora_input_cast_skipped_under_autocast_with_the_same_loss_and_grads(monkeypatch):
    """Under autocast the LoRA inputs stay bf16 (no fp32 copy); losses and gradients equal
    those of peft's default casting, and the cast is back on outside autocast."""
    model, tok = make("qwen2", dtype=torch.bfloat16)
    perturb(model)
    model.train()
    batch = batch_for(tok)
    lora_layers = [m for m in model.lm.modules() if hasattr(m, "cast_input_dtype_enabled")]
    assert lora_layers and next(p for n, p in model.named_parameters() if "lora_A" in n).dtype == torch.float32

    def run():
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(**batch)
        out.loss.backward()
        states = {m.cast_input_dtype_enabled for m in lora_layers}
        return out.loss.detach(), [p.grad.clone() for p in model.parameters() if p.requires_grad], states

    loss_fast, grads_fast, states = run()
    assert states == {False}
    model._set_lora_input_cast(True)  # the reference: peft's default casting, pinned
    monkeypatch.setattr(model, "_set_lora_input_cast", lambda enabled: None)
    loss_ref, grads_ref, states = run()
    assert states == {True}
    monkeypatch.undo()
    assert torch.equal(loss_fast, loss_ref)
    assert all(torch.allclose(a, b, rtol=1e-3, atol=1e-6) for a, b in zip(grads_fast, grads_ref, strict=True))
    model.eval()
    with torch.no_grad():
        model(**batch)  # no autocast: bf16 activations meet fp32 LoRA weights through the cast
    assert {m.cast_input_dtype_enabled for m in lora_layers} == {True}


def test_merge_and_unload_matches_adapted_model():
    model, tok = make("mistral")
    perturb(model)
    model.eval()
    ids = batch_for(tok)["input_ids"]
    with torch.no_grad():
        adapted = model.lm(input_ids=ids).logits
        merged = model.merge_and_unload()(input_ids=ids).logits
    assert torch.allclose(adapted, merged, atol=1e-4)


def test_hidden_state_scale_does_not_blow_up_the_selector():
    from fc_finetune.model.heads import MATCH_SCALE

    model, tok = make("llama", heads=HeadArguments(request_match=False))
    with torch.no_grad():
        out = model(**batch_for(tok))
    finite = out.select_logits[torch.isfinite(out.select_logits)]
    assert torch.allclose(finite, torch.zeros_like(finite)), "W starts at zero: all candidates equally likely"
    model, tok = make("llama")  # the request match: alpha times a cosine, whatever the states' scale
    with torch.no_grad():
        out = model(**batch_for(tok))
    finite = out.select_logits[torch.isfinite(out.select_logits)]
    assert 0 < finite.abs().max() <= MATCH_SCALE + 1e-4


def test_padding_mask_is_redundant_only_for_right_padding_without_a_cache():
    from fc_finetune.model.modeling import padding_mask_is_redundant

    right = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    left = torch.tensor([[1, 1, 1, 1], [0, 0, 1, 1]])
    holes = torch.tensor([[1, 0, 1, 1]])
    assert padding_mask_is_redundant(right, {})
    assert not padding_mask_is_redundant(left, {})
    assert not padding_mask_is_redundant(holes, {})
    assert not padding_mask_is_redundant(None, {})
    assert not padding_mask_is_redundant(right, {"past_key_values": object()})
    assert not padding_mask_is_redundant(right, {"position_ids": torch.zeros(2, 4, dtype=torch.long)})


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_dropping_the_right_padding_mask_keeps_losses_and_gradients(arch, monkeypatch):
    """The training forward runs causal-only attention on right-padded batches (faster SDPA
    kernel); every loss and every gradient must equal those computed with the mask."""
    import fc_finetune.model.modeling as modeling

    model, tok = make(arch)
    perturb(model)
    model.train()
    batch = batch_for(tok)
    assert (batch["attention_mask"] == 0).any()  # the batch really is padded
    seen = []
    forward = model.lm.forward
    monkeypatch.setattr(model.lm, "forward", lambda *a, **k: seen.append(k.get("attention_mask", "absent")) or forward(*a, **k))

    def run():
        model.zero_grad()
        torch.manual_seed(0)  # gpt2 has dropout: the same masks in both runs
        out = model(**batch)
        out.loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
        return out, grads

    dropped, grads_dropped = run()
    monkeypatch.setattr(modeling, "padding_mask_is_redundant", lambda *a: False)
    masked, grads_masked = run()
    assert seen[-2] is None and seen[-1] is batch["attention_mask"]  # the last two: the steps
    for name in ("loss", "loss_lm", "loss_select", "loss_param"):
        assert torch.allclose(getattr(dropped, name), getattr(masked, name), rtol=1e-5, atol=1e-6), name
    for name, grad in grads_masked.items():
        assert torch.allclose(grads_dropped[name], grad, rtol=1e-4, atol=1e-6), name


def test_lora_layers_adapts_only_the_last_layers_and_saves_as_plain_peft(tmp_path):
    from peft import PeftModel

    model, tok = make("llama", lora=LoraArguments(lora_dropout=0.0, lora_layers=1), num_layers=3)
    adapted = {n.split(".layers.")[1].split(".")[0] for n, _ in model.lm.named_parameters() if "lora_" in n}
    assert adapted == {"2"}, "only the last of 3 layers carries LoRA"
    kinds = {n.rsplit(".lora_", 1)[0].rsplit(".", 1)[-1] for n, _ in model.lm.named_parameters() if "lora_A" in n}
    assert kinds == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}, "all-linear"
    perturb(model)
    model.train()
    out = model(**batch_for(tok))
    out.loss.backward()
    assert all(p.grad is not None and p.grad.any() for n, p in model.named_parameters() if p.requires_grad)
    # the adapter is plain peft: layers_to_transform travels in adapter_config.json
    model.lm.save_pretrained(tmp_path)
    base, _ = tiny_model_and_tokenizer("llama", num_layers=3)
    with quiet_library_deprecations():
        plain = PeftModel.from_pretrained(base, tmp_path)
    assert plain.peft_config["default"].layers_to_transform == [2]
    more, _ = make("llama", lora=LoraArguments(lora_dropout=0.0, lora_layers=4), num_layers=3)
    assert {n.split(".layers.")[1].split(".")[0] for n, _ in more.lm.named_parameters() if "lora_" in n} == {"0", "1", "2"}
    with pytest.raises(ValueError, match="lora_layers must be >= 1"):
        LoraArguments(lora_layers=0)
