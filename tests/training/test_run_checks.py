"""The checks a training run makes before it trains (issue 16): records it would drop, empty
data, and the memory estimate; each refusal is one line naming the input and what to do."""

from __future__ import annotations

import json
import logging

import pytest
from helpers.train_fixtures import run_args, tiny_assets  # noqa: F401

from fc_finetune.errors import FcFinetuneError
from fc_finetune.training import memory
from fc_finetune.training.memory import MemoryCheckError, estimate_memory


def _long(record: dict, words: int = 1000) -> dict:
    """``record``'s first exchange alone, its request longer than max_length 1024 (about 1.2 tokens a
    word): one exchange cannot be shortened, so the record is dropped."""
    messages = [m for m in record["messages"] if m["role"] != "system"]
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    end = users[1] if len(users) > 1 else len(messages)
    padded = {**messages[users[0]], "content": "please " * words}
    return {**record, "messages": [padded, *messages[users[0] + 1:end]]}


def _records(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def _write(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def _fail_if_a_model_loads(monkeypatch):
    from fc_finetune.training import run

    def refuse(*args, **kwargs):
        raise AssertionError("a model or tokenizer was loaded before the data was checked")

    monkeypatch.setattr(run, "load_tokenizer", refuse)
    monkeypatch.setattr(run.FunctionCallingModel, "from_base", refuse)


# -- records dropped in preprocessing ------------------------------------------------------------------

def test_a_batch_of_only_dropped_records_does_not_crash_encoding(tiny_assets):  # noqa: F811
    """The first 64 records (one map batch) are all too long, the rest fit: the batch of empty lists was
    typed null and the next batch's integers failed to cast (TypeError: Couldn't cast ... to null)."""
    from fc_finetune.data.collate import encode_dataset
    from fc_finetune.data.io import to_dataset
    from fc_finetune.data.templates import prepare_tokenizer
    from fc_finetune.model.loading import load_tokenizer

    tokenizer = load_tokenizer(tiny_assets["base"])
    prepare_tokenizer(tokenizer)
    short = _records(tiny_assets["train"])[:4]
    records = [_long(short[i % 4]) for i in range(64)] + short
    encoded, stats = encode_dataset(to_dataset(records), tokenizer, max_length=1024)
    assert stats.dropped_too_long == 64 and stats.encoded == 4 and len(encoded) == 4
    empty, none = encode_dataset(to_dataset([]), tokenizer, max_length=1024)  # was: Column 'status' doesn't exist
    assert len(empty) == 0 and none.encoded == 0


def test_dropping_more_than_the_limit_is_refused_before_the_model_loads(tiny_assets, tmp_path, monkeypatch):  # noqa: F811
    from fc_finetune.training import run

    short = _records(tiny_assets["train"])
    train = _write(tmp_path / "train.jsonl", short[:8] + [_long(r) for r in short[:12]])  # 12 of 20 too long
    monkeypatch.setattr(run.FunctionCallingModel, "from_base", lambda *a, **k: pytest.fail("model loaded"))
    with pytest.raises(FcFinetuneError) as info:
        run.main(run_args(tiny_assets, tmp_path / "run", train_data=train))
    message = str(info.value)
    assert "12 of 20 records (60%) dropped" in message and "longer than max_length 1024" in message
    assert "max_drop_fraction 0.5" in message and "Raise max_length" in message and "--max-tools 3" in message
    assert train in message and "\n" not in message


def test_dropping_more_than_the_warning_share_warns_and_the_summary_says_why(tiny_assets, tmp_path, caplog):  # noqa: F811
    from fc_finetune.training.run import main

    short = _records(tiny_assets["train"])
    train = _write(tmp_path / "train.jsonl", short[:15] + [_long(r) for r in short[:5]])  # 5 of 20: 25%
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO):
        assert main(run_args(tiny_assets, out, max_steps=1, train_data=train)) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("5 of 20 records (25%) dropped" in w and "warn_drop_fraction 0.2" in w for w in warnings), warnings
    summary = json.loads((out / "train_summary.json").read_text())
    train_info = summary["preprocessing"]["train"]
    assert train_info["records"] == 20 and train_info["kept"] == 15 and train_info["dropped_too_long"] == 5
    assert "5 of 20 records (25%) dropped: 5 longer than max_length 1024 tokens" in summary["dropped"]
    console = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Run summary"))
    assert "dropped: train: 5 of 20 records (25%) dropped" in console


def _parallel(record: dict) -> dict:
    """``record`` with its first call made twice in one assistant message (and its result given twice)."""
    messages = [dict(m) for m in record["messages"]]
    at = next(i for i, m in enumerate(messages) if m.get("tool_calls"))
    messages[at]["tool_calls"] = [*messages[at]["tool_calls"], messages[at]["tool_calls"][0]]
    messages.insert(at + 2, dict(messages[at + 1]))
    return {**record, "messages": messages}


def test_a_call_shape_mostly_dropped_is_warned_though_the_share_overall_is_small(tiny_assets, tmp_path, caplog):  # noqa: F811
    """20 of 124 records (16%) dropped is under warn_drop_fraction, but they are 20 of the 24 with
    parallel calls: what the model learns parallel calls from."""
    from fc_finetune.data.collate import call_shape
    from fc_finetune.training.run import main

    calling = sorted((r for r in _records(tiny_assets["train"]) if call_shape(r) == "one call"),
                     key=lambda r: len(json.dumps(r)))
    parallel = [_parallel(calling[i % 2]) for i in range(24)]  # of the shortest: the four kept fit max_length
    assert {call_shape(r) for r in parallel} == {"parallel calls"}
    records = [calling[i % len(calling)] for i in range(100)] + parallel[:4] + [_long(r) for r in parallel[4:]]
    assert {call_shape(_long(r)) for r in parallel} == {"parallel calls"}
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO):
        assert main(run_args(tiny_assets, out, max_steps=1, train_data=_write(tmp_path / "t.jsonl", records))) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    shape = [w for w in warnings if "of the records with parallel calls, 20 of 24 (83%)" in w]
    assert len(shape) == 1 and "20 of 124 records (16%) dropped" in shape[0] and "Raise max_length" in shape[0]
    assert not [w for w in warnings if "one call" in w]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["preprocessing"]["train"]["too_long_by_shape"] == {"one call": [0, 100], "parallel calls": [20, 24]}


