"""The Jaccard KNN block loop in torch, for a GPU (same selection rule as the CPU kernel).

Intersections come from one matrix product per row block (TF32 on 0/1 inputs with float32
accumulation is exact for counts below 2^24); similarities are float64 so ties are detected
exactly as on the CPU; top-k keeps all values above the k-th and the lowest-index ties.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

_BYTES_PER_CELL = 64  # similarity-block temporaries per (row, column) cell


@contextlib.contextmanager
def _tf32():
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def free_bytes(device) -> int | None:
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.mem_get_info(torch.device(device))[0]
    return None


def _dense_binary(X, device):
    n, m = X.shape
    free = free_bytes(device)
    if free is not None and n * m * 4 > 0.5 * free:
        raise MemoryError(f"the {n} x {m} interaction matrix needs {n * m * 4 / 2**30:.1f} GiB on "
                          f"{device} ({free / 2**30:.1f} GiB free); use device='cpu'")
    Xc = X.tocoo()
    Xd = torch.zeros((n, m), dtype=torch.float32, device=device)
    Xd[torch.as_tensor(Xc.row, device=device).long(),
       torch.as_tensor(Xc.col, device=device).long()] = 1.0
    return Xd


def knn_selections(X, deg, k, block, device):
    """Yield ``(r0, rows, cols, sims)`` per row block: the selected directed edges on ``device``."""
    n = X.shape[0]
    with _tf32():
        Xd = _dense_binary(X, device)
        free = free_bytes(device)
        if free is not None:  # large blocks amortise launches on a GPU
            block = int(max(1, min(n, (0.5 * free) // (_BYTES_PER_CELL * max(n, 1)))))
        d = torch.as_tensor(deg, dtype=torch.float64, device=device)
        zero = torch.zeros((), dtype=torch.float64, device=device)
        for r0 in range(0, n, block):
            r1 = min(n, r0 + block)
            b = r1 - r0
            C = (Xd[r0:r1] @ Xd.T).double()
            S = torch.where(C > 0, C / (d[r0:r1, None] + d[None, :] - C).clamp_min(1.0), zero)
            del C
            rows = torch.arange(b, device=device)
            S[rows, rows + r0] = 0.0
            kth = torch.topk(S, min(k, n), dim=1, sorted=False).values.min(dim=1).values
            above = S > kth[:, None]
            eq = (S == kth[:, None]) & (kth[:, None] > 0)
            room = k - above.sum(dim=1, keepdim=True)
            sel = above | (eq & (torch.cumsum(eq, dim=1) <= room))
            del above, eq
            r, c = sel.nonzero(as_tuple=True)
            del sel
            yield r0, b, r, c, S[r, c]
            del S


def knn_blocks_torch(X, deg, k, block, out_idx, out_val, out_cnt, device, bar):
    """Fill the padded per-row arrays of ``knn_rows`` (indices ascending within a row)."""
    for r0, b, r, c, v in knn_selections(X, deg, k, block, device):
        cnt = torch.bincount(r, minlength=b)
        start = torch.cumsum(cnt, 0) - cnt
        pos = torch.arange(len(r), device=r.device) - start[r]
        idx_b = torch.zeros((b, k), dtype=torch.int32, device=r.device)
        val_b = torch.zeros((b, k), dtype=torch.float32, device=r.device)
        idx_b[r, pos] = c.int()
        val_b[r, pos] = v.float()
        out_idx[r0:r0 + b] = idx_b.cpu().numpy()
        out_val[r0:r0 + b] = val_b.cpu().numpy()
        out_cnt[r0:r0 + b] = cnt.int().cpu().numpy()
        bar.update(b)


def knn_graph_dense_torch(X, k, device, bar=None) -> torch.Tensor:
    """The union-symmetrised graph as a dense float64 ``n × n`` tensor on ``device``.

    The graph is stored with float32-rounded weights, like the CPU path's CSR graph.
    """
    import scipy.sparse as sp

    X = sp.csr_matrix(X)
    n = X.shape[0]
    deg = np.diff(X.indptr).astype(np.float64)
    W = torch.zeros((n, n), dtype=torch.float64, device=device)
    for r0, b, r, c, v in knn_selections(X, deg, min(k, max(n - 1, 1)), n, device):
        v = v.float().double()
        W[r + r0, c] = v
        W[c, r + r0] = v
        if bar is not None:
            bar.update(b)
    return W


def dense_fits(n: int, m: int, device) -> bool:
    """Whether the fused dense GPU path fits: W (8 n²) plus X and a block of temporaries."""
    free = free_bytes(device)
    return free is not None and 8 * n * n + 4 * n * m + _BYTES_PER_CELL * 1024 * n < 0.8 * free
