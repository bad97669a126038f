"""scipy sparse matrices as torch sparse tensors (torch imported inside the functions)."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp


def torch_csr(matrix, device="cpu", dtype=None):
    """The scipy sparse ``matrix`` as a torch sparse CSR tensor (int64 indices, float32 values
    unless ``dtype`` says otherwise) on ``device``; the stored entries are taken as they are
    (no sorting or summing of duplicates)."""
    import torch

    M = sp.csr_matrix(matrix)  # no copy of a CSR matrix's arrays
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(torch.as_tensor(M.indptr.astype(np.int64)),
                                       torch.as_tensor(M.indices.astype(np.int64)),
                                       torch.as_tensor(M.data, dtype=dtype or torch.float32),
                                       size=M.shape, check_invariants=False).to(device)


def torch_coo(matrix, device="cpu", dtype=None):
    """The scipy sparse ``matrix`` as a coalesced torch sparse COO tensor (float32 values unless
    ``dtype`` says otherwise) on ``device``."""
    import torch

    coo = sp.coo_matrix(matrix)
    idx = torch.as_tensor(np.vstack([coo.row, coo.col]).astype(np.int64))
    val = torch.as_tensor(coo.data, dtype=dtype or torch.float32)
    return torch.sparse_coo_tensor(idx, val, coo.shape, device=device,
                                   check_invariants=True).coalesce()
