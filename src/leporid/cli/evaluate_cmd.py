"""``leporid evaluate``: fit (or tune on validation) a model, evaluate it, write the results.

    leporid evaluate --dataset ml-latest-small --model itemknn
    leporid evaluate --dataset data/ml-100k.inter --model slim --tune --trials 20
    leporid evaluate --model userknn --param topk=200 --param similarity=jaccard
    leporid evaluate --model bpr --save-recommendations recs.csv --save-split split.csv
"""

from __future__ import annotations

import argparse
import sys
import time

from .common import (
    add_dataset_args,
    add_export_args,
    add_seed_arg,
    check_export_paths,
    check_output_dir,
    dataset_stem,
    float_option,
    int_option,
    load_split,
    result_stem,
    seed_part,
    write_exports,
)

KS = (1, 5, 10)
SHORT = {"HR": "HR", "Precision": "P", "Recall": "R", "F1": "F1", "NDCG": "NDCG"}
METRICS = [f"{m}@{k}" for m in SHORT for k in KS]
_stem = dataset_stem  # the name ``train`` imports


def parse_param(text: str) -> tuple[str, object]:
    """``key=value`` -> (key, value) with value parsed as bool / None / int / float / string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--param expects key=value, got {text!r}")
    low = raw.strip().lower()
    if low in ("true", "false"):
        return key, low == "true"
    if low in ("none", "null"):
        return key, None
    for cast in (int, float):
        try:
            return key, cast(raw)
        except ValueError:
            pass
    return key, raw.strip()


def register(sub) -> None:
    """Add the ``evaluate`` sub-command."""
    p = sub.add_parser(
        "evaluate", help="fit or tune a model and evaluate it (full ranking, all + tail users)",
        description="Fit a model on the training part (or tune it on validation with optuna), "
                    "evaluate it on validation and test (HR/Precision/Recall/F1/NDCG at 1, 5, "
                    "10; all users and the 25% tail users), print a table and write JSON + CSV "
                    "+ Markdown results.")
    add_dataset_args(p)
    p.add_argument("--model", default="itemknn",
                   help="model name: toppop, itemknn, userknn, slim, bpr, ... (default itemknn)")
    p.add_argument("--param", action="append", default=[], type=parse_param, metavar="KEY=VALUE",
                   help="model parameter (repeatable); with --tune it pins that parameter")
    p.add_argument("--tune", action="store_true",
                   help="search hyperparameters on validation (optuna TPE), then test once")
    p.add_argument("--trials", type=int_option(1), default=30, help="tuning trials (default 30)")
    p.add_argument("--timeout", type=float_option(0, low_open=True), default=None,
                   help="tuning time budget in seconds (default none)")
    p.add_argument("--metric", default="HR@10", choices=METRICS, metavar="METRIC",
                   help=f"validation metric to maximise when tuning: {', '.join(METRICS)} "
                        "(default HR@10)")
    p.add_argument("--batch-size", type=int_option(1), default=1024,
                   help="users scored per batch in evaluation (default 1024)")
    add_seed_arg(p)
    p.add_argument("--out", default="results", help="results folder (default results/)")
    add_export_args(p)
    p.set_defaults(func=run)


def result_rows(results: dict[str, dict]) -> list[dict]:
    """One row per (part, user group) with every metric of ``evaluate``'s result."""
    rows = []
    for part, res in results.items():
        for group in ("all", "tail"):
            rows.append({"part": part, "users": group, **res[group]})
    return rows


def _print_table(rows: list[dict]) -> None:
    from ..results import markdown_table

    cols = ["part", "users", "n_users"] + [f"{m}@{k}" for k in KS for m in SHORT]
    short = [{c if "@" not in c else f"{SHORT[c.split('@')[0]]}@{c.split('@')[1]}": r.get(c)
              for c in cols} for r in rows]
    print(markdown_table(short), end="")


def run(args) -> int:
    from ..eval import evaluate
    from ..models import MODELS, make_model, model_class
    from ..results import atomic_write, provenance, write_table

    if args.model not in MODELS:
        raise ValueError(f"--model {args.model!r}: choose from {', '.join(sorted(MODELS))}")
    params = dict(args.param)
    if "seed" in model_class(args.model)._param_names():
        params.setdefault("seed", args.seed)
    make_model(args.model, **params)  # validates the parameters before the data is read
    check_output_dir(args.out)
    check_export_paths(args)
    split = load_split(args)
    want_topn = bool(args.save_recommendations)
    t0 = time.perf_counter()
    tuning = None
    if args.tune:
        from ..train.tuning import tune_model

        res = tune_model(args.model, split, args.trials, timeout=args.timeout,
                         metric=args.metric, seed=args.seed, ks=KS, batch_size=args.batch_size,
                         progress=sys.stderr.isatty(), return_topn=want_topn, fixed=params)
        model, test = res["model"], res["test"]
        validation = res["validation"]
        tuning = {"trials": res["n_trials"], "metric": res["metric"],
                  "best_value": res["best_value"], "best_params": res["best_params"],
                  "fixed": params, "timeout": args.timeout}
        trials_df = res["study"].trials_dataframe()
        trials_df = trials_df.drop(columns=[c for c in trials_df.columns
                                            if c.startswith("user_attrs_validation")])
    else:
        model = make_model(args.model, **params).fit(split)
        validation = evaluate(model, split, "validation", ks=KS, batch_size=args.batch_size)
        test = evaluate(model, split, "test", ks=KS, batch_size=args.batch_size,
                        return_topn=want_topn)
    seconds = time.perf_counter() - t0
    rows = result_rows({"validation": validation, "test": test})
    _print_table(rows)

    model_params = model.get_params() if hasattr(model, "get_params") else params
    config = {"command": "evaluate", "dataset": args.dataset, "format": args.format,
              "min_count": args.min_count, "protocol": split.protocol, "model": args.model,
              "params": model_params,
              "tune": tuning, "ks": list(KS), "tail_fraction": 0.25,
              "batch_size": args.batch_size}
    meta = {**provenance(config, args.seed, split.fingerprint()),
            "split_report": dict(getattr(split, "report", {}) or {}),
            "n_users": split.n_users, "n_items": split.n_items, "seconds": round(seconds, 3)}
    stem = result_stem(args.out, "evaluate", args.dataset, args.model, seed_part(args.seed))
    paths = write_table(stem, rows, meta)
    if tuning is not None:
        paths["trials"] = atomic_write(stem.with_name(stem.name + "_trials.csv"),
                                       trials_df.to_csv(index=False))
    write_exports(args, split, test, paths)
    return 0
