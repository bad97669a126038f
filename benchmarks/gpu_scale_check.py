"""GPU checks for the scale paths (one short run, < 4 minutes on one H100; exits 1 on mismatch).

    PYTHONPATH=src python benchmarks/gpu_scale_check.py [--big-users 200000]

1. ML-1M-sized synthetic users (6,040 x 3,650, 1M interactions, K = 1000): the blocked sparse
   GPU graph (``knn_rows_sparse_torch``: X stays sparse on the device, no dense n x m copy)
   equals the CPU kernel bit for bit; also the dense-X GPU path.
2. A graph too large for the dense GPU tensor of the fused path (``--big-users`` x users/10
   items x 50 per user, K = 100): built blocked and sparse on the GPU; its rows are compared
   with the CPU kernel on a slice of rows (``knn_rows(rows=...)``), and the time is printed
   beside the approximate CPU graph on the same input.
3. LEPORID on that graph with the torch eigensolver on the sparse graph: residuals ≤ 1e-4.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big-users", type=int, default=200_000)
    ap.add_argument("--slice", type=int, default=2000, help="rows compared with the CPU kernel")
    args = ap.parse_args()

    import torch

    from leporid.data.synthetic import power_law_interactions
    from leporid.graph import symmetrize_union
    from leporid.graph.approximate import approx_knn_rows, warm_up_kernels
    from leporid.graph.jaccard import knn_rows
    from leporid.graph.jaccard import warm_up_kernels as exact_kernels
    from leporid.graph.jaccard_torch import knn_rows_sparse_torch
    from leporid.spectral import smallest_eigenpairs

    if not torch.cuda.is_available():
        print("no CUDA GPU visible: nothing to check")
        return 1
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}", flush=True)
    exact_kernels(), warm_up_kernels()
    ok = True

    X = power_law_interactions(6040, 3650, 1_000_000, seed=123).to_csr()
    t = time.perf_counter()
    cpu = knn_rows(X, 1000)
    t_cpu = time.perf_counter() - t
    knn_rows_sparse_torch(X[:500], 10, "cuda")  # CUDA context, cuSPARSE handles
    torch.cuda.synchronize()
    t = time.perf_counter()
    gpu = knn_rows_sparse_torch(X, 1000, "cuda")
    t_gpu = time.perf_counter() - t
    t = time.perf_counter()
    dense = knn_rows(X, 1000, device="cuda")
    t_dense = time.perf_counter() - t
    eq, eq_dense = same(cpu, gpu), same(cpu, dense)
    ok &= eq and eq_dense
    print(f"[1] ML-1M-sized users K=1000: CPU {t_cpu:.2f}s, GPU blocked sparse {t_gpu:.2f}s "
          f"(identical: {eq}), GPU dense-X {t_dense:.2f}s (identical: {eq_dense})", flush=True)

    n = args.big_users
    t = time.perf_counter()
    B = power_law_interactions(n, n // 10, 50 * n, seed=7).to_csr()
    print(f"[2] synthetic {B.shape[0]} x {B.shape[1]}, {B.nnz} interactions "
          f"(generated in {time.perf_counter() - t:.1f}s)", flush=True)
    torch.cuda.synchronize()
    t = time.perf_counter()
    big = knn_rows_sparse_torch(B, 100, "cuda")
    t_big = time.perf_counter() - t
    lo = n // 2
    ref = knn_rows(B, 100, rows=(lo, lo + args.slice))
    a, b = big[0][lo], big[0][lo + args.slice]
    part = (big[0][lo:lo + args.slice + 1] - a, big[1][a:b], big[2][a:b])
    eq_big = same(ref, part)
    ok &= eq_big
    t = time.perf_counter()
    approx_knn_rows(B, 100)  # timed only
    t_approx = time.perf_counter() - t
    print(f"    exact K=100 graph on the GPU, blocked sparse: {t_big:.1f}s "
          f"(rows {lo}..{lo + args.slice} identical to the CPU kernel: {eq_big}); "
          f"approximate CPU graph: {t_approx:.1f}s", flush=True)

    W = symmetrize_union(*big, n)
    t = time.perf_counter()
    res = smallest_eigenpairs(W, 64, alpha=0.5, tol=1e-6, device="cuda")
    t_eig = time.perf_counter() - t
    good = res.residuals.max() <= 1e-4
    ok &= good
    print(f"[3] LEPORID eigenpairs of that graph ({W.nnz // 2} edges) with the torch solver: "
          f"{t_eig:.1f}s, max residual {res.residuals.max():.1e} (≤ 1e-4: {good}); "
          f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB", flush=True)
    print("ALL OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