def test_the_limits_are_configurable(tiny_assets, tmp_path, caplog):  # noqa: F811
    from fc_finetune.training.run import main

    short = _records(tiny_assets["train"])
    train = _write(tmp_path / "train.jsonl", short[:8] + [_long(r) for r in short[:12]])
    with caplog.at_level(logging.WARNING):
        assert main(run_args(tiny_assets, tmp_path / "run", max_steps=1, train_data=train,
                             max_drop_fraction=0.7, warn_drop_fraction=0.65)) == 0
    assert not [r for r in caplog.records if "warn_drop_fraction" in r.getMessage()]  # 60% < 65%


# -- empty data ------------------------------------------------------------------------------------------

def test_an_empty_train_file_fails_before_any_model_loads(tiny_assets, tmp_path, monkeypatch):  # noqa: F811
    from fc_finetune.training.run import main

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    _fail_if_a_model_loads(monkeypatch)
    with pytest.raises(FcFinetuneError, match="no record") as info:  # was: Column 'status' doesn't exist
        main(run_args(tiny_assets, tmp_path / "run", train_data=empty))
    assert str(empty) in str(info.value)


def test_train_data_whose_every_row_is_skipped_is_refused(tiny_assets, tmp_path, monkeypatch):  # noqa: F811
    from fc_finetune.training.run import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}], "tools": []}\n' * 3)
    _fail_if_a_model_loads(monkeypatch)
    with pytest.raises(FcFinetuneError, match="no record") as info:
        main(run_args(tiny_assets, tmp_path / "run", train_data=bad, on_error="skip"))
    assert str(bad) in str(info.value)


# -- the memory estimate ---------------------------------------------------------------------------------

def _estimate(params, base_bytes, hidden, vocab, lora_per_layer, layers):
    heads = 3 * hidden * hidden + 4 * hidden
    lora = lora_per_layer * layers
    return estimate_memory(weight_bytes=params * base_bytes + (lora + heads) * 4, trainable=lora + heads,
                           hidden=hidden, vocab=vocab, layers=layers, batch=4, length=1024).total / memory.GB


