"""Selector calibration: temperature scaling and the two NO_CALL thresholds, and their place in training."""

import json

import torch
from helpers.train_fixtures import run_args, tiny_assets  # noqa: F401

from fc_finetune.model.heads import no_call_probability
from fc_finetune.training.calibration import (
    calibrate_selector,
    collect_decisions,
    expected_calibration_error,
    fit_no_call_threshold,
    fit_temperature,
)


def _overconfident(n=2000, classes=4, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    true_logits = torch.randn(n, classes, generator=g) * 1.5
    targets = torch.multinomial(torch.softmax(true_logits, -1), 1, generator=g).squeeze(1)
    return true_logits * scale, targets


def test_temperature_recovers_the_overconfidence():
    logits, targets = _overconfident(scale=3.0)
    t = fit_temperature(logits, targets)
    assert 2.6 < t < 3.4
    before = expected_calibration_error(torch.softmax(logits, -1), targets)
    after = expected_calibration_error(torch.softmax(logits / t, -1), targets)
    assert after < before / 2


def test_threshold_separates_call_from_no_call():
    p = torch.tensor([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    should_not_call = torch.tensor([False, False, False, True, True, True])
    t, acc = fit_no_call_threshold(p, should_not_call)
    assert acc == 1.0 and 0.3 < t <= 0.7


def test_calibrate_selector_keeps_argmax_and_reports():
    logits, targets = _overconfident(scale=4.0, classes=3)
    cal = calibrate_selector(logits, targets)
    assert cal.decisions == 2000 and cal.ece_after < cal.ece_before
    assert cal.accuracy == float((logits.argmax(-1) == targets).float().mean())
    assert calibrate_selector(logits[:5], targets[:5]) is None  # too few to fit


def test_collect_decisions_puts_no_call_last():
    from helpers.fc_records import parallel_record
    from helpers.models import batch_for, make, perturb

    model, tok = make("llama")
    perturb(model)
    small = {"tools": parallel_record()["tools"][:1],
             "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    batches = [batch_for(tok, [parallel_record()]), batch_for(tok, [small])]
    logits, targets, served = collect_decisions(model, batches)
    assert logits.shape == (4 + 1, 3)  # 4 decisions + 1; 2 tools + NO_CALL
    assert targets.tolist() == [1, 1, 2, 2, 2]  # get_weather twice, then NO_CALL (last column)
    assert torch.isinf(logits[-1, 1]), "the one-tool example has no second tool"
    # the first call is fresh; after it (the second call, the end of the calls, the answer after
    # the results) calls serve the request; the small example's answer is fresh
    assert served.tolist() == [False, True, True, True, False]


def test_served_decisions_get_their_own_threshold():
    """Fresh decisions split at P(NO_CALL) 0.5; after calls both answers sit above 0.8 (one call
    is the usual turn), and only a threshold of their own separates them."""
    g = torch.Generator().manual_seed(0)
    n = 400
    served = torch.arange(n) >= n // 2
    no_call = torch.rand(n, generator=g) < 0.5
    p = torch.where(no_call, 0.7, 0.3) + 0.1 * torch.rand(n, generator=g)
    p = torch.where(served, torch.where(no_call, 0.93, 0.83) + 0.05 * torch.rand(n, generator=g), p)
    logits = torch.stack([torch.log1p(-p), torch.log(p)], -1)  # one tool + NO_CALL
    targets = no_call.long()
    cal = calibrate_selector(logits, targets, served)
    assert cal.served_decisions == n // 2 and cal.more_calls_accuracy == 1.0 and cal.call_decision_accuracy == 1.0
    scaled = no_call_probability(logits, cal.temperature)
    assert ((scaled[served] >= cal.more_calls_threshold) == no_call[served]).all()
    assert ((scaled[~served] >= cal.no_call_threshold) == no_call[~served]).all()
    one = calibrate_selector(logits, targets, served & no_call)  # after calls, only "done": nothing to fit
    assert one.more_calls_threshold is None


def test_training_stores_the_calibration_with_the_model(tiny_assets, tmp_path):  # noqa: F811
    from fc_finetune.model.modeling import FunctionCallingModel
    from fc_finetune.training.run import main

    out = tmp_path / "run"
    assert main(run_args(tiny_assets, out, max_steps=2, eval_data=True)) == 0
    config = json.loads((out / "fc_finetune_config.json").read_text())
    summary = json.loads((out / "train_summary.json").read_text())
    cal = summary["selector_calibration"]
    assert config["selector_temperature"] == cal["temperature"] and config["no_call_threshold"] == cal["no_call_threshold"]
    assert config["more_calls_threshold"] == cal["more_calls_threshold"]
    assert cal["decisions"] >= 10
    assert {"ece_before", "ece_after", "ece_fitted", "fitted_temperature", "temperature_kept"} <= set(cal)
    loaded = FunctionCallingModel.from_pretrained(out, dtype=torch.float32)
    assert loaded.selector_temperature == cal["temperature"]


def test_calibration_data_is_used_instead_of_eval_data(tiny_assets, tmp_path):  # noqa: F811
    from fc_finetune.training.run import main

    # the calibration set: the train file's first records, enough for the fit's 10 decisions
    # (the eval set has others)
    def decisions_of(record):
        return sum(1 + len(m.get("tool_calls") or []) for m in record["messages"] if m["role"] == "assistant")

    records, decisions = [], 0
    for line in open(tiny_assets["train"], encoding="utf-8"):
        if decisions >= 10:
            break
        records.append(json.loads(line))
        decisions += decisions_of(records[-1])
    cal_file = tmp_path / "cal.jsonl"
    cal_file.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "run"
    assert main(run_args(tiny_assets, out, max_steps=2, eval_data=True, calibration_data=cal_file)) == 0
    cal = json.loads((out / "train_summary.json").read_text())["selector_calibration"]
    assert cal["data"] == [str(cal_file)] and cal["more_calls_data"] == [str(cal_file)]
    assert cal["decisions"] == decisions

    # the more-calls threshold from another file's decisions after calls: the eval split's
    served = 0  # a turn's decisions after its calls, and its first when calls came since the request
    for line in open(tiny_assets["eval"], encoding="utf-8"):
        called = False
        for message in json.loads(line)["messages"]:
            if message["role"] == "user":
                called = False
            elif message["role"] == "assistant":
                calls = len(message.get("tool_calls") or [])
                served += calls + called
                called = called or calls > 0
    out = tmp_path / "run2"
    assert main(run_args(tiny_assets, out, max_steps=2, eval_data=True, calibration_data=cal_file,
                         more_calls_data=tiny_assets["eval"])) == 0
    other = json.loads((out / "train_summary.json").read_text())["selector_calibration"]
    assert other["more_calls_data"] == [str(tiny_assets["eval"])] and other["data"] == [str(cal_file)]
    assert other["decisions"] == decisions and other["temperature"] == cal["temperature"]
    assert other["served_decisions"] == served != cal["served_decisions"]


def test_the_more_calls_threshold_can_come_from_another_set():
    """NESTFUL's decisions after calls all follow tool results; a parallel request's second call
    is decided before any. ``more_calls``: another set's decisions after calls fit that threshold,
    read under the temperature this set fitted; the NO_CALL threshold is this set's."""
    g = torch.Generator().manual_seed(0)
    n = 300
    p = 0.05 + 0.9 * torch.rand(n, generator=g)
    no_call = torch.rand(n, generator=g) < p  # calibrated as it is: a temperature near 1
    logits = torch.stack([torch.log1p(-p), torch.log(p)], -1)  # one tool + NO_CALL, every decision fresh
    alone = calibrate_selector(logits, no_call.long(), torch.zeros(n, dtype=torch.bool))
    assert alone.more_calls_threshold is None and alone.served_decisions == 0

    m = 200  # the other set: half its decisions after calls, "another call" below P(NO_CALL) 0.9
    more_served = torch.arange(m) % 2 == 1
    more_no = torch.rand(m, generator=g) < 0.5
    q = torch.where(more_served, torch.where(more_no, 0.95, 0.85), torch.where(more_no, 0.2, 0.1))
    more_logits = torch.stack([torch.log1p(-q), torch.log(q)], -1)
    cal = calibrate_selector(logits, no_call.long(), torch.zeros(n, dtype=torch.bool),
                             more_calls=(more_logits, more_no.long(), more_served))
    assert cal.served_decisions == int(more_served.sum()) and cal.more_calls_accuracy == 1.0
    assert (cal.temperature, cal.no_call_threshold) == (alone.temperature, alone.no_call_threshold)
    scaled = no_call_probability(more_logits, cal.temperature)[more_served]
    assert ((scaled >= cal.more_calls_threshold) == more_no[more_served]).all()
    assert cal.more_calls_threshold > cal.no_call_threshold


def test_a_fit_that_raises_ece_keeps_the_previous_temperature(monkeypatch, caplog):
    """Temperature scaling minimises NLL, not ECE: in two runs the fit raised ECE (0.118 -> 0.158,
    0.075 -> 0.090) and was saved anyway. The previous temperature is kept and both are reported."""
    from fc_finetune.training import calibration

    logits, targets = _overconfident(scale=1.0, classes=3)  # already calibrated at T = 1
    monkeypatch.setattr(calibration, "fit_temperature", lambda logits, targets: 0.25)  # a fit that sharpens
    with caplog.at_level("WARNING"):
        cal = calibrate_selector(logits, targets)
    assert cal.temperature_kept and cal.temperature == 1.0 and cal.fitted_temperature == 0.25
    assert cal.ece_fitted > cal.ece_before and cal.ece_after == cal.ece_before
    p_no_call = no_call_probability(logits, 1.0)  # the thresholds are fitted under the kept temperature
    assert cal.call_decision_accuracy == fit_no_call_threshold(p_no_call, targets == 2)[1]
    assert any("would raise the held-out ECE" in r.getMessage() for r in caplog.records)
    assert "kept" in calibration.temperature_text(cal) and "0.250" in calibration.temperature_text(cal)
    # a model calibrated before keeps its own temperature, not 1.0
    assert calibrate_selector(logits, targets, temperature=2.0).temperature == 2.0


def test_a_fit_that_lowers_ece_is_used():
    logits, targets = _overconfident(scale=3.0)
    cal = calibrate_selector(logits, targets)
    assert not cal.temperature_kept and cal.temperature == cal.fitted_temperature
    assert cal.ece_after == cal.ece_fitted < cal.ece_before
    assert set(cal.to_dict()) >= {"fitted_temperature", "ece_fitted", "temperature_kept", "ece_before", "ece_after"}


def test_one_threshold_serves_one_tool_and_seven(monkeypatch):
    """Requests offered one tool and requests offered seven, NO_CALL 0.4 above the best tool when
    nothing should be called and 0.4 below it otherwise: against the best tool one threshold
    separates them all; the softmax's P(NO_CALL) cannot (seven tools share its mass)."""
    rows, targets = [], []
    for n_tools in (1, 7):
        for should_not in (False, True):
            for k in range(50):
                row = torch.full((8,), float("-inf"))
                row[:n_tools] = 1.0 - 0.01 * k
                row[0] = 1.0  # the best tool
                row[-1] = 1.0 + (0.4 if should_not else -0.4)
                rows.append(row)
                targets.append(7 if should_not else 0)
    logits, targets = torch.stack(rows), torch.tensor(targets)
    from fc_finetune.training import calibration

    monkeypatch.setattr(calibration, "fit_temperature", lambda logits, targets: 1.0)  # both rules at T = 1
    pairwise = calibrate_selector(logits, targets, temperature=1.0)
    softmax = calibrate_selector(logits, targets, temperature=1.0, rule="softmax")
    assert pairwise.call_decision == "pairwise" and pairwise.call_decision_accuracy == 1.0
    assert softmax.call_decision == "softmax" and softmax.call_decision_accuracy < 0.8


def test_few_decisions_of_one_answer_get_a_threshold_that_holds_out():
    """60 decisions, 12 of them "call": the balanced-accuracy maximum rests on a few of those 12 and
    swings (worst of 20 draws 0.61 on fresh draws, best possible 0.75); the balanced logistic fit
    stays within 0.02 of the best on every draw."""
    from fc_finetune.training.calibration import MIN_PER_ANSWER, balanced_call_accuracy

    def draw(g, n_no, n_call):  # log-odds of P(NO_CALL): N(+1, 1.5) should not call, N(-1, 1.5) should
        x = torch.cat([torch.randn(n_no, generator=g) * 1.5 + 1.0, torch.randn(n_call, generator=g) * 1.5 - 1.0])
        return torch.sigmoid(x), torch.cat([torch.ones(n_no, dtype=torch.bool), torch.zeros(n_call, dtype=torch.bool)])

    def maximum(p, y):
        return max(torch.unique(p).tolist(), key=lambda t: balanced_call_accuracy(p, y, t))

    g = torch.Generator().manual_seed(0)
    held_p, held_y = draw(g, 5000, 5000)
    ours, empirical = [], []
    for _ in range(20):
        p, y = draw(g, 48, 12)
        assert int((~y).sum()) < MIN_PER_ANSWER
        t, train_accuracy = fit_no_call_threshold(p, y)
        assert train_accuracy == balanced_call_accuracy(p, y, t)
        ours.append(balanced_call_accuracy(held_p, held_y, t))
        empirical.append(balanced_call_accuracy(held_p, held_y, maximum(p, y)))
    assert min(ours) > 0.73 and min(empirical) < 0.65
    assert sum(ours) / 20 > sum(empirical) / 20 + 0.01
    # with 30 or more of each answer the maximum is used as before
    p, y = draw(g, 60, 40)
    assert fit_no_call_threshold(p, y)[0] == maximum(p, y)


def test_a_more_calls_fit_at_chance_is_not_used():
    """After calls, P(NO_CALL) drawn from the same law for "another call" and "done" (55 decisions,
    9 "another call", as on the NESTFUL dev set): the fit's in-sample balanced accuracy sits above
    0.5 by chance alone (0.59, more than a standard error above), shuffled answers reach it too,
    and the threshold is set aside so the NO_CALL threshold serves both; the
    same decisions made separable keep their own threshold."""
    from fc_finetune.training.calibration import SelectorCalibration, more_calls_text

    g = torch.Generator().manual_seed(0)
    fresh_no = torch.rand(100, generator=g) < 0.5
    p_fresh = torch.where(fresh_no, 0.8, 0.2) + 0.1 * torch.rand(100, generator=g)
    served_no = torch.arange(55) >= 9
    p_served = 0.5 + 0.45 * torch.rand(55, generator=g)  # the same law for both answers
    p = torch.cat([p_fresh, p_served])
    no_call = torch.cat([fresh_no, served_no])
    served = torch.arange(155) >= 100
    logits = torch.stack([torch.log1p(-p), torch.log(p)], -1)
    cal = calibrate_selector(logits, no_call.long(), served)
    assert cal.more_calls_fitted is not None and cal.more_calls_accuracy > 0.5  # the fit found something
    assert cal.more_calls_p_value >= 0.05
    assert cal.more_calls_threshold is None and cal.no_call_threshold is not None
    assert "not used" in more_calls_text(cal)
    restored = SelectorCalibration.from_dict({**cal.to_dict(), "data": ["dev.jsonl"]})
    assert restored == cal

    separable = torch.where(served_no, 0.9, 0.6) + 0.05 * torch.rand(55, generator=g)
    logits = torch.stack([torch.log1p(-torch.cat([p_fresh, separable])), torch.log(torch.cat([p_fresh, separable]))], -1)
    kept = calibrate_selector(logits, no_call.long(), served)
    assert kept.more_calls_threshold == kept.more_calls_fitted and kept.more_calls_accuracy == 1.0
    assert kept.more_calls_p_value < 0.01
    assert more_calls_text(kept).startswith("more-calls threshold 0.")


def test_the_balanced_maximum_is_the_threshold_scan_it_replaced():
    """The sorted-count maximum picks the same threshold and accuracy as scanning every candidate
    with balanced_call_accuracy (the lowest on ties), ties and repeated values included."""
    from fc_finetune.training.calibration import _balanced_maximum, balanced_call_accuracy

    g = torch.Generator().manual_seed(0)
    for n, levels in ((40, 5), (60, 1000), (300, 20), (500, 10**6)):
        for _ in range(10):
            y = torch.rand(n, generator=g) < 0.6
            p = torch.randint(0, levels, (n,), generator=g).float() / levels  # repeated values when levels is small
            p = (p + 0.3 * y.float()).clamp(0, 1)
            best = (0.5, -1.0)
            for t in torch.unique(torch.cat([p, torch.tensor([0.5])])).tolist():
                score = balanced_call_accuracy(p, y, t)
                if score > best[1]:
                    best = (t, score)
            assert _balanced_maximum(p, y) == best
