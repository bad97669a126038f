"""Fit / evaluate times of the classic baselines, and their tuned validation + test figures.

    python benchmarks/bench_classic.py                    # timings on ml-100k
    python benchmarks/bench_classic.py --tune             # tuned figures, ml-100k + bundled
    python benchmarks/bench_classic.py --tune --sets bundled --models itemknn slim \\
        --trials itemknn=50 slim=20

Tuning: optuna TPE (seed 123) on validation HR@10 over ``leporid.train.tuning.SEARCH_SPACES``,
then one test evaluation of the chosen model. The tuned table is written (JSON + CSV +
Markdown, with provenance) to ``--out`` (default results/classic_tuned_<set>).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

SHARED_ML100K = Path(__file__).resolve().parents[2] / "shared/datasets/ml-100k/ml-100k.inter"
DEFAULT_TRIALS = {"toppop": 1, "itemknn": 50, "userknn": 50, "slim": 20, "bpr": 15}
COLUMNS = ["dataset", "model", "trials", "part", "HR@5", "HR@10", "F1@5", "F1@10", "NDCG@10",
           "tail HR@10", "best_params"]


def make_split(name: str):
    from leporid.data import load, prepare

    return prepare(load(str(SHARED_ML100K) if name == "ml100k" else "ml-latest-small"))


def timings(split) -> None:
    from leporid.eval import evaluate
    from leporid.models import make_model

    cases = [("toppop", {}), ("itemknn", {}), ("itemknn", {"topk": 1000, "shrink": 100}),
             ("itemknn", {"similarity": "jaccard", "topk": 200}),
             ("userknn", {}), ("userknn", {"topk": 1000, "feature_weighting": "BM25"}),
             ("slim", {}), ("slim", {"alpha": 1e-3, "l1_ratio": 1e-5, "topk": 1000}),
             ("bpr", {"epochs": 50})]
    print("| model | params | fit s | evaluate (val + test) s |\n|---|---|---|---|")
    for name, params in cases:
        t = time.perf_counter()
        model = make_model(name, **params).fit(split)
        fit = time.perf_counter() - t
        t = time.perf_counter()
        evaluate(model, split, "validation")
        evaluate(model, split, "test")
        ev = time.perf_counter() - t
        print(f"| {name} | {params or 'defaults'} | {fit:.2f} | {ev:.2f} |")


def tuned(split, set_name: str, models, trials: dict, seed: int) -> list[dict]:
    from leporid.train.tuning import tune_model

    rows = []
    for name in models:
        t = time.perf_counter()
        res = tune_model(name, split, trials.get(name, 20), seed=seed)
        seconds = time.perf_counter() - t
        for part, r in (("validation", res["validation"]), ("test", res["test"])):
            a, tail = r["all"], r["tail"]
            rows.append({"dataset": set_name, "model": name, "trials": res["n_trials"],
                         "part": part, "HR@5": a["HR@5"], "HR@10": a["HR@10"],
                         "F1@5": a["F1@5"], "F1@10": a["F1@10"], "NDCG@10": a["NDCG@10"],
                         "tail HR@10": tail["HR@10"],
                         "best_params": _fmt(res["best_params"]), "seconds": round(seconds)})
        print(f"{set_name} {name}: {res['n_trials']} trials, {seconds:.0f} s, "
              f"val HR@10 {res['validation']['all']['HR@10']:.4f}, "
              f"test HR@10 {res['test']['all']['HR@10']:.4f}", flush=True)
    return rows


def _fmt(params: dict) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items())


def main() -> None:
    from leporid import DEFAULT_SEED
    from leporid.results import markdown_table, provenance, write_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune", action="store_true", help="tune every model and test once")
    ap.add_argument("--sets", nargs="+", default=None, choices=["ml100k", "bundled"])
    ap.add_argument("--models", nargs="+", default=list(DEFAULT_TRIALS))
    ap.add_argument("--trials", nargs="*", default=[], metavar="MODEL=N")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", default="results")
    args = ap.parse_args()
    trials = {**DEFAULT_TRIALS, **{k: int(v) for k, v in (s.split("=") for s in args.trials)}}
    sets = args.sets or (["ml100k", "bundled"] if args.tune else ["ml100k"])
    for set_name in sets:
        split = make_split(set_name)
        print(f"\n== {set_name}: {split.n_users} users x {split.n_items} items")
        if not args.tune:
            timings(split)
            continue
        rows = tuned(split, set_name, args.models, trials, args.seed)
        meta = provenance({"benchmark": "classic_tuned", "dataset": set_name,
                           "trials": {m: trials[m] for m in args.models}, "metric": "HR@10"},
                          args.seed, split.fingerprint())
        write_table(Path(args.out) / f"classic_tuned_{set_name}", rows, meta,
                    columns=COLUMNS + ["seconds"])
        print(markdown_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
