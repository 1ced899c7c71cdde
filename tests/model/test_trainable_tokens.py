"""trainable_tokens: whole rows of a few tokens trained beside LoRA (a base whose tags were never
trained), saved in the adapter and restored by plain peft."""

import logging

import pytest
import torch
from helpers.models import batch_for

from fc_finetune.data.templates import prepare_tokenizer
from fc_finetune.model.compat import quiet_library_deprecations
from fc_finetune.model.config import HeadArguments, LoraArguments
from fc_finetune.model.io import export_merged
from fc_finetune.model.modeling import FunctionCallingModel
from fc_finetune.testing import tiny_model_and_tokenizer

ROWS = (300, 301)


def _model(arch, tmp_path, **lora):
    lm, tok = tiny_model_and_tokenizer(arch, num_layers=3)
    prepare_tokenizer(tok)
    lm.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    args = LoraArguments(lora_dropout=0.0, trainable_tokens=tok.convert_ids_to_tokens(list(ROWS)), **lora)
    model = FunctionCallingModel.from_base(str(tmp_path / "base"), lora=args, heads=HeadArguments(),
                                           dtype=torch.float32, token_ids=args.token_ids(tok))
    return model, tok


def _rows(model):
    base = model.lm.get_base_model()
    out = base.get_output_embeddings()
    inp = base.get_input_embeddings()
    weight = lambda m: (m.token_adapter.base_layer if hasattr(m, "token_adapter") else m).weight  # noqa: E731
    return weight(out).detach().clone(), weight(inp).detach().clone(), out(torch.eye(64)).T.detach()


def _step(model, tok):
    model.train()
    loss = model(**batch_for(tok)).loss
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p.sub_(0.5 * p.grad)
                p.grad = None
    model.eval()


def test_untied_output_rows_train_and_only_they_with_lora_layers(tmp_path):
    model, tok = _model("qwen2", tmp_path, lora_layers=1)
    deltas = {n: p for n, p in model.named_parameters() if "trainable_tokens_delta" in n}
    trained = {n for n, p in deltas.items() if p.requires_grad}
    assert trained and all("lm_head" in n for n in trained), "with lora_layers: the output layer's rows only"
    assert all(p.shape == (len(ROWS), 64) for p in deltas.values())
    kept = [p for n, p in deltas.items() if "embed_tokens" in n]  # in the adapter, frozen
    assert len(kept) == 1 and not kept[0].requires_grad
    embed = model.lm.get_input_embeddings()
    inputs_before = embed(torch.arange(64)).detach().clone()
    out_before, in_before, effective_before = _rows(model)
    _step(model, tok)
    out_after, in_after, effective_after = _rows(model)
    assert torch.equal(out_before, out_after) and torch.equal(in_before, in_after), "base weights stay frozen"
    changed = (effective_after - effective_before).abs().sum(dim=1) > 0
    assert changed[list(ROWS)].all() and changed.sum() == len(ROWS), "exactly the named rows moved"
    assert torch.equal(embed(torch.arange(64)), inputs_before), "backpropagation never reached the input rows"
    assert kept[0].grad is None