@pytest.mark.parametrize(("name", "estimate", "measured"), [
    # recipes/smollm2-135m/quickstart.yaml: float32, LoRA r16 on the last 10 of 30 layers (README: 4.6 GB)
    ("smollm2 quickstart", _estimate(134_515_008, 4, 576, 49_152, 162_816, 10), 4.6),
    # recipes/qwen2.5-coder-0.5b/cpu.yaml: float32, last 8 of 24 layers (README: 8.8 GB)
    ("qwen 0.5b cpu", _estimate(494_032_768, 4, 896, 151_936, 366_592, 8), 8.8),
    # the previous quickstart: bfloat16, all 30 layers (README: 8.9 GB over 110 steps)
    ("smollm2 bf16 all layers", _estimate(134_515_008, 2, 576, 49_152, 162_816, 30), 8.9),
])
def test_the_estimate_reproduces_the_measured_runs(name, estimate, measured):
    assert estimate == pytest.approx(measured, rel=0.1), name


def test_gradient_checkpointing_and_fewer_layers_lower_the_estimate():
    base = dict(weight_bytes=10**9, trainable=10**6, hidden=576, vocab=49_152, batch=4, length=1024)
    full = estimate_memory(layers=30, **base)
    assert estimate_memory(layers=10, **base).total < full.total
    assert estimate_memory(layers=30, gradient_checkpointing=True, **base).total < full.total
    assert estimate_memory(layers=30, **{**base, "batch": 8}).activations == 2 * full.activations


def test_a_run_that_would_not_fit_is_refused_with_the_estimate_and_the_knobs(tiny_assets, tmp_path, monkeypatch):  # noqa: F811
    from fc_finetune.training.run import main

    monkeypatch.setattr(memory, "available_memory", lambda device: (200 * 2**20, "MemAvailable (test)"))
    out = tmp_path / "run"
    with pytest.raises(MemoryCheckError) as info:
        main(run_args(tiny_assets, out))
    message = str(info.value)
    assert "Training would need about" in message and "0.2 GB are available" in message
    for knob in ("per_device_train_batch_size", "max_length", "lora_layers", "gradient_checkpointing",
                 "--skip_memory_check true"):
        assert knob in message
    assert "\n" not in message
    assert not (out / "fc_finetune_config.json").exists()


def test_skip_memory_check_trains_anyway_and_the_summary_keeps_the_estimate(tiny_assets, tmp_path,  # noqa: F811
                                                                         monkeypatch, caplog):
    from fc_finetune.training.run import main

    monkeypatch.setattr(memory, "available_memory", lambda device: (200 * 2**20, "MemAvailable (test)"))
    out = tmp_path / "run"
    with caplog.at_level(logging.WARNING):
        assert main(run_args(tiny_assets, out, max_steps=1, skip_memory_check="true")) == 0
    assert any("--skip_memory_check: training anyway" in r.getMessage() for r in caplog.records)
    estimate = json.loads((out / "train_summary.json").read_text())["memory_estimate"]
    assert estimate["batch"] == 4 and estimate["layers"] == 2 and estimate["device"] == "cpu"
    assert 0 < estimate["length"] <= 1024


def test_available_memory_counts_what_the_process_holds():
    total, source = memory.available_memory("cpu")
    import psutil

    assert total >= psutil.virtual_memory().available * 0.5 and "this process" in source


@pytest.mark.parametrize(("long", "warned"), [(5, False), (12, True)])
def test_a_held_out_split_warns_only_above_the_refusal_share(tiny_assets, tmp_path, caplog, long, warned):  # noqa: F811
    """Eval and calibration records dropped cost measurements, not learning: 25% is counted in the
    summary without a warning; 60% (above max_drop_fraction, which refuses only training data) warns."""
    from fc_finetune.training.run import main

    short = _records(tiny_assets["train"])
    held_out = _write(tmp_path / "eval.jsonl", short[:20 - long] + [_long(r) for r in short[:long]])
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO):
        assert main(run_args({**tiny_assets, "eval": held_out}, out, max_steps=2, eval_data=True)) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "dropped" in r.getMessage()]
    assert bool(warnings) is warned, warnings
    if warned:
        assert "12 of 20 records (60%) dropped" in warnings[0] and "above max_drop_fraction 0.5" in warnings[0]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["preprocessing"]["eval"]["dropped_too_long"] == long
