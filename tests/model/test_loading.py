import pytest
import torch

from fc_finetune.errors import ModelLoadError, ModelNotFoundError
from fc_finetune.model.loading import load_causal_lm, load_tokenizer, resolve_model_path
from fc_finetune.testing import tiny_model_and_tokenizer


@pytest.fixture(scope="module")
def saved_tiny(tmp_path_factory):
    model, tokenizer = tiny_model_and_tokenizer("qwen2")
    folder = tmp_path_factory.mktemp("tiny-qwen2")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, model


def test_local_folder_round_trip(saved_tiny):
    folder, model = saved_tiny
    loaded = load_causal_lm(folder, dtype=torch.float32)
    ids = torch.tensor([[5, 6, 7, 8]])
    assert torch.equal(loaded(ids).logits, model(ids).logits)
    assert load_tokenizer(folder).pad_token == "<|endoftext|>"


def test_hub_ids_pass_through():
    assert resolve_model_path("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_unknown_alias_suggests_close_match():
    with pytest.raises(ModelNotFoundError, match="Did you mean 'smollm2-135m'"):
        resolve_model_path("smollm2-135")


@pytest.mark.parametrize("ref", ["./no/such/folder", "/no/such/folder", "~/no-such-model"])
def test_missing_folder(ref):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model_path(ref)


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_model_path(tmp_path)


def test_file_instead_of_folder(tmp_path):
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="is a file"):
        resolve_model_path(f)


def test_pickle_only_checkpoint_is_refused(saved_tiny, tmp_path):
    folder, model = saved_tiny
    (tmp_path / "config.json").write_text((folder / "config.json").read_text())
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(ModelLoadError) as info:
        load_causal_lm(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_corrupt_safetensors(saved_tiny, tmp_path):
    folder, _ = saved_tiny
    (tmp_path / "config.json").write_text((folder / "config.json").read_text())
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(ModelLoadError, match="Could not load the model"):
        load_causal_lm(tmp_path)


def test_loading_shows_no_weight_bar_and_leaves_the_setting_as_it_was(saved_tiny, capsys):
    from transformers.utils import logging as hf_logging

    folder, _ = saved_tiny
    hf_logging.enable_progress_bar()
    load_causal_lm(folder, dtype=torch.float32)
    assert "Loading weights" not in capsys.readouterr().err
    assert hf_logging.is_progress_bar_enabled()
