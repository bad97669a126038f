"""``leporid reproduce ARTEFACT``: the paper's tables and figures on any dataset, side by side
with the published numbers, with a verdict for each of the paper's claims."""

from __future__ import annotations

import argparse
import re
import sys
import time

from .common import add_dataset_args, add_progress_arg, int_option

ARTEFACT_HELP = ("table2 (statistics), table3 (inits x neural models), table4 (vs classic "
                 "models), table5 (tail users), table6 (losses), table7 (architectures), fig2 "
                 "(BA simulation), fig4 (alpha and K), all")


def register(sub) -> None:
    from ..experiments import ARTEFACTS

    p = sub.add_parser(
        "reproduce", help="reproduce the paper's Tables 2-7 and Figures 2 and 4",
        description="Run one of the paper's artefacts (or all) on a dataset and write "
                    "results/<dataset>/<artefact>.{csv,md,json} (+ .png for figures). Every "
                    "cell is cached when done: an interrupted run resumes, a changed setting "
                    "recomputes only what changed.")
    p.add_argument("artefact", choices=[*ARTEFACTS, "all"], metavar="ARTEFACT",
                   help=ARTEFACT_HELP)
    add_dataset_args(p)
    p.add_argument("--budget", choices=("smoke", "default", "paper"), default="default",
                   help="smoke: minutes, 1 seed (not for conclusions); default: 3 seeds, "
                        "DLR² 2 epochs, the other models to early stopping (the default); "
                        "paper: the paper's settings, DLR² to early stopping")
    p.add_argument("--seeds", type=_seeds, default=None,
                   help="comma-separated seeds (overrides the budget's), e.g. 123,124,125")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--threads", type=int_option(1), default=None,
                   help="torch CPU threads (1 is faster when other processes load the cores)")
    p.add_argument("--out", default=None, help="output folder (default results/<dataset>)")
    p.add_argument("--fresh", action="store_true",
                   help="recompute every cell (e.g. after changing the code), overwriting the "
                        "cache")
    p.add_argument("--models", type=_names, default=None, metavar="NAMES",
                   help="comma-separated models: Tables 3 and 4 run only these (e.g. dlr2 for "
                        "Table 3's DLR² rows on a large dataset); default all registered")
    p.add_argument("--inits", type=_names, default=None, metavar="NAMES",
                   help="comma-separated initialisations: Tables 3 and 5 run only these; "
                        "default all registered")
    p.add_argument("--jobs", type=int_option(1), default=1,
                   help="processes computing cells at once (default 1); models train with one "
                        "torch thread by default, so on N cores use --jobs N")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    add_progress_arg(p)
    p.set_defaults(func=run)


def _seeds(text: str) -> tuple[int, ...]:
    """``--seeds`` as a tuple of non-negative integers (argparse type: errors exit with 2)."""
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        seeds = ()
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"must be comma-separated non-negative integers, "
                                         f"got {text!r}")
    return seeds


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip().lower() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"must be comma-separated names, got {text!r}")
    return names


def _check_selection(args) -> None:
    """Unknown ``--models`` / ``--inits`` names: an error before any data is read."""
    from ..init import available
    from ..models import MODELS
    from .common import UsageError

    for option, names, known in (("--models", args.models, list(MODELS)),
                                 ("--inits", args.inits, list(available()))):
        bad = [n for n in names or () if n not in known]
        if bad:
            raise UsageError(f"{option}: unknown {', '.join(map(repr, bad))}; choose from "
                             f"{', '.join(known)}")


def _worker_argv(argv: list[str]) -> list[str]:
    """The command line of one ``--jobs`` helper process: this one, as one quiet worker."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--jobs":
            skip = True
        elif not a.startswith("--jobs="):
            out.append(a)
    return [sys.executable, "-m", "leporid", *out, "--jobs", "1", "--worker", "--no-progress"]


def _start_workers(args) -> list:
    """``--jobs N``: N - 1 helper processes run the same command; they compute the cells this
    process has not claimed and write nothing else (their stdout is dropped, their errors
    shown; the data loader's notes, which this process printed, they keep to themselves)."""
    import subprocess

    cmd = _worker_argv(list(getattr(args, "argv", None) or sys.argv[1:]))
    return [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for _ in range(args.jobs - 1)]


def run(args) -> int:
    from ..experiments import BUDGETS, DATALESS, Context, reproduce
    from ..utils.device import resolve_device
    from .common import UsageError

    if args.jobs > 1 and args.fresh:
        raise UsageError("--fresh cannot be combined with --jobs (the processes would recompute "
                         "each other's cells); run --fresh with one job, or delete the cache")
    _check_selection(args)
    budget = BUDGETS[args.budget]
    if args.seeds:
        budget = budget.with_(seeds=args.seeds)
    device = resolve_device(args.device)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)     # a run-time setting: not part of any cell key
    t0 = time.perf_counter()
    split, name = None, "fig2"
    if args.artefact not in DATALESS:
        from .common import load_split

        split = load_split(args)     # its notes: once, by the main process (not --jobs helpers)
        name = split.interactions.name or "dataset"
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name))
    out = args.out or f"results/{name}"
    ctx = Context(split, budget, out, dataset=name, device=device,
                  progress=not args.no_progress, fresh=args.fresh, worker=args.worker,
                  models=args.models, inits=args.inits)
    workers = _start_workers(args) if args.jobs > 1 else []
    try:
        written = reproduce(args.artefact, ctx)
    finally:
        for w in workers:               # they are done too (every cell is), or interrupted
            if w.poll() is None:
                w.terminate()
            w.wait()
    if args.worker:
        return 0
    for art, paths in written.items():
        print(f"{art}: " + ", ".join(str(p) for p in paths.values()))
    import json

    from ..experiments.stats import verdict_text

    for art in written:
        doc = json.loads((ctx.out / f"{art}.json").read_text())
        for c in doc.get("claims", []):
            print(f"  claim ({art}): {c['text']} -> {verdict_text(c)}")
        for n in doc.get("notes", []):
            if isinstance(n, str) and n.startswith("missing:"):
                print(f"  {art} {n}")
    print(f"done in {time.perf_counter() - t0:.0f}s; `leporid report {ctx.out}` renders "
          "everything as one page")
    return 0
