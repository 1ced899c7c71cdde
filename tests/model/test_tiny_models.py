import pytest
import torch

from fc_finetune.testing import (
    TINY_ARCHS,
    _tokenizer_json,
    tiny_model,
    tiny_model_and_tokenizer,
    tiny_tokenizer,
)


def test_tokenizer_is_deterministic_and_lossless():
    assert _tokenizer_json.__wrapped__(1024) == _tokenizer_json(1024)
    tok = tiny_tokenizer()
    assert len(tok) == 1024
    text = '{"name": "get_weather", "arguments": {"city": "São Paulo", "days": [1, 2]}} 天气'
    enc = tok(text, return_offsets_mapping=True)
    assert tok.decode(enc.input_ids) == text
    # Offsets index the original string (what the collator relies on): in order, in
    # bounds, and together covering every character.
    covered = set()
    for (a, b), (c, _) in zip(enc.offset_mapping, enc.offset_mapping[1:] + [(len(text), 0)], strict=True):
        assert 0 <= a <= b <= len(text) and a <= c
        covered.update(range(a, b))
    assert covered == set(range(len(text)))


def test_chat_template_renders_chatml(tiny_tok):
    text = tiny_tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                        add_generation_prompt=True)
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tiny_tok.convert_tokens_to_ids("<|im_end|>") == tiny_tok.eos_token_id


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_every_architecture_trains_a_step(arch):
    model, tok = tiny_model_and_tokenizer(arch)
    assert model.config.vocab_size == len(tok)
    assert sum(p.numel() for p in model.parameters()) < 400_000
    ids = tok(["the weather in paris", "book a table"], return_tensors="pt", padding=True)
    model.train()
    before = model.get_output_embeddings().weight.detach().clone()
    out = model(**ids, labels=ids.input_ids.masked_fill(ids.attention_mask == 0, -100))
    out.loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert torch.isfinite(out.loss)
    assert not torch.equal(before, model.get_output_embeddings().weight)


@pytest.mark.parametrize("arch,tied", [("llama", True), ("qwen2", False), ("mistral", False), ("gpt2", True)])
def test_tied_defaults_and_override(arch, tied):
    model = tiny_model(arch)
    shared = model.get_input_embeddings().weight.data_ptr() == model.get_output_embeddings().weight.data_ptr()
    assert shared is tied
    flipped = tiny_model(arch, tie_word_embeddings=not tied)
    assert flipped.config.tie_word_embeddings is (not tied)


def test_seeded_weights_are_reproducible():
    a, b = tiny_model("llama", seed=3), tiny_model("llama", seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_unknown_arch():
    with pytest.raises(ValueError, match="Unknown tiny architecture"):
        tiny_model("mamba")
