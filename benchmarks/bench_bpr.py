"""BPR-MF: ours against ``implicit`` and Cornac on the same split (per-epoch time, tuned figures).

    python benchmarks/bench_bpr.py                 # per-epoch times, ml-100k (20-core split)
    python benchmarks/bench_bpr.py --tune 15       # + tuned validation/test figures, 15 trials each

Per-epoch time = (fit with E epochs - fit with 1 epoch) / (E - 1) on the bare training matrix
(no validation), so set-up, compilation and thread start are excluded for every library.
``implicit`` runs its Hogwild SGD with all cores (its default) and with one thread; Cornac's
BPR is single-threaded. Tuning: optuna TPE (seed 123) on validation HR@10 over factors 8-256
(log), lr, reg 1e-6-1e-1 (log), epochs 10-200 for each library (each its own lr range: ours
and implicit 1e-3-0.3, Cornac 1e-4-0.1), then one test evaluation of the chosen model with our
evaluator (full ranking, DESIGN.md §3). The other libraries' item biases are part of their
scores, as they use them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

SHARED_ML100K = Path("/work/shared/datasets/ml-100k/ml-100k.inter")


class ImplicitBPR:
    """``implicit.cpu.bpr.BayesianPersonalizedRanking`` behind ``fit(split)`` / ``score``."""

    def __init__(self, dim=64, lr=0.01, reg=0.01, epochs=100, threads=0, seed=123):
        self.dim, self.lr, self.reg, self.epochs = dim, lr, reg, epochs
        self.threads, self.seed = threads, seed

    def fit(self, data):
        import scipy.sparse as sp
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        X = sp.csr_matrix(getattr(data, "train", data), dtype=np.float32)
        self.m = BayesianPersonalizedRanking(
            factors=self.dim, learning_rate=self.lr, regularization=self.reg,
            iterations=self.epochs, num_threads=self.threads, random_state=self.seed)
        self.m.fit(X, show_progress=False)
        return self

    def score(self, users, part="test"):
        return self.m.user_factors[users] @ self.m.item_factors.T


class CornacBPR:
    """``cornac.models.BPR`` (item bias + dot product) behind ``fit(split)`` / ``score``."""

    def __init__(self, dim=64, lr=0.001, reg=0.01, epochs=100, seed=123):
        self.dim, self.lr, self.reg, self.epochs, self.seed = dim, lr, reg, epochs, seed

    def fit(self, data):
        import cornac
        import scipy.sparse as sp

        X = sp.coo_matrix(getattr(data, "train", data))
        self.n_users, self.n_items = X.shape
        triples = list(zip(X.row.tolist(), X.col.tolist(), [1.0] * X.nnz))
        ds = cornac.data.Dataset.from_uir(triples, seed=self.seed)
        self.m = cornac.models.BPR(k=self.dim, max_iter=self.epochs, learning_rate=self.lr,
                                   lambda_reg=self.reg, seed=self.seed, verbose=False)
        self.m.fit(ds)
        # cornac renumbers ids: map back to ours (items absent from train score 0 + bias 0)
        uidx = np.array([ds.uid_map[u] for u in range(self.n_users)])
        self.U = self.m.u_factors[uidx]
        V = np.zeros((self.n_items, self.dim), np.float32)
        b = np.zeros(self.n_items, np.float32)
        for raw, inner in ds.iid_map.items():
            V[raw], b[raw] = self.m.i_factors[inner], self.m.i_biases[inner]
        self.V, self.b = V, b
        return self

    def score(self, users, part="test"):
        return self.U[users] @ self.V.T + self.b


def per_epoch(make, X, epochs: int) -> float:
    make(1).fit(X)                                    # warm-up (numba compile, thread pools)
    t = time.perf_counter()
    make(1).fit(X)
    one = time.perf_counter() - t
    t = time.perf_counter()
    make(epochs).fit(X)
    return (time.perf_counter() - t - one) / (epochs - 1)


def timings(split, epochs: int, repeat: int) -> None:
    from leporid.models.bpr import BPRMF

    X = split.train
    cases = {
        "ours, SGD (numba, 1 thread)": lambda e: BPRMF(epochs=e),
        "ours, Adam (torch, batch 1024)": lambda e: BPRMF(epochs=e, optimizer="adam", lr=1e-2,
                                                          reg=1e-4, batch_size=1024),
        "implicit (all cores)": lambda e: ImplicitBPR(epochs=e, threads=0),
        "implicit (1 thread)": lambda e: ImplicitBPR(epochs=e, threads=1),
        "cornac (1 thread)": lambda e: CornacBPR(epochs=e),
    }
    print(f"per-epoch seconds, 64 factors, {X.nnz} training pairs, best of {repeat}:")
    best = {}
    for name, make in cases.items():
        best[name] = min(per_epoch(make, X, epochs) for _ in range(repeat))
        print(f"  {name:34s} {best[name] * 1000:8.1f} ms", flush=True)
    ref = best["implicit (all cores)"]
    for name, t in best.items():
        print(f"  {name:34s} {t / ref:5.2f}x implicit (all cores)")


def tuned(split, trials: int, seed: int) -> None:
    from leporid.models.base import suggest
    from leporid.train.tuning import model_space, tune_and_test

    def lib_space(cls, lr_range):
        def make(trial):
            return cls(dim=suggest(trial, {}, "dim", "int", 8, 256, log=True),
                       lr=suggest(trial, {}, "lr", "float", *lr_range, log=True),
                       reg=suggest(trial, {}, "reg", "float", 1e-6, 1e-1, log=True),
                       epochs=suggest(trial, {}, "epochs", "int", 10, 200, step=10))
        return make

    ours = model_space("bpr")
    spaces = {"ours (SGD)": lambda trial: ours(trial),
              "implicit": lib_space(ImplicitBPR, (1e-3, 0.3)),
              "cornac": lib_space(CornacBPR, (1e-4, 0.1))}
    print("\n| library | trials | part | HR@10 | F1@10 | NDCG@10 | chosen | seconds |\n"
          "|---|---|---|---|---|---|---|---|")
    for name, space in spaces.items():
        t = time.perf_counter()
        res = tune_and_test(space, split, trials, seed=seed, progress=False)
        sec = time.perf_counter() - t
        chosen = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in res["best_params"].items())
        for part, r in (("validation", res["validation"]["all"]), ("test", res["test"]["all"])):
            print(f"| {name} | {res['n_trials']} | {part} | {r['HR@10']:.4f} | {r['F1@10']:.4f} "
                  f"| {r['NDCG@10']:.4f} | {chosen if part == 'test' else ''} | "
                  f"{sec:.0f} |", flush=True)


def main() -> None:
    from leporid.data import load, prepare

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=str(SHARED_ML100K))
    ap.add_argument("--epochs", type=int, default=21)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tune", type=int, default=0, metavar="TRIALS")
    ap.add_argument("--seed", type=int, default=123)
    args = ap.parse_args()
    split = prepare(load(args.dataset))
    print(f"{args.dataset}: {split.n_users} users x {split.n_items} items")
    timings(split, args.epochs, args.repeat)
    if args.tune:
        tuned(split, args.tune, args.seed)


if __name__ == "__main__":
    main()
