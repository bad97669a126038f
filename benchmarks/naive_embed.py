"""The naive scipy pipeline as a whole process, for ``bench_cli.py``: what a user would write
without leporid (pandas reads the file, ``naive_embedding`` of ``bench_leporid.py`` builds
each Jaccard KNN graph with sparse products + argpartition and runs ``eigsh``), writing
z-scored user and item embeddings as ``.npy`` like ``leporid embed``.

    python benchmarks/naive_embed.py FILE OUTDIR [--sep TAB] [--k 1000] [--dim 64]
    python benchmarks/naive_embed.py --split DATASET --format FMT OUTDIR   # leporid's k-core split
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_leporid import naive_embedding  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--sep", default="\t")
    ap.add_argument("--split", action="store_true",
                    help="INPUT is a dataset for leporid's loader + 20-core split (train part)")
    ap.add_argument("--format", default=None)
    ap.add_argument("--protocol", default="kcore", help="with --split: kcore or authors")
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--alpha", type=float, default=0.5)
    a = ap.parse_args()
    if a.split:
        from leporid.data import load, prepare
        X = prepare(load(a.input, a.format), protocol=a.protocol).train.tocsr()
    else:
        df = pd.read_csv(a.input, sep=a.sep, header=None, usecols=[0, 1], names=["u", "i"])
        u, ui = pd.factorize(df["u"])
        i, ii = pd.factorize(df["i"])
        X = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(len(ui), len(ii)))
        X.sum_duplicates()
        X.data[:] = 1.0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for side, M in (("user", X), ("item", X.T.tocsr())):
        Q, t = naive_embedding(M, a.k, a.dim, a.alpha)
        Z = (Q - Q.mean(0)) / Q.std(0)
        np.save(out / f"{side}_embeddings.npy", Z.astype(np.float32))
        print(f"{side}s: graph {t['graph_s']:.2f}s eigen {t['eigen_s']:.2f}s", flush=True)


if __name__ == "__main__":
    main()
