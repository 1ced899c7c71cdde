"""Which dtype this machine multiplies fastest, for ``dtype: fastest``.

bfloat16 is fast only where the hardware multiplies it natively. On a CPU that means AVX512-BF16
or AMX: on an AMD EPYC (Zen 4, AVX512-BF16, no AMX) a bf16 matmul ran 2.9x as fast as float32 and
the quickstart's first 10 steps ran at 502 tokens/s against 317; on the earlier hosts without
either, bf16 was the slower (162 against 220 tokens/s), its matmuls no faster and its elementwise
work slower.
On a GPU it means compute capability 8.0 or later (``torch.cuda.is_bf16_supported`` without emulation).
"""

from __future__ import annotations

import torch

FASTEST = "fastest"


def native_bf16(*, cpu: bool) -> bool:
    """Does the device multiply bfloat16 natively? ``cpu``: the CPU, else the current CUDA device."""
    if not cpu:
        # including_emulation=False: torch's default also says yes for GPUs that only emulate bf16 (a T4, a V100)
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own CPUID reads
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def torch_dtype(name: str, *, cpu: bool | None = None):
    """The torch dtype called ``name`` ("float32", "bfloat16", "float16"), with ``"fastest"`` read
    by :func:`fastest_dtype`; ``"auto"`` (as saved) is passed through."""
    if name == "auto":
        return "auto"
    if name == FASTEST:
        name = fastest_dtype(cpu=cpu)
    return getattr(torch, name)


def fastest_dtype(*, cpu: bool | None = None) -> str:
    """``"bfloat16"`` where :func:`native_bf16` holds, else ``"float32"``. ``cpu`` defaults to
    "no CUDA device"."""
    if cpu is None:
        cpu = not torch.cuda.is_available()
    return "bfloat16" if native_bf16(cpu=cpu) else "float32"
