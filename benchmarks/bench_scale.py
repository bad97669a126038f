"""Scaling series of LEPORID user embeddings: exact vs approximate graphs, one process vs a
local Dask cluster of 2 workers; time, peak memory, recall, subspace agreement, growth exponent.

    nice python benchmarks/bench_scale.py                         # 10k, 50k, 200k, 1M users
    python benchmarks/bench_scale.py --sizes 10k 50k --modes exact approx --timeout 300

Inputs: ``power_law_interactions`` (Zipf items, log-normal users, seed 123) of
10k x 1k x 0.5M, 50k x 5k x 2.5M, 200k x 20k x 10M and 1M x 50k x 50M (about 50 interactions
per user); ``--data flat`` (default) has no taste structure, ``--data taste`` puts users in 40
Zipf-sized communities that draw 80% of their items from their own item ranking (at ML-1M's
size this makes the approximate search a little harder than on the real ML-1M: recall 0.89
against 0.95 with the default parameters, K = 100). ``--approximate SPEC`` passes parameters
(``bands=128,fan=32``).
K = 100, 𝒟 = 64, α = 0.5. Each run is its own subprocess (wall time, peak RSS of
that process — Dask workers' memory is reported separately from psutil when available),
stopped at ``--timeout``. Approximate runs print the recall of the exact K neighbours on 200
sampled rows; where the exact run of the same size finished, every other run's subspace
agreement with it (first 16, 32 and 64 eigenvectors, and at the widest eigengap in 24..40).
``--modes exact exact-relabelled`` measures the floor of that comparison: the exact graph of
the users listed in another order breaks ties at the K-th place differently, and where ties
are common (the synthetic inputs, ~50 items per user) its eigenvectors move as much as an
approximate graph's (benchmarks/README.md). The growth exponent is the least-squares slope of
log time on log users over the sizes that finished.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = {"10k": (10_000, 1_000, 500_000), "50k": (50_000, 5_000, 2_500_000),
         "200k": (200_000, 20_000, 10_000_000), "1M": (1_000_000, 50_000, 50_000_000)}
MODES = {"exact": (False, None), "approx": (True, None),
         "exact-dask2": (False, "local:2"), "approx-dask2": (True, "local:2"),
         "exact-relabelled": (False, None)}
# "exact-relabelled": the exact graph of the same users listed in a random order (seed 7),
# its eigenvectors mapped back. The exact graph breaks ties at the K-th place by row index,
# so this run measures how far "the exact eigenvectors" themselves move with that arbitrary
# choice: the floor below which no comparison with them means anything.
RELABEL_SEED = 7


TASTE = {"communities": 40, "affinity": 0.8}


def worker(size: str, mode: str, k: int, dim: int, out: str, data: str = "flat",
           spec: str = "") -> dict:
    from leporid.data.synthetic import power_law_interactions
    from leporid.graph import knn_graph
    from leporid.graph.approximate import parse_approximate, warm_up_kernels
    from leporid.graph.jaccard import warm_up_kernels as graph_kernels
    from leporid.spectral import smallest_eigenpairs
    from leporid.spectral.eigen import warm_up_kernels as eigen_kernels

    n, m, z = SIZES[size]
    approximate, scheduler = MODES[mode]
    graph_kernels(), eigen_kernels(), warm_up_kernels()
    t = time.perf_counter()
    X = power_law_interactions(n, m, z, seed=123,
                               **(TASTE if data == "taste" else {})).to_csr()
    perm = None
    if mode == "exact-relabelled":
        perm = np.random.default_rng(RELABEL_SEED).permutation(n)
        X = X[perm]  # new row i is old row perm[i]
    r = {"size": size, "mode": mode, "data": data, "approximate": spec, "users": n, "items": m,
         "interactions": int(X.nnz), "generate_s": time.perf_counter() - t}
    client = cluster = None
    if scheduler:
        from leporid.graph.distributed import close, connect

        t = time.perf_counter()
        client, cluster = connect(scheduler)
        r["connect_s"] = time.perf_counter() - t
    info: dict = {}
    t = time.perf_counter()
    W = knn_graph(X, k, approximate={"sample": 200, **parse_approximate(spec)} if approximate
                  else None, client=client, info=info)
    r["graph_s"] = time.perf_counter() - t - info.get("recall_s", 0.0)
    if client is not None:
        try:
            import psutil

            mem = client.run(lambda: psutil.Process().memory_info().rss)
            r["worker_rss_mb"] = [v / 2**20 for v in mem.values()]
        except ImportError:
            pass
        close(client, cluster)
    if "recall" in info:
        r["recall"] = info["recall"]
    if "refine_changed" in info:
        r["refine_rounds"] = len(info["refine_changed"])
    r["edges"] = int(W.nnz // 2)
    t = time.perf_counter()
    res = smallest_eigenpairs(W, dim, alpha=0.5, tol=1e-6)
    r["eigen_s"] = time.perf_counter() - t
    r["max_residual"] = float(res.residuals.max())
    vectors = res.vectors if perm is None else res.vectors[np.argsort(perm)]
    np.save(out, vectors.astype(np.float32))
    np.save(out.replace(".npy", "_values.npy"), res.eigenvalues)
    r["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return r


def run_one(size, mode, args, work) -> dict:
    out = str(work / f"vec_{size}_{mode}.npy")
    cmd = [sys.executable, __file__, "--worker", size, mode, out, "--k", str(args.k),
           "--data", args.data, "--approximate", args.approximate]
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"size": size, "mode": mode, "stopped": f"timeout after {args.timeout} s"}
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {"size": size, "mode": mode, "stopped": f"exit {p.returncode}: {tail}"}
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["process_s"] = time.perf_counter() - t
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--json", default=None)
    ap.add_argument("--data", choices=("flat", "taste"), default="flat")
    ap.add_argument("--workdir", default=None, help="keep the eigenvectors here; approximate "
                    "runs compare with an exact run of the same size found there")
    ap.add_argument("--approximate", default="", help="approximate-mode parameters, e.g. fan=32")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker[:2], args.k, 64, args.worker[2], args.data,
                                args.approximate)))
        return
    from leporid.spectral.result import subspace_agreement

    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="leporid-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# data {args.data}, K = {args.k}, "
          f"approximate parameters {args.approximate or 'default'}")
    rows = []
    print(f"{'size':5s} {'mode':16s} {'graph s':>8s} {'eigen s':>8s} {'process s':>9s} "
          f"{'peak MB':>8s} {'recall':>7s} {'cos32 min':>9s}  note", flush=True)
    for size in args.sizes:
        for mode in args.modes:
            r = run_one(size, mode, args, work)
            exact_vec = work / f"vec_{size}_exact.npy"
            if "stopped" not in r and exact_vec.exists() and mode not in ("exact", "exact-dask2"):
                a = np.load(exact_vec)
                b = np.load(work / f"vec_{size}_{mode}.npy")
                r["cos32_mean"], r["cos32_min"] = subspace_agreement(a[:, :32], b[:, :32])
                # "the first 32" is ill-posed when λ32 ≈ λ33 (planted communities give
                # clustered eigenvalues): also compare at the widest exact gap in 24..40
                lam = np.load(str(exact_vec).replace(".npy", "_values.npy"))
                d = 24 + int(np.argmax(np.diff(lam[23:40])))
                r["gap32"] = float(lam[32] - lam[31])
                r["cos_at_gap_dim"] = d
                r["cos_at_gap_min"] = subspace_agreement(a[:, :d], b[:, :d])[1]
                r["cos16_min"], r["cos64_min"] = (subspace_agreement(a[:, :j], b[:, :j])[1]
                                                  for j in (16, 64))
            rows.append(r)
            if "stopped" in r:
                print(f"{size:5s} {mode:16s} stopped: {r['stopped']}", flush=True)
                continue
            note = f"workers {', '.join(f'{v:.0f}' for v in r['worker_rss_mb'])} MB" \
                if "worker_rss_mb" in r else ""
            print(f"{size:5s} {mode:16s} {r['graph_s']:8.1f} {r['eigen_s']:8.1f} "
                  f"{r['process_s']:9.1f} {r['peak_rss_mb']:8.0f} "
                  f"{r.get('recall', float('nan')):7.3f} "
                  f"{r.get('cos32_min', float('nan')):9.4f}  {note}", flush=True)
    for r in rows:
        if "cos_at_gap_min" in r:
            print(f"{r['size']} {r['mode']}: λ33 - λ32 = {r['gap32']:.2e}; at the widest exact "
                  f"eigengap in 24..40 (first {r['cos_at_gap_dim']} vectors) min cosine "
                  f"{r['cos_at_gap_min']:.4f}; first 16 / 64: {r['cos16_min']:.4f} / "
                  f"{r['cos64_min']:.4f}")
    print("\ngrowth exponent (time ∝ users^p, over the sizes that finished):")
    for mode in args.modes:
        done = [r for r in rows if r["mode"] == mode and "stopped" not in r]
        if len(done) >= 2:
            x = np.log([r["users"] for r in done])
            for key in ("graph_s", "eigen_s"):
                p = np.polyfit(x, np.log([max(r[key], 1e-3) for r in done]), 1)[0]
                print(f"  {mode:16s} {key[:-2]:6s} p = {p:.2f}  ({len(done)} sizes)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (2-core machine shared)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
