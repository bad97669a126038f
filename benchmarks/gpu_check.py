"""GPU verification and timing of the LEPORID paths (run on a machine with CUDA).

    PYTHONPATH=src python benchmarks/gpu_check.py [--quick]

1. the torch KNN kernel on the GPU returns exactly the CPU kernel's graph (ML-1M-sized set);
2. GPU and CPU LEPORID agree (eigenvalues, residuals) on the same set;
3. timing of the Anime-sized users graph (47,143 x 6,535, ~4.3M interactions) and items
   graph on the GPU, K=1000, 𝒟=64, α=0.5, after a warm-up run.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def check_models() -> dict:
    """BPR-MF and DLR² on CUDA, evaluated through the common evaluator (CUDA score tensors)."""
    import warnings

    from leporid.data import load, prepare
    from leporid.eval import evaluate
    from leporid.models import make_model

    warnings.simplefilter("ignore")
    split = prepare(load("ml-latest-small"))
    res = {}
    t = time.perf_counter()
    bpr = make_model("bpr", device="cuda", epochs=20).fit(split)
    r = evaluate(bpr, split, "test")
    res["bpr_cuda"] = {"HR@10": r["all"]["HR@10"], "seconds": time.perf_counter() - t}
    t = time.perf_counter()
    model = make_model("dlr2", init="leporid", device="cuda", epochs=3).fit(split)
    hist = model.history_
    r = evaluate(model, split, "test")
    res["dlr2_cuda"] = {"HR@10": r["all"]["HR@10"], "seconds": time.perf_counter() - t,
                        "steps_per_s": hist[-1].get("steps_per_s")}
    print("models on CUDA:", res, flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--models", action="store_true",
                    help="also train BPR-MF and DLR² on the GPU and evaluate them from CUDA scores")
    args = ap.parse_args()
    from leporid import LeporidEmbedding
    from leporid.data.synthetic import power_law_interactions
    from leporid.graph.jaccard import knn_rows

    out = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    print(out, flush=True)
    # warm-up: CUDA context, cuBLAS, numba compilation
    Xw = power_law_interactions(500, 200, 20000, seed=1).to_csr()
    LeporidEmbedding(n_components=8, n_neighbors=50, device="cuda").fit(Xw)
    LeporidEmbedding(n_components=8, n_neighbors=50, device="cpu").fit(Xw)

    X = power_law_interactions(6040, 3650, 1_000_000, seed=123).to_csr()
    t = time.perf_counter()
    a = knn_rows(X, 1000)
    tc = time.perf_counter() - t
    t = time.perf_counter()
    b = knn_rows(X, 1000, device="cuda")
    tg = time.perf_counter() - t
    same = all(np.array_equal(x, y) for x, y in zip(a, b))
    out["ml1m_knn_identical"] = bool(same)
    out["ml1m_knn_cpu_s"], out["ml1m_knn_gpu_sparse_out_s"] = tc, tg
    print(f"ML-1M users KNN: GPU == CPU: {same} (cpu {tc:.2f}s, gpu {tg:.2f}s)", flush=True)
    t = time.perf_counter()
    g = LeporidEmbedding(device="cuda").fit(X)
    tg = time.perf_counter() - t
    t = time.perf_counter()
    c = LeporidEmbedding(device="cpu").fit(X)
    tc = time.perf_counter() - t
    for side in ("user", "item"):
        dl = np.abs(getattr(g, f"{side}_eigenvalues_") - getattr(c, f"{side}_eigenvalues_")).max()
        rg = getattr(g, f"{side}_residuals_").max()
        print(f"ML-1M {side}s: max |λ_gpu - λ_cpu| = {dl:.2e}; gpu residual {rg:.1e}; "
              f"gpu {g.timings_[side + '_graph']:.2f}+{g.timings_[side + '_eigen']:.2f}s, "
              f"cpu {c.timings_[side + '_graph']:.2f}+{c.timings_[side + '_eigen']:.2f}s",
              flush=True)
        out[f"ml1m_{side}"] = {"max_eig_diff": float(dl), "gpu_residual": float(rg),
                               "gpu": g.timings_, "cpu": c.timings_,
                               "gpu_solver": g.info_[side]["eigen_solver"]}
    out["ml1m_total_gpu_s"], out["ml1m_total_cpu_s"] = tg, tc
    if not args.quick:
        Xa = power_law_interactions(47143, 6535, 4_300_000, seed=123).to_csr()
        for rep in range(2):
            torch.cuda.synchronize()
            t = time.perf_counter()
            e = LeporidEmbedding(device="cuda").fit(Xa)
            torch.cuda.synchronize()
            tt = time.perf_counter() - t
            print(f"Anime-sized rep {rep}: users graph {e.timings_['user_graph']:.2f}s eigen "
                  f"{e.timings_['user_eigen']:.2f}s (residual {e.user_residuals_.max():.1e}, "
                  f"{e.info_['user']}); items {e.timings_['item_graph']:.2f}+"
                  f"{e.timings_['item_eigen']:.2f}s; total {tt:.2f}s; peak GPU "
                  f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB", flush=True)
            out[f"anime_rep{rep}"] = {"timings": e.timings_, "user_residual":
                                      float(e.user_residuals_.max()), "info": e.info_,
                                      "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30}
    if args.models:
        out["models"] = check_models()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2, default=str)


if __name__ == "__main__":
    main()
