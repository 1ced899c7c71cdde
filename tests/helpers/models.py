"""Tiny FunctionCallingModels and batches shared by the model, training and hub tests."""

import torch

from fc_finetune.data.collate import FunctionCallingCollator, encode_record
from fc_finetune.data.render import render_record
from fc_finetune.data.templates import prepare_tokenizer
from fc_finetune.model.config import HeadArguments, LoraArguments
from fc_finetune.model.modeling import FunctionCallingModel
from fc_finetune.testing import tiny_model_and_tokenizer
from helpers.fc_records import multi_turn_record, parallel_record


def make(arch="llama", heads=None, lora=None, seed=0, **kwargs):
    lm, tok = tiny_model_and_tokenizer(arch, **kwargs)
    prepare_tokenizer(tok)
    torch.manual_seed(seed)
    model = FunctionCallingModel.from_base(lm, lora=lora or LoraArguments(lora_dropout=0.0), heads=heads or HeadArguments())
    return model, tok


def batch_for(tok, records=None):
    records = records or [parallel_record(), multi_turn_record(2)]
    return FunctionCallingCollator(tok.pad_token_id)([encode_record(render_record(r, tok), tok) for r in records])


def perturb(model, seed=1):
    """Give LoRA and the heads non-trivial values (as after training)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * 0.05)
