"""Every model's test figures from a ``leporid reproduce`` cell cache, mean ± std over seeds:
HR@5, HR@10, F1@5, F1@10, NDCG@10, tail HR@10 and the mean seconds per cell (training,
initialiser and test evaluation; an initialiser cached on disk by an earlier cell costs nothing).

    python benchmarks/cells_summary.py results/ml-100k                    # random vs LEPORID
    python benchmarks/cells_summary.py results/ml-100k --inits random,svd,le,leporid

Neural cells of ``--inits`` (DLR² only in its default variant: ResNet, both losses, ranked
through S, the paper's α = 0.5 and the budget's K), then the tuned classic models.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

METRICS = [("all", "HR@5"), ("all", "HR@10"), ("all", "F1@5"), ("all", "F1@10"),
           ("all", "NDCG@10"), ("tail", "HR@10")]


def default_variant(cfg: dict) -> bool:
    if cfg.get("kind") != "dlr2":
        return True
    ip = cfg.get("init_params") or {}
    return (not (set(cfg.get("dlr2") or {}) - {"epochs", "iterations", "eval_every", "patience"})
            and ip.get("alpha", 0.5) == 0.5 and ip.get("n_neighbors", 1000) == 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--inits", default="random,leporid")
    args = ap.parse_args()
    inits = args.inits.split(",")
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in sorted((args.results / "cache" / "cells").glob("*.json")):
        doc = json.loads(p.read_text())
        cfg = doc["config"]
        if cfg.get("kind") in ("neural", "dlr2") and cfg.get("init") in inits \
                and default_variant(cfg):
            groups[("neural", cfg["model"], cfg["init"])].append(doc)
        elif cfg.get("kind") == "classic" and cfg.get("init") == "-":
            groups[("classic", cfg["model"], "-")].append(doc)
    head = ["model", "init", "seeds"] + [f"{'tail ' if s == 'tail' else ''}{m}"
                                         for s, m in METRICS] + ["s / cell"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    order = {m: i for i, m in enumerate(["ncf", "ngcf", "dgcf", "hgn", "lightgcn", "dlr2",
                                         "toppop", "userknn", "itemknn", "slim", "bpr"])}
    for key in sorted(groups, key=lambda k: (k[0] == "classic", order.get(k[1], 99),
                                             inits.index(k[2]) if k[2] in inits else 0)):
        docs = groups[key]
        cells = []
        for subset, m in METRICS:
            v = np.array([d["test"][subset][m] for d in docs])
            cells.append(f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v[0]:.4f}")
        secs = np.mean([d.get("seconds", np.nan) for d in docs])
        print(f"| {key[1]} | {key[2]} | {len(docs)} | " + " | ".join(cells) + f" | {secs:.0f} |")


if __name__ == "__main__":
    main()
