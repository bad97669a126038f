"""Device names: ``"auto"`` resolved without importing torch when no GPU driver is visible, and
an explicit name checked before any work."""

from __future__ import annotations

import os
import re

# device files of the CUDA, ROCm and WSL GPU drivers
_GPU_DRIVER_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def gpu_driver_present() -> bool:
    """Whether a CUDA/ROCm driver is visible, without importing torch (a torch import costs
    seconds and, next to pyarrow's reader threads, can abort the process at exit)."""
    return any(os.path.exists(p) for p in _GPU_DRIVER_FILES)


def resolve_device(device: str | None, option: str = "device") -> str:
    """The one check of a device name, before any work: "auto" (or None) -> "cuda" when torch
    sees a GPU, else "cpu"; "cpu", "cuda", "cuda:N" -> itself when this machine has it.
    Anything else, or CUDA asked for where there is none, is a ``ValueError`` naming
    ``option`` (e.g. "--device"). torch is imported only when a GPU driver is present."""
    if device in ("auto", None):
        if not gpu_driver_present():
            return "cpu"
        try:
            import torch
            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:  # pragma: no cover
            return "cpu"
    if not (isinstance(device, str) and re.fullmatch(r"cpu|cuda(:\d+)?", device)):
        raise ValueError(f"{option}: unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        index = int(device.partition(":")[2] or 0)
        count = cuda_device_count() if gpu_driver_present() else 0
        if count == 0:
            raise ValueError(f"{option} {device!r}: CUDA is not available on this machine "
                             f"(use cpu or auto)")
        if index >= count:
            raise ValueError(f"{option} {device!r}: this machine has {count} CUDA device(s) "
                             f"(cuda:0..cuda:{count - 1})")
    return device


def cuda_device_count() -> int:
    """CUDA devices torch can use (0 without torch or CUDA)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_device(device: str, option: str = "device") -> str:
    """``device`` for a torch model: the names ``resolve_device`` accepts (but "auto"), checked
    by it, or "mps" where torch has it; else a ``ValueError``."""
    if device == "mps":
        import torch

        if not torch.backends.mps.is_available():
            raise ValueError(f"{option} 'mps': MPS is not available on this machine")
        return device
    if device in ("auto", None):
        raise ValueError(f"{option}: unknown device {device!r}; use cpu, cuda or cuda:N")
    return resolve_device(device, option)
