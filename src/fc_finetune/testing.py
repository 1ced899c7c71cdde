"""Tiny random models and a real (small) tokenizer, built in-process for tests.

Nothing here touches the network or the cache: the tokenizer is a byte-level BPE
trained in milliseconds on a built-in corpus, so any text (JSON arguments included)
encodes, offsets are exact, and results are the same on every machine.

>>> tok = tiny_tokenizer()
>>> model = tiny_model("qwen2", vocab_size=len(tok))
"""

from __future__ import annotations

import functools
import json
import random
from typing import Any

import jinja2
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    GPT2Config,
    LlamaConfig,
    MistralConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

from .data.templates import builtin_template

TINY_ARCHS = ("llama", "qwen2", "mistral", "gpt2")

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# ChatML, as SmolLM2 and Qwen use; no default system prompt so tests stay short.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + (message['content'] or '') + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _corpus(seed: int = 0) -> list[str]:
    """Short English and JSON-ish lines covering what tool-calling prompts contain."""
    rng = random.Random(seed)
    words = ("the weather in paris is sunny today what time is it convert 10 miles to km please "
             "book a table for two at eight find flights from london to tokyo on monday calculate "
             "the area of a circle with radius 3 send an email to alice about the meeting you can "
             "call functions here are the tools available answer the user directly thank you "
             "hello how are you i am fine result error none true false null").split()
    keys = ["name", "arguments", "location", "unit", "city", "date", "amount", "query", "type",
            "description", "parameters", "properties", "required", "string", "integer", "number"]
    lines = []
    for _ in range(400):
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(4, 14))))
        obj = {rng.choice(keys): rng.choice([rng.choice(words), rng.randint(0, 999), rng.random() > 0.5])
               for _ in range(rng.randint(1, 4))}
        lines.append(json.dumps({"name": rng.choice(words) + "_" + rng.choice(words), "arguments": obj}))
    lines += [_rendered_builtin_template()] * 100
    lines += ["<tool_call>", "</tool_call>", "<tools>", "</tools>", "<tool_response>", "</tool_response>",
              "0123456789 .,:;!?'\"{}[]()-_+=*/\\@#$%&<>|~`^"]
    return lines


def _rendered_builtin_template() -> str:
    """The built-in tool template rendered once, so its fixed text tokenises compactly."""
    env = jinja2.Environment()
    env.filters["tojson"] = lambda x: json.dumps(x, ensure_ascii=False)
    tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    messages = [{"role": "user", "content": "hi"},
                {"role": "assistant", "content": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "x"}}]},
                {"role": "tool", "name": "get_weather", "content": "{}"}]
    return env.from_string(builtin_template()).render(messages=messages, tools=[tool], add_generation_prompt=True)


@functools.lru_cache(maxsize=4)
def _tokenizer_json(vocab_size: int) -> str:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return tok.to_str()


def tiny_tokenizer(vocab_size: int = 1024):
    """A fast byte-level BPE tokenizer with ChatML special tokens and chat template."""
    backend = Tokenizer.from_str(_tokenizer_json(vocab_size))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>",
        pad_token="<|endoftext|>", unk_token="<|endoftext|>", model_max_length=2048,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def tiny_config(arch: str = "llama", *, vocab_size: int = 512, hidden_size: int = 64, num_layers: int = 2,
                num_heads: int = 4, tie_word_embeddings: bool | None = None, max_positions: int = 2048,
                **overrides: Any):
    """A transformers config for a tiny decoder of the given architecture family."""
    if arch not in TINY_ARCHS:
        raise ValueError(f"Unknown tiny architecture '{arch}'; choose one of {TINY_ARCHS}.")
    ids = {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
    if arch == "gpt2":
        tie = True if tie_word_embeddings is None else tie_word_embeddings
        cfg = GPT2Config(vocab_size=vocab_size, n_embd=hidden_size, n_layer=num_layers, n_head=num_heads,
                         n_positions=max_positions, tie_word_embeddings=tie, **ids)
    else:
        cls = {"llama": LlamaConfig, "qwen2": Qwen2Config, "mistral": MistralConfig}[arch]
        # Defaults mirror the families: SmolLM2-like Llama is tied, Qwen2/Mistral untied.
        tie = (arch == "llama") if tie_word_embeddings is None else tie_word_embeddings
        cfg = cls(vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=hidden_size * 2,
                  num_hidden_layers=num_layers, num_attention_heads=num_heads,
                  num_key_value_heads=max(1, num_heads // 2), max_position_embeddings=max_positions,
                  tie_word_embeddings=tie, **ids)
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def tiny_model(arch: str = "llama", *, seed: int = 0, dtype: Any = None, **config_kwargs: Any):
    """A randomly initialised ``AutoModelForCausalLM`` (seeded, so weights are reproducible)."""
    cfg = tiny_config(arch, **config_kwargs)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, dtype=dtype or torch.float32)
    model.eval()
    return model


def tiny_model_and_tokenizer(arch: str = "llama", *, vocab_size: int = 1024, seed: int = 0, **config_kwargs: Any):
    """A tiny model whose embedding matches the tiny tokenizer's vocabulary."""
    tokenizer = tiny_tokenizer(vocab_size)
    model = tiny_model(arch, vocab_size=len(tokenizer), seed=seed, **config_kwargs)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, tokenizer