def test_input_rows_that_are_copies_start_from_their_spelling_and_are_saved(tmp_path):
    """A base whose tags were never trained (their input rows copies of the padding row) would read
    both tags alike; each such row starts as the mean of its spelling's rows, and plain peft
    restores it. A row of its own is left as it is."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    lm, tok = tiny_model_and_tokenizer("qwen2", num_layers=3)
    prepare_tokenizer(tok)
    with torch.no_grad():
        lm.get_input_embeddings().weight[ROWS[0]] = lm.get_input_embeddings().weight[5]  # a copy
    lm.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    base_rows = lm.get_input_embeddings().weight.detach().clone()
    args = LoraArguments(lora_dropout=0.0, lora_layers=1, trainable_tokens=tok.convert_ids_to_tokens(list(ROWS)))
    spellings = args.token_ids(tok)
    assert all(len(pieces) >= 2 and ROWS[0] not in pieces for pieces in spellings.values())
    model = FunctionCallingModel.from_base(str(tmp_path / "base"), lora=args, heads=HeadArguments(),
                                           dtype=torch.float32, token_ids=spellings)
    embed = model.lm.get_input_embeddings()
    rows = embed(torch.tensor(ROWS)).detach()
    assert torch.allclose(rows[0], base_rows[spellings[ROWS[0]]].mean(0)), "the copy starts from its spelling"
    assert torch.equal(rows[1], base_rows[ROWS[1]]), "a row of its own is left"
    model.save_pretrained(tmp_path / "out", tokenizer=tok)
    base = AutoModelForCausalLM.from_pretrained(tmp_path / "base", dtype=torch.float32)
    with quiet_library_deprecations():
        plain = PeftModel.from_pretrained(base, tmp_path / "out").eval()
    assert torch.allclose(plain.get_input_embeddings()(torch.tensor(ROWS)), rows)
    loaded = FunctionCallingModel.from_pretrained(tmp_path / "out", dtype=torch.float32)
    assert torch.equal(loaded.lm.get_input_embeddings()(torch.tensor(ROWS)), rows)
    export_merged(model, tmp_path / "merged", dtype=torch.float32)  # a server without adapters
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", dtype=torch.float32)
    assert torch.allclose(merged.get_input_embeddings()(torch.tensor(ROWS)), rows)


def test_without_lora_layers_the_input_rows_train_too_and_a_tied_model_shares_them(tmp_path, caplog):
    untied, _ = _model("qwen2", tmp_path / "a")
    names = [n for n, _ in untied.named_parameters() if "trainable_tokens_delta" in n]
    assert any("lm_head" in n for n in names) and any("embed_tokens" in n for n in names)
    with caplog.at_level(logging.WARNING):
        tied, _ = _model("llama", tmp_path / "b", lora_layers=1)
    assert "tied" in caplog.text
    names = [n for n, _ in tied.named_parameters() if "trainable_tokens_delta" in n]
    assert len(names) == 1 and "embed_tokens" in names[0]


def test_trained_rows_survive_save_and_load_and_plain_peft(tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model, tok = _model("qwen2", tmp_path, lora_layers=1)
    _step(model, tok)
    model.save_pretrained(tmp_path / "out", tokenizer=tok)
    loaded = FunctionCallingModel.from_pretrained(tmp_path / "out", dtype=torch.float32)
    ids = batch_for(tok)["input_ids"]
    base = AutoModelForCausalLM.from_pretrained(tmp_path / "base", dtype=torch.float32)
    with torch.no_grad():
        ours = model.lm(input_ids=ids).logits
        assert torch.equal(loaded.lm(input_ids=ids).logits, ours)
        untouched = base(input_ids=ids).logits
        with quiet_library_deprecations():
            plain = PeftModel.from_pretrained(base, tmp_path / "out").eval()
        assert torch.allclose(plain(input_ids=ids).logits, ours, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(ours[..., list(ROWS)], untouched[..., list(ROWS)], atol=1e-3)


def test_a_token_that_is_not_one_token_is_a_clear_error():
    _, tok = tiny_model_and_tokenizer("qwen2")
    with pytest.raises(ValueError, match=r"'<no such tag>' is not one token"):
        LoraArguments(trainable_tokens=["<no such tag>"]).token_ids(tok)
    assert LoraArguments(trainable_tokens="a b").trainable_tokens == ["a", "b"]


def test_token_rows_take_the_heads_rate_without_decay_or_their_own(tmp_path):
    from fc_finetune.training.config import FunctionCallingTrainingArguments
    from fc_finetune.training.trainer import FunctionCallingTrainer

    model, _ = _model("qwen2", tmp_path, lora_layers=1)
    rows = [p for n, p in model.named_parameters() if "trainable_tokens_delta" in n and p.requires_grad]
    lora = [p for n, p in model.named_parameters() if "lora_A" in n]
    for token_rate, rows_rate in ((None, 1e-3), (3e-4, 3e-4)):
        args = FunctionCallingTrainingArguments(output_dir=str(tmp_path / "run"), use_cpu=True, report_to="none",
                                                remove_unused_columns=False, weight_decay=0.1, learning_rate=1e-4,
                                                head_learning_rate=1e-3, token_learning_rate=token_rate)
        optimizer = FunctionCallingTrainer(model=model, args=args, data_collator=lambda x: x).create_optimizer()
        group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
        assert rows and all(group_of[id(p)]["weight_decay"] == 0.0 and group_of[id(p)]["lr"] == rows_rate
                            for p in rows)
        assert all(group_of[id(p)]["weight_decay"] == 0.1 and group_of[id(p)]["lr"] == 1e-4
                   for p in lora)  # whole rows are weights, not a delta
        assert all(group_of[id(p)]["lr"] == 1e-3 for p in model.heads.parameters())


@pytest.mark.parametrize("arch", ["qwen2", "llama"])  # untied; tied (one set of rows, two wrappers)
def test_loaded_for_inference_the_rows_are_merged_once_and_change_nothing(tmp_path, arch):
    from peft.tuners.trainable_tokens.layer import TrainableTokensLayer
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    model, tok = _model(arch, tmp_path, lora_layers=1)
    _step(model, tok)
    model.save_pretrained(tmp_path / "out", tokenizer=tok)
    loaded = FunctionCallingModel.from_pretrained(tmp_path / "out", dtype=torch.float32)
    layers = [m for m in loaded.lm.modules() if isinstance(m, TrainableTokensLayer)]
    assert layers and all(m.merged for m in layers)
    for m in layers:  # the base weight now holds the trained rows: peft's forward no longer patches it
        name = m.active_adapters[0]
        assert torch.equal(m.base_layer.weight[m.token_indices[name]], m.trainable_tokens_delta[name])
    ids = batch_for(tok)["input_ids"]
    base = AutoModelForCausalLM.from_pretrained(tmp_path / "base", dtype=torch.float32).eval()
    with torch.no_grad():
        assert torch.equal(loaded.lm(input_ids=ids).logits, model.lm(input_ids=ids).logits)
        with loaded.lm.disable_adapter():  # unmerges: the base model's rows again
            assert torch.allclose(loaded.lm(input_ids=ids).logits, base(input_ids=ids).logits, atol=1e-6)
    loaded.save_pretrained(tmp_path / "again", tokenizer=tok)
    first, again = (load_file(tmp_path / d / "adapter_model.safetensors") for d in ("out", "again"))
    rows = [k for k in first if "trainable_tokens" in k]
    assert rows and all(torch.equal(first[k], again[k]) for k in rows)
