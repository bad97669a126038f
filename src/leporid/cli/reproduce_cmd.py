"""``leporid reproduce ARTEFACT``: the paper's tables and figures on any dataset, side by side
with the published numbers, with a verdict for each of the paper's claims."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import time
from contextlib import contextmanager

from .common import (
    add_dataset_args,
    add_progress_arg,
    check_output_dir,
    int_option,
    scheduler_option,
)

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
                   help="cells computed at once on this machine (default 1: in this process); "
                        "N > 1 is --scheduler local:N. Models train with one torch thread by "
                        "default, so on N cores use --jobs N")
    p.add_argument("--scheduler", default=None, type=scheduler_option, metavar="SPEC",
                   help="run the cells as Dask tasks: local:N (N worker processes on this "
                        "machine) or tcp://HOST:PORT (a running scheduler and its workers, see "
                        "docs/cluster.md); this process alone writes the results")
    add_progress_arg(p)
    p.set_defaults(func=run)


def _seeds(text: str) -> tuple[int, ...]:
    """``--seeds`` as a tuple of non-negative integers (argparse type: errors exit with 2)."""
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        seeds = ()
    if not seeds or min(seeds) < 0 or max(seeds) > 2**32 - 1:   # numpy's seed range
        raise argparse.ArgumentTypeError(f"must be comma-separated integers from 0 to 2^32-1, "
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
    if args.artefact == "table3" and args.models:   # else its table is empty, silently
        from ..experiments.cells import neural_models

        table3 = neural_models()
        other = [n for n in args.models if n not in table3]
        if other:
            raise UsageError(f"--models: {', '.join(map(repr, other))} "
                             f"{'is' if len(other) == 1 else 'are'} not a Table 3 model "
                             f"(Table 3 trains {', '.join(table3)}; the classic models are "
                             f"Table 4's)")


def _scheduler(args) -> str | None:
    """The Dask scheduler the cells run on (None: in this process): ``--jobs N`` (N > 1) is
    ``--scheduler local:N``."""
    from .common import UsageError

    if args.scheduler and args.jobs > 1:
        raise UsageError("--jobs and --scheduler are two ways to say where cells run; give one "
                         "(--jobs N is --scheduler local:N)")
    return args.scheduler or (f"local:{args.jobs}" if args.jobs > 1 else None)


@contextmanager
def _cluster(spec: str | None, device: str):
    """The ``GridCluster`` of ``spec`` (None: none), closed — its local workers with it — when
    the run ends, fails, is interrupted or terminated (SIGTERM)."""
    if spec is None:
        yield None
        return
    from ..experiments.cluster import GridCluster

    def terminate(signum, frame):
        # the local scheduler, stopped mid-run, may log an internal race as an unretrieved
        # asyncio task's traceback: noise, not news, for a terminated command
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    cluster = None
    try:
        cluster = GridCluster(spec, device)
        cluster.check_gpu()
        if cluster.dashboard:
            print(f"leporid reproduce: Dask dashboard at {cluster.dashboard}", file=sys.stderr)
        yield cluster
    finally:
        if cluster is not None:
            cluster.close()
        signal.signal(signal.SIGTERM, previous)


def run(args) -> int:
    from ..experiments import BUDGETS, DATALESS, Context, reproduce
    from ..utils.device import resolve_device

    _check_selection(args)
    if args.out is not None:
        check_output_dir(args.out, "--out")
    spec = _scheduler(args)
    budget = BUDGETS[args.budget]
    if args.seeds:
        budget = budget.with_(seeds=args.seeds)
    device = resolve_device(args.device, "--device")
    if args.threads and spec is None:
        import torch

        torch.set_num_threads(args.threads)     # a run-time setting: not part of any cell key
    t0 = time.perf_counter()
    with _cluster(spec, device) as cluster:     # an unreachable scheduler fails before the data
        split, name = None, "fig2"
        if args.artefact not in DATALESS:
            from .common import load_split

            split = load_split(args)     # its notes: 'leporid reproduce: note: ...'
            name = split.interactions.name or "dataset"
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name))
        out = args.out or f"results/{name}"
        ctx = Context(split, budget, out, dataset=name, device=device,
                      progress=not args.no_progress, fresh=args.fresh, threads=args.threads,
                      cluster=cluster, models=args.models, inits=args.inits)
        written = reproduce(args.artefact, ctx)
        if cluster is not None and cluster.restarted:
            print(f"leporid reproduce: {cluster.restarted} cell(s) recomputed after their worker "
                  "was lost", file=sys.stderr)
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
