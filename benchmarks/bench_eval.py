"""Speed and memory of the evaluator (full ranking, all metrics at 1/5/10, all + tail users).

    python benchmarks/bench_eval.py                       # ml-100k and the Anime-sized set
    python benchmarks/bench_eval.py --sets ml100k --repeat 5

The scored model is a 64-dimensional dot-product model with random embeddings, so the figures
include scoring (one matrix product per batch) as any real model would. "eval only" subtracts
the time spent inside ``score``. Peak memory is the tracemalloc peak of one ``evaluate`` call
(numpy allocations), measured in a separate run.

Datasets: ../shared ml-100k (20-core, 70/10/20 split) and a synthetic Anime-sized split
(power-law popularity, 47,143 users x 6,535 items, ~4.3M interactions before the 20-core
filter).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np

SHARED_ML100K = Path(__file__).resolve().parents[2] / "shared/datasets/ml-100k/ml-100k.inter"


class RandomDot:
    """score(u, i) = U_u . V_i with seeded Gaussian embeddings; times its own scoring."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.U = rng.standard_normal((n_users, dim), dtype=np.float32)
        self.V = rng.standard_normal((n_items, dim), dtype=np.float32)
        self.seconds = 0.0

    def fit(self, split):
        return self

    def score(self, users, part):
        t = time.perf_counter()
        out = self.U[users] @ self.V.T
        self.seconds += time.perf_counter() - t
        return out


def make_split(name: str):
    from leporid.data import load, prepare
    from leporid.data.synthetic import power_law_interactions

    if name == "ml100k":
        return prepare(load(str(SHARED_ML100K)))
    if name == "anime":
        return prepare(power_law_interactions(47143, 6535, 4_300_000, seed=123))
    raise ValueError(name)


def main() -> None:
    from leporid.eval import evaluate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["ml100k", "anime"])
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for name in args.sets:
        t = time.perf_counter()
        split = make_split(name)
        prep = time.perf_counter() - t
        print(f"\n== {name}: {split.n_users} users x {split.n_items} items, "
              f"{len(split.interactions)} interactions (prepared in {prep:.1f} s)")
        for part in ("validation", "test"):
            times, score_times = [], []
            for _ in range(args.repeat):
                model = RandomDot(split.n_users, split.n_items)
                t = time.perf_counter()
                res = evaluate(model, split, part, batch_size=args.batch_size)
                times.append(time.perf_counter() - t)
                score_times.append(model.seconds)
            best = int(np.argmin(times))
            print(f"{part:>10}: {min(times):6.2f} s total (best of {args.repeat}), "
                  f"{times[best] - score_times[best]:6.2f} s eval only; "
                  f"{res['all']['n_users']} users, {res['tail']['n_users']} tail; "
                  f"HR@10 {res['all']['HR@10']:.4f}")
        tracemalloc.start()
        evaluate(RandomDot(split.n_users, split.n_items), split, "test",
                 batch_size=args.batch_size)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak memory of one test evaluation (batch {args.batch_size}): "
              f"{peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
