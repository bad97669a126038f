"""LEPORID end to end (graph + eigensolver, users and items, K=1000, 𝒟=64) vs a naive scipy
pipeline, each in its own subprocess so wall time and peak memory are measured alike.

    python benchmarks/bench_leporid.py                     # all four datasets
    python benchmarks/bench_leporid.py --sets bundled ml1m --device cuda

Datasets: the bundled ml-latest-small and ../shared ml-100k (train part of the 20-core
70/10/20 split), a synthetic MovieLens-1M-sized set (6,040 x 3,650, ~1M interactions) and a
synthetic Anime-sized set (47,143 x 6,535, ~4.3M interactions), power-law popularity, all
interactions used as training data.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SHARED_ML100K = Path(__file__).resolve().parents[2] / "shared/datasets/ml-100k/ml-100k.inter"
SETS = {
    "bundled": "ml-latest-small (train)",
    "ml100k": "ml-100k (train)",
    "ml1m": "synthetic ML-1M size",
    "anime": "synthetic Anime size",
}


def training_matrix(name: str):
    from leporid.data import load, prepare
    from leporid.data.synthetic import power_law_interactions

    if name == "bundled":
        return prepare(load("ml-latest-small")).train
    if name == "ml100k":
        return prepare(load(str(SHARED_ML100K))).train
    if name == "ml1m":
        return power_law_interactions(6040, 3650, 1_000_000, seed=123).to_csr()
    if name == "anime":
        return power_law_interactions(47143, 6535, 4_300_000, seed=123).to_csr()
    raise ValueError(name)


def naive_side(X, k: int, dim: int, alpha: float, block: int = 512) -> dict:
    """The obvious scipy pipeline: blockwise sparse product, argpartition, eigsh on the CSR."""
    return naive_embedding(X, k, dim, alpha, block)[1]


def naive_embedding(X, k: int, dim: int, alpha: float, block: int = 512):
    """(the ``dim`` top eigenvectors of ``D^-1/2 W D^-1/2``, timings) of the naive pipeline."""
    import numpy as np
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    t0 = time.perf_counter()
    n = X.shape[0]
    deg = np.asarray(X.sum(1)).ravel()
    XT = X.T.tocsr()
    rows, cols, vals = [], [], []
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        C = (X[r0:r1] @ XT).toarray()
        U = deg[r0:r1, None] + deg[None, :] - C
        S = np.divide(C, U, out=np.zeros_like(C), where=C > 0)
        S[np.arange(r1 - r0), np.arange(r0, r1)] = 0
        kk = min(k, n - 1)
        top = np.argpartition(-S, kk - 1, axis=1)[:, :kk]
        v = np.take_along_axis(S, top, 1)
        keep = v > 0
        rows.append(np.repeat(np.arange(r0, r1), kk)[keep.ravel()])
        cols.append(top[keep])
        vals.append(v[keep])
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), (n, n))
    W = A.maximum(A.T).tocsr()
    t1 = time.perf_counter()
    d = np.asarray(W.sum(1)).ravel()
    dreg = (1 - alpha) * d + alpha * d.max()
    s = sp.diags(np.where(dreg > 0, 1 / np.sqrt(np.maximum(dreg, 1e-300)), 0))
    M = (s @ W @ s).tocsr()
    theta, Q = sla.eigsh(M, k=dim, which="LA", v0=np.random.default_rng(123).standard_normal(n))
    t2 = time.perf_counter()
    return Q[:, ::-1], {"graph_s": t1 - t0, "eigen_s": t2 - t1, "edges": int(W.nnz // 2)}


def worker(name: str, pipeline: str, device: str, k: int, dim: int, alpha: float) -> dict:
    X = training_matrix(name)
    out = {"set": name, "pipeline": pipeline, "users": X.shape[0], "items": X.shape[1],
           "interactions": int(X.nnz)}
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if pipeline == "leporid":
        from leporid import LeporidEmbedding

        est = LeporidEmbedding(n_components=dim, n_neighbors=k, alpha=alpha, device=device).fit(X)
        for side in ("user", "item"):
            out[side] = {"graph_s": est.timings_[f"{side}_graph"],
                         "eigen_s": est.timings_[f"{side}_eigen"],
                         "edges": est.info_[side]["edges"],
                         "solver": est.info_[side]["eigen_solver"],
                         "max_residual": float(getattr(est, f"{side}_residuals_").max())}
    else:
        out["user"] = naive_side(X, k, dim, alpha)
        out["item"] = naive_side(X.T.tocsr(), k, dim, alpha)
    out["total_s"] = time.perf_counter() - t0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_before_mb"] = base_rss / 1024
    return out


def run_subprocess(args, name, pipeline) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, pipeline, "--device", args.device,
           "--k", str(args.k), "--dim", str(args.dim), "--alpha", str(args.alpha)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    if r.returncode != 0:
        return {"set": name, "pipeline": pipeline, "error": r.stderr.strip().splitlines()[-1:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--no-naive", action="store_true", help="skip the naive scipy pipeline")
    ap.add_argument("--json", default=None, help="also write all figures to this JSON file")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.device, args.k, args.dim, args.alpha)))
        return
    results = []
    hdr = (f"{'dataset':24s} {'pipeline':8s} {'side':5s} {'nodes':>6s} {'edges':>10s} "
           f"{'graph s':>8s} {'eigen s':>8s} {'total s':>8s} {'peak MB':>8s} {'max res':>8s}")
    print(hdr)
    for name in args.sets:
        for pipeline in (["leporid"] if args.no_naive else ["leporid", "naive"]):
            r = run_subprocess(args, name, pipeline)
            results.append(r)
            if "error" in r:
                print(f"{SETS[name]:24s} {pipeline:8s} ERROR {r['error']}")
                continue
            for side, nodes in (("user", r["users"]), ("item", r["items"])):
                s = r[side]
                print(f"{SETS[name]:24s} {pipeline:8s} {side:5s} {nodes:6d} {s['edges']:10d} "
                      f"{s['graph_s']:8.2f} {s['eigen_s']:8.2f} {s['graph_s'] + s['eigen_s']:8.2f}"
                      f" {r['peak_rss_mb']:8.0f} {s.get('max_residual', float('nan')):8.1e}")
            print(f"{'':24s} {pipeline:8s} both  total {r['total_s']:.2f} s, "
                  f"peak {r['peak_rss_mb']:.0f} MB ({r['interactions']} interactions)",
                  flush=True)
        if not args.no_naive:
            a, b = results[-2], results[-1]
            if "error" not in a and "error" not in b:
                print(f"{'':24s} speed-up over naive: {b['total_s'] / a['total_s']:.1f}x, "
                      f"memory {b['peak_rss_mb'] / a['peak_rss_mb']:.1f}x", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
