"""``leporid evaluate``: fit (or tune on validation) a model, evaluate it, write the results.

    leporid evaluate --dataset ml-latest-small --model itemknn
    leporid evaluate --dataset data/ml-100k.inter --model slim --tune --trials 20
    leporid evaluate --model userknn --param topk=200 --param similarity=jaccard
    leporid evaluate --model bpr --save-recommendations recs.csv --save-split split.csv
"""

from __future__ import annotations

import time

from .common import (
    KS,
    METRICS,
    add_dataset_args,
    add_export_args,
    add_param_arg,
    add_progress_arg,
    add_seed_arg,
    check_result_paths,
    float_option,
    int_option,
    load_split,
    result_stem,
    seed_part,
    show_progress,
    write_exports,
    write_results,
)


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
    add_param_arg(p, "model parameter (repeatable); with --tune it pins that parameter")
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
    add_progress_arg(p)
    p.add_argument("--out", default="results", help="results folder (default results/)")
    add_export_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..eval import evaluate
    from ..models import MODELS, make_model, model_class
    from ..results import atomic_write

    if args.model not in MODELS:
        raise ValueError(f"--model {args.model!r}: choose from {', '.join(sorted(MODELS))}")
    params = dict(args.param)
    if "seed" in model_class(args.model)._param_names():
        params.setdefault("seed", args.seed)
    make_model(args.model, **params)  # validates the parameters before the data is read
    check_result_paths(args)
    split = load_split(args)
    want_topn = bool(args.save_recommendations)
    t0 = time.perf_counter()
    tuning = None
    if args.tune:
        from ..train.tuning import tune_model

        res = tune_model(args.model, split, args.trials, timeout=args.timeout,
                         metric=args.metric, seed=args.seed, ks=KS, batch_size=args.batch_size,
                         progress=show_progress(args), return_topn=want_topn, fixed=params)
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
    stem = result_stem(args.out, "evaluate", args.dataset, args.model, seed_part(args.seed))
    paths = write_results(args, stem, split, validation, test,
                          params=model.get_params() if hasattr(model, "get_params") else params,
                          tune=tuning, seconds=seconds, config={"batch_size": args.batch_size})
    if tuning is not None:
        paths["trials"] = atomic_write(stem.with_name(stem.name + "_trials.csv"),
                                       trials_df.to_csv(index=False))
    write_exports(args, split, test, paths)
    return 0
