"""``dtype: fastest``: bfloat16 only where the hardware multiplies it natively."""

from __future__ import annotations

import pytest
import torch

from fc_finetune.utils.hardware import fastest_dtype, native_bf16, torch_dtype


@pytest.mark.parametrize(("avx512_bf16", "amx", "expected"), [
    (True, False, "bfloat16"),   # AMD Zen 4: AVX512-BF16, no AMX
    (False, True, "bfloat16"),   # Intel Sapphire Rapids and later: AMX
    (False, False, "float32"),   # AVX2 / AVX-512 without BF16: bf16 is the slower there
])
def test_the_cpu_gets_bfloat16_only_with_bf16_instructions(monkeypatch, avx512_bf16, amx, expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert native_bf16(cpu=True) is (expected == "bfloat16")
    assert fastest_dtype(cpu=True) == expected


def test_a_torch_without_the_cpu_probes_means_float32(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    assert fastest_dtype(cpu=True) == "float32"


def test_no_cuda_device_means_the_cpu_is_asked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert fastest_dtype() == "bfloat16"
    assert native_bf16(cpu=False) is False


@pytest.mark.parametrize(("native", "expected"), [(True, "bfloat16"), (False, "float32")])
def test_a_gpu_that_only_emulates_bf16_gets_float32(monkeypatch, native, expected):
    """torch's own default counts emulation (a T4, a V100) as support; emulated bf16 is the slower."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation or native)
    assert fastest_dtype(cpu=False) == expected


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_inference_reads_fastest_the_same_way(monkeypatch, native, expected):
    """eval, chat and the demo load their weights with ``torch_dtype("fastest")``: bfloat16 on a CPU
    without bf16 instructions ran the demo's evaluation at ~17 s an example."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert torch_dtype("fastest") is expected
    assert torch_dtype("float16") is torch.float16 and torch_dtype("auto") == "auto"


def test_eval_and_chat_default_to_the_fastest_dtype():
    from fc_finetune.cli import make_parser

    parser = make_parser()
    assert parser.parse_args(["eval", "--model", "m", "--data", "d"]).dtype == "fastest"
    assert parser.parse_args(["chat", "--model", "m"]).dtype == "fastest"
