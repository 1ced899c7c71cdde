"""The selector learns a synthetic selection task in seconds on a tiny model, and transfers
to tools it never saw in training (new names, and colours never offered in training)."""

import random

import torch
from helpers.selection_task import COLOURS, COMPACT_TOOL_TEMPLATE, dataset

from fc_finetune.data.collate import FunctionCallingCollator, encode_record
from fc_finetune.data.render import render_record
from fc_finetune.data.templates import prepare_tokenizer
from fc_finetune.model.config import HeadArguments, LoraArguments
from fc_finetune.model.modeling import FunctionCallingModel
from fc_finetune.testing import tiny_model_and_tokenizer


def first_decision_accuracy(model, collate, examples):
    with torch.no_grad():
        batch = collate(examples)
        out = model(**batch)
    n_tools = batch["tool_mask"].shape[1]
    target = batch["decision_target"][:, 0].clone()
    target[target == -1] = n_tools
    return (out.select_logits[:, 0].argmax(-1) == target).float().mean().item()


def _task(request_match: bool):
    # Mistral-style sliding-window attention lets a 2-layer random model see the request
    # from the decision point; the heads and LoRA still have to learn the matching.
    lm, tok = tiny_model_and_tokenizer("mistral", sliding_window=6, seed=0)
    tok.chat_template = COMPACT_TOOL_TEMPLATE
    prepare_tokenizer(tok)
    torch.manual_seed(0)
    model = FunctionCallingModel.from_base(lm, lora=LoraArguments(lora_r=8, lora_dropout=0.0),
                                           heads=HeadArguments(argument_head=False, w_lm=0.0,
                                                               request_match=request_match))
    encode = lambda records: [encode_record(render_record(r, tok), tok) for r in records]  # noqa: E731
    collate = FunctionCallingCollator(tok.pad_token_id)
    return model, encode, collate


def test_request_match_ranks_tools_by_shared_words_before_any_training():
    """Untrained, the request match already picks the tool whose definition names the
    request's colour (the bilinear term alone is at chance, about 0.25, see below)."""
    model, encode, collate = _task(request_match=True)
    model.eval()
    accuracy = first_decision_accuracy(model, collate, encode(dataset(1, 96, colours=COLOURS[:12],
                                                                      name_prefix="unseen")))
    assert accuracy >= 0.6


def test_selector_learns_and_transfers_to_unseen_tools():
    # The bilinear term on its own (without the request match, which knows this task untrained).
    model, encode, collate = _task(request_match=False)
    train = encode(dataset(0, 256, colours=COLOURS[:12], name_prefix="fn"))
    new_names = encode(dataset(1, 96, colours=COLOURS[:12], name_prefix="unseen"))
    new_colours = encode(dataset(2, 96, colours=COLOURS[8:], name_prefix="other"))

    model.eval()
    before = first_decision_accuracy(model, collate, new_names)
    heads = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("heads.")]
    lora = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("heads.")]
    opt = torch.optim.AdamW([{"params": heads, "lr": 1e-2}, {"params": lora, "lr": 1e-3}])
    rng = random.Random(0)
    model.train()
    for _ in range(250):
        out = model(**collate(rng.sample(train, 16)))
        out.loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    seen = first_decision_accuracy(model, collate, train[:96])
    unseen_names = first_decision_accuracy(model, collate, new_names)
    unseen_colours = first_decision_accuracy(model, collate, new_colours)
    print(f"first-decision accuracy: before {before:.2f}, train {seen:.2f}, "
          f"unseen names {unseen_names:.2f}, partly unseen colours {unseen_colours:.2f}")
    assert before < 0.5
    assert seen >= 0.95
    assert unseen_names >= 0.85
    assert unseen_colours >= 0.45  # chance is about 0.25
