"""The selector's request match on hand-made hidden states, with and without coverage."""

import pytest
import torch

from fc_finetune.model.heads import RequestMatch, no_call_probability, served_calls


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


def test_served_calls_are_those_between_the_request_and_the_decision():
    calls = torch.tensor([[[4, 6], [12, 15], [20, 24], [0, 0]]])  # before the request, two after, a pad
    requests = torch.tensor([[[8, 11], [8, 11], [0, 0]]])
    decisions = torch.tensor([[11, 19, 25]])  # before any call, after the second, no request
    served = served_calls(calls, requests, decisions)
    assert served.tolist() == [[[False, False, False, False],
                                [False, True, False, False],
                                [False, False, False, False]]]


def test_coverage_discounts_the_request_tokens_a_call_repeats():
    """Request tokens 14-16 are tool 1's tokens 6-8; a call (tokens 18-19) repeats request token 14
    exactly: served, that token weighs (1 - 1)^2 = 0 and the other two keep their scores."""
    torch.manual_seed(0)
    states = torch.randn(1, 24, 8)
    states[0, 14:17] = states[0, 6:9]
    states[0, 18] = states[0, 14]
    spans = torch.tensor([[[2, 6], [6, 10]]])
    mask = torch.tensor([[True, True]])
    requests = torch.tensor([[[14, 17], [14, 17]]])
    calls = torch.tensor([[[18, 20]]])
    served = served_calls(calls, requests, torch.tensor([[17, 21]]))  # decision 0 before the call, 1 after
    assert served[0, :, 0].tolist() == [False, True]
    match = RequestMatch(8, coverage=True)
    scores = match(states, spans, mask, requests, calls, served)
    plain = match(states, spans, mask, requests)
    assert torch.allclose(scores[0, 0], plain[0, 0])  # nothing served yet: the plain match
    assert torch.allclose(plain[0, 0, 1], torch.tensor(1.0), atol=1e-5)
    centre = states[0, 2:10].mean(0)
    unit = torch.nn.functional.normalize(states[0] - centre, dim=-1)
    cover = (unit[15:17] @ unit[18:20].T).amax(-1).clamp(0, 1)  # the other two tokens' coverage
    expected = ((1 - cover) ** 2).sum() / 3  # token 14: weight 0; tokens 15, 16: cosine 1 with tool 1
    assert torch.allclose(scores[0, 1, 1], expected, atol=1e-5)
    assert scores[0, 1, 1] < plain[0, 1, 1] - 0.3


def test_coverage_is_off_unless_asked():
    states = torch.randn(1, 12, 8)
    args = (states, torch.tensor([[[0, 4]]]), torch.tensor([[True]]), torch.tensor([[[4, 8]]]),
            torch.tensor([[[8, 12]]]), torch.tensor([[[True]]]))
    assert torch.equal(RequestMatch(8)(*args), RequestMatch(8)(*args[:4]))
    assert not torch.equal(RequestMatch(8, coverage=True)(*args), RequestMatch(8)(*args[:4]))


def test_pending_counts_the_tagged_request_tokens_no_served_call_took():
    """Request tokens 4-8; tokens 4 and 5 are taken by call 0, token 6 by call 1, tokens 7 and 8
    by none. The tag marks tokens 4, 6, 7 as values (positive score) and 5, 8 not: after call 0
    only, pending = |{6, 7}| / sqrt(|{4, 6, 7}|); after both, |{7}| / sqrt(3)."""
    torch.manual_seed(0)
    states = torch.randn(1, 12, 8)
    requests = torch.tensor([[[4, 9], [4, 9], [4, 9]]])  # before the calls, after call 0, after both
    cover = torch.full((1, 12), -100)
    cover[0, 4:9] = torch.tensor([0, 0, 1, -1, -1])
    served = torch.tensor([[[False, False], [True, False], [True, True]]])
    match = RequestMatch(8, pending=True)
    x = states[0, 4:9]
    unit = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
    sign = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0])
    with torch.no_grad():  # w = sum of sign_i * unit_i, scaled so each token's own term dominates
        match.value[:-1] = torch.linalg.lstsq(unit, sign[:, None]).solution[:, 0]
        match.value[-1] = 0.0
    tags = unit @ match.value[:-1]
    assert torch.equal(tags > 0, sign > 0)
    pending, loss = match.pending(states, requests, cover, served)
    assert pending[0, 0] == 0  # no call serves it yet: no pending term
    assert torch.allclose(pending[0, 1], torch.tensor(2 / 3 ** 0.5))
    assert torch.allclose(pending[0, 2], torch.tensor(1 / 3 ** 0.5))
    expected = torch.nn.functional.binary_cross_entropy_with_logits(tags, torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0]),
                                                                    reduction="sum")
    assert torch.allclose(loss, expected, atol=1e-5)
    loss.backward()
    assert match.value.grad.abs().sum() > 0


def test_pending_lowers_only_the_no_call_score():
    from fc_finetune.model.heads import FunctionCallingHeads

    heads = FunctionCallingHeads(8, request_match=True, match_pending=True)
    torch.manual_seed(0)
    h, tools = torch.randn(1, 2, 8), torch.randn(1, 3, 8)
    mask = torch.ones(1, 3, dtype=torch.bool)
    match, asks = torch.rand(1, 2, 3), torch.ones(1, 2, dtype=torch.bool)
    pending = torch.tensor([[0.0, 0.5]])
    plain = heads.select_logits(h, tools, mask, match, asks)
    lowered = heads.select_logits(h, tools, mask, match, asks, pending)
    assert torch.equal(lowered[..., :-1], plain[..., :-1])
    assert torch.allclose(plain[..., -1] - lowered[..., -1], heads.match.pending_scale * pending)
    assert plain[0, 1, -1] - lowered[0, 1, -1] > 2  # beta starts at 5


def test_no_call_probability_against_the_best_tool_ignores_how_many_tools_there_are():
    """The softmax's P(NO_CALL) falls as weak tools join; NO_CALL against the best tool does not."""
    one = torch.tensor([2.0, 2.5])
    seven = torch.tensor([2.0, 1.9, 1.9, 1.9, 1.9, 1.9, 1.9, 2.5])
    assert torch.allclose(no_call_probability(one, rule="softmax"), no_call_probability(one))  # one tool: the same
    assert float(no_call_probability(seven, rule="softmax")) < 0.3 < 0.5 < float(no_call_probability(one, rule="softmax"))
    assert torch.allclose(no_call_probability(seven), no_call_probability(one))
    assert torch.allclose(no_call_probability(one, 2.0), torch.sigmoid(torch.tensor(0.25)))  # (2.5 - 2.0) / T
    padded = torch.tensor([[2.0, float("-inf"), 2.5], [1.0, 3.0, 2.5]])  # absent tools score -inf
    assert torch.allclose(no_call_probability(padded), torch.sigmoid(torch.tensor([0.5, -0.5])))
    with pytest.raises(ValueError, match="call_decision 'max' is not one of pairwise, softmax"):
        no_call_probability(one, rule="max")
