"""Exact Jaccard K-nearest-neighbour graphs of the rows of a binary matrix (DESIGN.md §4).

``sim(u, v) = |I_u ∩ I_v| / |I_u ∪ I_v|``. Row ``u`` keeps its ``k`` most similar rows
``v != u`` with ``sim > 0``; among equal similarities the lower index wins. The graph is the
union symmetrisation ``W_uv = sim(u, v)`` if ``v ∈ KNN(u)`` or ``u ∈ KNN(v)``, zero diagonal.

The intersection counts are computed one block of rows at a time into a dense ``block × N``
buffer (memory bound: ``block_bytes``), never an ``N × N`` matrix: columns (items, for the
user graph) whose degree is high go through a BLAS matrix product; the rest are scattered
by a compiled kernel, whose cost is the sum of squared column degrees. Top-``k`` selection
is a compiled per-row partition. ``device="cuda"`` (or ``"auto"`` with a GPU present) runs
the same algorithm with torch on the GPU.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from tqdm.auto import tqdm

from ..data.validation import check_matrix, check_number
from ..utils.device import resolve_device
from .compile import warm_up


# --- compiled CPU kernels --------------------------------------------------------------------
@njit(parallel=True, cache=True, nogil=True)
def _scatter_counts(C, r0, indptr, indices, sparse_col, t_indptr, t_indices):
    """C[b, v] += |{i sparse: i ∈ row r0+b, i ∈ row v}| (C already holds the dense part)."""
    for b in prange(C.shape[0]):
        u = r0 + b
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            if sparse_col[i]:
                for q in range(t_indptr[i], t_indptr[i + 1]):
                    C[b, t_indices[q]] += 1.0


_BINS = 2048  # histogram bins over (0, 1] used to find each row's k-th largest similarity


@njit(parallel=True, cache=True, nogil=True)
def _select_topk(C, r0, deg, k, out_idx, out_val, out_cnt, n_threads):
    """Per row: the k largest Jaccard similarities (> 0, self excluded), ties to lower index.

    A histogram of the row's similarities locates the bin holding the k-th largest, so only
    that bin's values are partitioned. Neighbours are written in ascending index order.
    """
    n = C.shape[1]
    cand_s = np.empty((n_threads, n), np.float64)
    cand_v = np.empty((n_threads, n), np.int32)
    hists = np.empty((n_threads, _BINS + 1), np.int64)
    for b in prange(C.shape[0]):
        tid = numba.get_thread_id()
        cs = cand_s[tid]
        cv = cand_v[tid]
        hist = hists[tid]
        hist[:] = 0
        u = r0 + b
        du = deg[u]
        npos = 0
        for v in range(n):
            c = C[b, v]
            if c > 0.0 and v != u:
                s = c / (du + deg[v] - c)
                cs[npos] = s
                cv[npos] = v
                hist[int(s * _BINS)] += 1
                npos += 1
        if npos <= k:
            for j in range(npos):
                out_idx[b, j] = cv[j]
                out_val[b, j] = cs[j]
            out_cnt[b] = npos
            continue
        top = 0  # similarities in bins above the k-th one
        tb = _BINS
        while top + hist[tb] < k:
            top += hist[tb]
            tb -= 1
        inbin = np.empty(hist[tb], np.float64)
        m = 0
        for j in range(npos):
            if int(cs[j] * _BINS) == tb:
                inbin[m] = -cs[j]
                m += 1
        kth = -np.partition(inbin, k - top - 1)[k - top - 1]
        above = 0
        for j in range(npos):
            if cs[j] > kth:
                above += 1
        ties_left = k - above
        m = 0
        for j in range(npos):
            s = cs[j]
            if s > kth or (s == kth and ties_left > 0):
                if s == kth:
                    ties_left -= 1
                out_idx[b, m] = cv[j]
                out_val[b, m] = s
                m += 1
        out_cnt[b] = m


# --- helpers ---------------------------------------------------------------------------------
def _binary_csr(X) -> sp.csr_matrix:
    """A validated binary copy (``leporid.data.validation.check_matrix``)."""
    return check_matrix(X)


def _csr_arrays(X):
    """(indptr int64, indices int32): fixed index types, so each kernel has one compiled
    specialisation whatever the matrix size (scipy switches to int64 indices for large ones)."""
    return X.indptr.astype(np.int64, copy=False), X.indices.astype(np.int32, copy=False)


def warm_up_kernels(quiet: bool = False) -> float:
    """Load (or, on first use, compile) the CPU graph kernels; seconds spent compiling."""
    X = _binary_csr(sp.csr_matrix(np.array([[1, 1], [1, 0], [0, 1]], np.float32)))
    XT = X.T.tocsr()
    C = np.zeros((3, 3), np.float32)
    deg = np.diff(X.indptr).astype(np.float64)
    out = (np.empty((3, 1), np.int32), np.empty((3, 1), np.float32), np.empty(3, np.int32))

    def run():
        _scatter_counts(C, 0, *_csr_arrays(X), np.ones(2, np.bool_), *_csr_arrays(XT))
        _select_topk(C, 0, deg, 1, *out, numba.get_num_threads())

    return warm_up(run, (_scatter_counts, _select_topk), "Jaccard graph", quiet=quiet)


def symmetrize_union(indptr, indices, values, n: int) -> sp.csr_matrix:
    """``W = max(A, Aᵀ)`` of the directed KNN graph A (values are symmetric similarities)."""
    A = sp.csr_matrix((values, indices, indptr), shape=(n, n))
    W = A.maximum(A.T.tocsr()).tocsr()
    W.sort_indices()
    return W


def knn_rows(X, k: int, *, block_bytes: int = 256 << 20, dense_threshold: float | None = None,
             device: str = "cpu", backend: str | None = None, progress: bool = False,
             desc: str = "jaccard knn", rows: tuple[int, int] | None = None):
    """Directed exact Jaccard KNN of the rows of binary ``X``: CSR arrays (indptr, indices, values).

    ``dense_threshold``: columns with degree ≥ this share of rows go through BLAS (default
    chosen from the machine's relative cost of a scattered add and a BLAS flop).
    ``backend``: "numba" (CPU kernel) or "torch" (any torch device); default by ``device``.
    ``rows=(lo, hi)``: the neighbours of rows lo..hi-1 only (among all rows; CPU kernel), as
    the distributed build computes them — each row's result does not depend on the blocking.
    ``block_bytes`` is capped at a quarter of the memory available now.
    """
    k = check_number(k, "k (number of neighbours)", low=1, integer=True)
    X = _binary_csr(X)
    n, m = X.shape
    k = min(k, max(n - 1, 1))
    lo, hi = (0, n) if rows is None else rows
    if not 0 <= lo <= hi <= n:
        raise ValueError(f"rows must satisfy 0 <= lo <= hi <= {n}, got {rows}")
    device = resolve_device(device)
    deg = np.asarray(X.sum(axis=1)).ravel().astype(np.float64)
    block_bytes = min(block_bytes, max(16 << 20, available_memory() // 4))
    block = int(max(1, min(n, block_bytes // (4 * max(n, 1)))))
    out_idx = np.empty((hi - lo, k), np.int32)
    out_val = np.empty((hi - lo, k), np.float32)
    out_cnt = np.empty(hi - lo, np.int32)
    bar = tqdm(total=hi - lo, desc=desc, unit="row", disable=not progress, leave=False)
    backend = backend or ("torch" if device.startswith("cuda") else "numba")
    if backend == "torch":
        if rows is not None:
            raise ValueError("rows= is supported by the CPU kernel only")
        from .jaccard_torch import dense_x_fits, knn_blocks_torch, knn_rows_sparse_torch
        if not dense_x_fits(n, m, device):  # X too large to hold dense: sparse, blocked
            bar.close()
            return knn_rows_sparse_torch(X, k, device)
        knn_blocks_torch(X, deg, k, block, out_idx, out_val, out_cnt, device, bar)
    else:
        _knn_blocks_cpu(X, deg, k, block, dense_threshold, out_idx, out_val, out_cnt, bar, lo, hi)
    bar.close()
    indptr = np.zeros(hi - lo + 1, np.int64)
    np.cumsum(out_cnt, out=indptr[1:])
    mask = np.arange(k)[None, :] < out_cnt[:, None]
    return indptr, out_idx[mask], out_val[mask]


def available_memory() -> int:
    """Bytes of memory available to a new allocation now (MemAvailable; 4 GiB if unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return 4 << 30


def _knn_blocks_cpu(X, deg, k, block, dense_threshold, out_idx, out_val, out_cnt, bar, lo, hi):
    n, m = X.shape
    col_deg = np.diff(X.tocsc().indptr)
    if dense_threshold is None:
        # Measured here: a scattered add costs ~1.2 ns, a BLAS flop ~0.012 ns (2 cores). A
        # column of degree d costs d² adds sparse or 2 n² flops dense: dense from d ≈ 0.15 n.
        dense_threshold = 0.15
    dense_col = col_deg >= dense_threshold * n
    Xd = np.ascontiguousarray(X[:, dense_col].toarray()) if dense_col.any() else None
    XT = X.T.tocsr()
    x_arrays, xt_arrays = _csr_arrays(X), _csr_arrays(XT)
    sparse_col = ~dense_col
    n_threads = numba.get_num_threads()
    buf = np.empty((min(block, max(hi - lo, 1)), n), np.float32)  # one buffer, reused
    for r0 in range(lo, hi, block):
        r1 = min(hi, r0 + block)
        C = buf[: r1 - r0]
        if Xd is not None:
            np.matmul(Xd[r0:r1], Xd.T, out=C)
        else:
            C[:] = 0.0
        _scatter_counts(C, r0, *x_arrays, sparse_col, *xt_arrays)
        _select_topk(C, r0, deg, k, out_idx[r0 - lo:r1 - lo], out_val[r0 - lo:r1 - lo],
                     out_cnt[r0 - lo:r1 - lo], n_threads)
        bar.update(r1 - r0)


def jaccard_knn_graph(X, k: int, *, device: str = "cpu", block_bytes: int = 256 << 20,
                      dense_threshold: float | None = None, progress: bool = False,
                      desc: str = "jaccard knn") -> sp.csr_matrix:
    """Symmetric Jaccard KNN graph ``W`` (CSR, float32, zero diagonal) of the rows of ``X``."""
    n = X.shape[0]
    indptr, indices, values = knn_rows(X, k, block_bytes=block_bytes,
                                       dense_threshold=dense_threshold, device=device,
                                       progress=progress, desc=desc)
    return symmetrize_union(indptr, indices, values, n)
