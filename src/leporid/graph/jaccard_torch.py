"""The Jaccard KNN block loop in torch, for a GPU (same selection rule as the CPU kernel).

Intersections come from one matrix product per row block (TF32 on 0/1 inputs with float32
accumulation is exact for counts below 2^24); similarities are float64 so ties are detected
exactly as on the CPU; top-k keeps all values above the k-th and the lowest-index ties.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from ..utils.sparse import torch_csr

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


def dense_x_fits(n: int, m: int, device) -> bool:
    """Whether a dense float32 copy of the n × m interactions fits in half the free memory."""
    free = free_bytes(device)
    return free is None or n * m * 4 <= 0.5 * free


def _dense_binary(X, device):
    n, m = X.shape
    free = free_bytes(device)
    if not dense_x_fits(n, m, device):
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
            yield (r0, r1 - r0, *_select_block((Xd[r0:r1] @ Xd.T).double(), d, r0, k, zero))


def _select_block(C, d, r0, k, zero):
    """(rows, cols, sims) of the selected directed edges of one block of count rows ``C``
    (float64, rows r0.., all columns): the k largest similarities > 0, ties to lower index."""
    b, n = C.shape
    S = torch.where(C > 0, C / (d[r0:r0 + b, None] + d[None, :] - C).clamp_min(1.0), zero)
    del C
    rows = torch.arange(b, device=S.device)
    S[rows, rows + r0] = 0.0
    kth = torch.topk(S, min(k, n), dim=1, sorted=False).values.min(dim=1).values
    above = S > kth[:, None]
    eq = (S == kth[:, None]) & (kth[:, None] > 0)
    room = k - above.sum(dim=1, keepdim=True)
    sel = above | (eq & (torch.cumsum(eq, dim=1) <= room))
    del above, eq
    r, c = sel.nonzero(as_tuple=True)
    return r, c, S[r, c]


def knn_rows_sparse_torch(X, k, device, block_rows=None):
    """``knn_rows`` on a GPU without a dense ``n × m`` copy of ``X``: X stays sparse (CSR) on
    the device, each block of rows is made dense (``block × m``) and multiplied by the sparse
    ``Xᵀ``; the block size follows the free device memory. Returns CPU CSR arrays, equal to
    the CPU kernel's (counts are exact integers; the same selection rule)."""
    import scipy.sparse as sp

    X = sp.csr_matrix(X, dtype=np.float32)
    X.data[:] = 1.0
    n, m = X.shape
    k = min(k, max(n - 1, 1))
    deg = np.diff(X.indptr).astype(np.float64)
    Xs = torch_csr(X, device)  # n × m, stays sparse
    free = free_bytes(device)
    if block_rows is None:
        per_row = _BYTES_PER_CELL * n + 4 * m
        block_rows = int(max(1, min(n, (0.4 * (free or 1 << 30)) // per_row)))
    d = torch.as_tensor(deg, dtype=torch.float64, device=device)
    zero = torch.zeros((), dtype=torch.float64, device=device)
    counts = np.zeros(n, np.int64)
    parts = []
    for r0 in range(0, n, block_rows):
        r1 = min(n, r0 + block_rows)
        sub = X[r0:r1].tocoo()
        Xb = torch.zeros((r1 - r0, m), dtype=torch.float32, device=device)
        Xb[torch.as_tensor(sub.row, device=device).long(),
           torch.as_tensor(sub.col, device=device).long()] = 1.0
        C = torch.sparse.mm(Xs, Xb.t().contiguous()).t()  # counts, exact in float32 (< 2^24)
        r, c, v = _select_block(C.double(), d, r0, k, zero)
        order = torch.argsort(r * n + c)  # row-major, columns ascending
        r, c, v = r[order], c[order], v[order]
        counts[r0:r1] = torch.bincount(r, minlength=r1 - r0).cpu().numpy()
        parts.append((c.int().cpu().numpy(), v.float().cpu().numpy()))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    return (indptr, np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int32),
            np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.float32))


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
