"""Device names: ``"auto"`` resolved without importing torch when no GPU driver is visible, and
an explicit name checked before any work."""

from __future__ import annotations

import os

# device files of the CUDA, ROCm and WSL GPU drivers
_GPU_DRIVER_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def gpu_driver_present() -> bool:
    """Whether a CUDA/ROCm driver is visible, without importing torch (a torch import costs
    seconds and, next to pyarrow's reader threads, can abort the process at exit)."""
    return any(os.path.exists(p) for p in _GPU_DRIVER_FILES)


def resolve_device(device: str | None) -> str:
    """"auto" (or None) -> "cuda" when torch sees a GPU, else "cpu"; other values unchanged.
    torch is imported only when a GPU driver is present."""
    if device in ("auto", None):
        if not gpu_driver_present():
            return "cpu"
        try:
            import torch
            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:  # pragma: no cover
            return "cpu"
    return device


def check_device(device: str) -> str:
    """``device`` if torch can parse it (and, for CUDA, it exists), else a ``ValueError``."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {device!r}; use cpu, cuda or cuda:N")
    return str(device)
