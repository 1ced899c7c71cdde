"""The selector's request match on hand-made hidden states."""

import torch

from fc_finetune.model.heads import RequestMatch


def test_request_match_scores_the_tool_whose_tokens_the_request_repeats():
    torch.manual_seed(0)
    states = torch.randn(1, 20, 8)
    states[0, 14:17] = states[0, 6:9]  # the request's three tokens are tool 1's
    spans = torch.tensor([[[2, 6], [6, 10], [0, 0]]])  # tools 0 and 1, a padded third
    mask = torch.tensor([[True, True, False]])
    requests = torch.tensor([[[14, 17], [0, 0]]])  # decision 0 asks; decision 1 has no request
    match = RequestMatch(8)(states, spans, mask, requests)
    assert match.shape == (1, 2, 3)
    assert torch.allclose(match[0, 0, 1], torch.tensor(1.0), atol=1e-5)  # identity P: cosine 1 with itself
    assert match[0, 0, 0] < 0.9
    assert match[0, 0, 2] == 0 and torch.all(match[0, 1] == 0)  # a padded tool, an empty request


def test_request_match_learns_only_its_own_parameters():
    match = RequestMatch(8)
    states = torch.randn(1, 12, 8, requires_grad=True)
    out = match(states, torch.tensor([[[0, 4], [4, 8]]]), torch.tensor([[True, True]]), torch.tensor([[[8, 12]]]))
    out.sum().backward()
    assert states.grad is None  # the LM's states are read, not trained through
    assert match.proj.grad is not None and match.proj.grad.abs().sum() > 0
