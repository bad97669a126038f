"""The cross-layer helpers' one home: what they compute, and that importing them pulls no torch."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from leporid.utils.device import check_device, resolve_device
from leporid.utils.jsonio import json_default, jsonable
from leporid.utils.sparse import torch_coo, torch_csr

SRC = Path(__file__).resolve().parents[1] / "src"


def test_importing_the_helpers_imports_no_torch():
    code = ("import sys, leporid.utils.device, leporid.utils.sparse, leporid.utils.jsonio, "
            "leporid.results; assert 'torch' not in sys.modules, 'torch'")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


def test_sparse_tensors_hold_the_matrix():
    import torch

    A = sp.random(7, 5, density=0.4, format="csr", random_state=3, dtype=np.float64)
    A[0, 0] = 0.5
    for to_torch in (torch_csr, torch_coo):
        T = to_torch(A)
        assert T.dtype == torch.float32
        np.testing.assert_array_equal(T.to_dense().numpy(), A.toarray().astype(np.float32))
    assert torch_csr(A.tocoo(), dtype=torch.float64).layout == torch.sparse_csr
    np.testing.assert_array_equal(torch_csr(A, dtype=torch.float64).to_dense().numpy(),
                                  A.toarray())


def test_devices():
    assert resolve_device("cpu") == "cpu" and resolve_device("cuda:1") == "cuda:1"
    assert resolve_device("auto") in ("cpu", "cuda") and resolve_device(None) in ("cpu", "cuda")
    assert check_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="unknown device 'banana'"):
        check_device("banana")


def test_json_adapters():
    value = {1: np.float32(0.5), "a": (np.arange(2), Path("x/y"))}
    assert jsonable(value) == {"1": 0.5, "a": [[0, 1], "x/y"]}
    assert json.loads(json.dumps({"k": np.int64(3), "v": np.ones(2)}, default=json_default)) \
        == {"k": 3, "v": [1.0, 1.0]}
    with pytest.raises(TypeError, match="cannot store a object in a model file"):
        json.dumps({"x": object()}, default=json_default)
