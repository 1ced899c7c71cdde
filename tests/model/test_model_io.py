"""Saving and loading: identical outputs, plain-peft compatibility, clear errors."""

import json

import pytest
import torch
from helpers.models import batch_for, perturb

from fc_finetune.errors import ModelLoadError, ModelNotFoundError
from fc_finetune.model.compat import quiet_library_deprecations
from fc_finetune.model.io import ADAPTER_WEIGHTS, CONFIG_NAME, HEADS_NAME, load_tokenizer_for
from fc_finetune.model.modeling import FunctionCallingModel


def test_folder_holds_adapter_heads_config_tokenizer(saved):
    root, model, _ = saved
    out = root / "out"
    for name in (ADAPTER_WEIGHTS, "adapter_config.json", HEADS_NAME, CONFIG_NAME, "tokenizer.json", "chat_template.jinja"):
        assert (out / name).is_file(), name
    assert not list(out.glob("*.bin")) and not list(out.glob("*.pt")), "nothing is pickled"
    config = json.loads((out / CONFIG_NAME).read_text())
    assert config["base_model"] == str(root / "base")
    assert config["base_fingerprint"] == model.fingerprint
    assert config["heads"]["selector_head"] is True


def test_round_trip_gives_identical_outputs(saved):
    root, model, tok = saved
    loaded = FunctionCallingModel.from_pretrained(root / "out", dtype=torch.float32)
    batch = batch_for(tok)
    with torch.no_grad():
        a, b = model(**batch), loaded(**batch)
        ids = batch["input_ids"]
        assert torch.equal(model(input_ids=ids).logits, loaded(input_ids=ids).logits)
    for name in ("select_logits", "loss", "loss_lm", "loss_select", "loss_param"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert not any(p.requires_grad for p in loaded.parameters()), "loaded for inference"
    tok2 = load_tokenizer_for(root / "out")
    assert tok2.chat_template == tok.chat_template


def test_adapter_loads_in_plain_peft_and_generates(saved):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    root, model, tok = saved
    base = AutoModelForCausalLM.from_pretrained(root / "base", dtype=torch.float32)
    with quiet_library_deprecations():  # plain peft reads transformers' deprecated is_gradient_checkpointing
        plain = PeftModel.from_pretrained(base, root / "out").eval()
    ids = batch_for(tok)["input_ids"]
    with torch.no_grad():
        # Same weights, same map; ours scales LoRA's rank-r intermediate instead of its
        # output (lora_forward), which moves the last float32 bits only.
        assert torch.allclose(plain(input_ids=ids).logits, model.lm(input_ids=ids).logits, rtol=1e-5, atol=1e-5)
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True,
                                     return_tensors="pt", return_dict=True)
    out = plain.generate(**prompt, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 4


def test_wrong_base_is_a_clear_error(saved, tmp_path):
    from fc_finetune.testing import tiny_model

    root, _, _ = saved
    tiny_model("qwen2", hidden_size=32).save_pretrained(tmp_path / "other")
    with pytest.raises(ModelLoadError, match="does not match") as info:
        FunctionCallingModel.from_pretrained(root / "out", base_model=str(tmp_path / "other"))
    assert "hidden_size: trained 64 vs given 32" in str(info.value)


def test_missing_and_corrupt_files(saved, tmp_path):
    import shutil

    root, _, _ = saved
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        FunctionCallingModel.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(ModelLoadError, match="not an fc-finetune model"):
        FunctionCallingModel.from_pretrained(root / "base")
    broken = tmp_path / "broken"
    shutil.copytree(root / "out", broken)
    (broken / HEADS_NAME).unlink()
    with pytest.raises(ModelLoadError, match="no fc_heads.safetensors"):
        FunctionCallingModel.from_pretrained(broken)
    shutil.copy(root / "out" / HEADS_NAME, broken / HEADS_NAME)
    data = (broken / HEADS_NAME).read_bytes()
    (broken / HEADS_NAME).write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="corrupt") as info:
        FunctionCallingModel.from_pretrained(broken)
    assert HEADS_NAME in str(info.value)
    (broken / HEADS_NAME).write_bytes(data)
    (broken / ADAPTER_WEIGHTS).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json")
    with pytest.raises(ModelLoadError, match="LoRA adapter"):
        FunctionCallingModel.from_pretrained(broken)
    (broken / CONFIG_NAME).write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        FunctionCallingModel.from_pretrained(broken)


def test_bundled_alias_is_written_as_upstream_hub_id(saved, tmp_path):
    _, model, tok = saved
    original = model.base_model
    model.base_model = "smollm2-135m"
    try:
        model.save_pretrained(tmp_path / "m")
    finally:
        model.base_model = original
    adapter = json.loads((tmp_path / "m" / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert json.loads((tmp_path / "m" / CONFIG_NAME).read_text())["base_model"] == "smollm2-135m"


def test_save_is_atomic(saved, tmp_path, monkeypatch):
    import copy

    _, model, tok = saved
    model = copy.deepcopy(model)
    model.save_pretrained(tmp_path / "m", tokenizer=tok)
    before = (tmp_path / "m" / HEADS_NAME).read_bytes()

    def boom(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(type(tok), "save_pretrained", boom)
    perturb(model, seed=7)
    with pytest.raises(RuntimeError):
        model.save_pretrained(tmp_path / "m", tokenizer=tok)
    assert (tmp_path / "m" / HEADS_NAME).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_export_merged_is_a_plain_model_with_the_same_outputs(saved, tmp_path):
    from transformers import AutoModelForCausalLM

    from fc_finetune.cli import main as cli_main

    root, model, tok = saved
    assert cli_main(["export", "--model", str(root / "out"), "--out", str(tmp_path / "merged"), "--dtype", "float32"]) == 0
    assert not (tmp_path / "merged" / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", dtype=torch.float32)
    ids = batch_for(tok)["input_ids"]
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, model.lm(input_ids=ids).logits, atol=1e-4)
    assert (tmp_path / "merged" / "chat_template.jinja").is_file()


def test_call_decision_is_saved_and_older_folders_keep_the_softmax_rule(saved, tmp_path):
    import shutil

    root, model, _ = saved
    assert model.call_decision == "pairwise"
    config = json.loads((root / "out" / CONFIG_NAME).read_text())
    assert config["call_decision"] == "pairwise"
    assert FunctionCallingModel.from_pretrained(root / "out").call_decision == "pairwise"
    older = tmp_path / "older"  # saved before the rule was: thresholds fitted on the softmax's P(NO_CALL)
    shutil.copytree(root / "out", older)
    del config["call_decision"]
    (older / CONFIG_NAME).write_text(json.dumps(config))
    assert FunctionCallingModel.from_pretrained(older).call_decision == "softmax"
    with pytest.raises(ValueError, match="call_decision 'best' is not one of"):
        FunctionCallingModel(model.lm, model.head_args, base_model="x", call_decision="best")
