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


# -- hardening (issue 16): a folder that is not a model says so (it was a message about sentencepiece) ----

def test_folder_with_a_random_file_is_not_a_model_folder(tmp_path):
    (tmp_path / "random.bin").write_bytes(b"\x00\x01garbage")
    for load in (load_tokenizer, load_causal_lm):
        with pytest.raises(ModelNotFoundError) as info:
            load(tmp_path)
        message = str(info.value)
        assert "is not a model folder" in message and "no config.json" in message and "random.bin" in message
        assert "A model folder holds config.json, the weights" in message and "tokenizer" in message


def test_config_without_weights_or_tokenizer_is_not_a_model(saved_tiny, tmp_path):
    folder, _ = saved_tiny
    (tmp_path / "config.json").write_text((folder / "config.json").read_text())
    with pytest.raises(ModelLoadError, match="holds no tokenizer") as info:  # was: sentencepiece or tiktoken
        load_tokenizer(tmp_path)
    assert "sentencepiece" not in str(info.value) and "A model folder holds" in str(info.value)
    with pytest.raises(ModelLoadError, match="has a config.json but no weights"):
        load_causal_lm(tmp_path)


@pytest.mark.parametrize("text", ["{}", "not json", "[1, 2]"])
def test_config_that_is_not_a_model_config(tmp_path, text):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ModelLoadError, match="is not a transformers model config"):
        load_tokenizer(tmp_path)


def test_train_on_a_folder_that_is_not_a_model_is_one_line(tmp_path, capsys):
    from fc_finetune.cli import main

    (tmp_path / "notes.txt").write_text("hello")
    train = tmp_path / "train.jsonl"
    train.write_text('{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}], '
                     '"tools": []}\n')
    assert main(["train", "--model_name_or_path", str(tmp_path), "--train_data", str(train),
                 "--output_dir", str(tmp_path / "out"), "--use_cpu", "true"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err[-1].startswith("fc-finetune: error:") and "is not a model folder" in err[-1]
