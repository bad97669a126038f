"""Table 5: DLR² with random / SVD / LE / LEPORID initialisation on the tail users.

Tail users: the 25% of users with the fewest training interactions (``leporid.eval``). The
relative improvement is LEPORID over the best other initialisation, LE included. Claim:
LEPORID's relative gain over that baseline is larger on the tail users than on all users
(``stats.compare_gain`` on per-user HR@10: ``gain_tail - gain_all`` with an interval from
seeds and users, by the delta method).
"""

from __future__ import annotations

import numpy as np

from .cells import by_seed, dlr2_cell, mean_std, per_user_runs, registered_inits
from .claims import CLAIM_METRIC
from .paper import lookup, paper_dataset
from .render import best_of, md_rows, metric_row, relative_row, write_artefact
from .stats import NOT_RUN, claim, compare_gain

TITLE = "Table 5: DLR² initialisations on the tail users (test)"
INITS = ("random", "svd", "le", "leporid")
METRICS = ("HR@5", "HR@10", "F1@5", "F1@10")
CAPTION = ("HR@10 of DLR² per initialisation on all users and on the tail users (test), with "
           "95% seed CIs; the paper's tail value as a hatched bar where it has one.")


def plot(rows: list[dict], path, metric: str = "HR@10") -> None:
    """Grouped bars per initialisation: all users, tail users (and the paper's tail value)."""
    import numpy as np

    from .style import (
        HATCH_PAPER,
        LEGEND_ABOVE,
        OTHER,
        OURS,
        PAPER,
        WIDTH,
        figure,
        seed_ci,
    )

    rows = [r for r in rows if not r.get("relative")]
    x = np.arange(len(rows))
    paper = [r.get(f"{metric} paper") for r in rows]
    series = [("all users", f"all {metric}", OTHER, ""), ("tail users", metric, OURS, "")]
    if any(p is not None for p in paper):
        series.append(("tail users, paper", None, PAPER, HATCH_PAPER))
    w = 0.8 / len(series)
    with figure(path, (WIDTH, 3.2)) as (fig, ax):
        for k, (name, col, colour, hatch) in enumerate(series):
            if col is None:
                vals, err = [p if p is not None else 0 for p in paper], None
            else:
                vals = [r.get(col, np.nan) for r in rows]
                err = [seed_ci(r.get(col), r.get(f"{col} std"), r.get("seeds")) for r in rows]
                err = None if all(np.isnan(err)) else np.nan_to_num(err)
            ax.bar(x + (k - (len(series) - 1) / 2) * w, vals, w, yerr=err, color=colour,
                   hatch=hatch, edgecolor="#555555" if hatch else colour, lw=0.4, capsize=2,
                   label=name + (" (95% seed CI)" if err is not None else ""))
        ax.set_xticks(x, [r["init"] for r in rows])
        ax.set_ylabel(f"{metric} (test)")
        ax.legend(**LEGEND_ABOVE)


def run(ctx) -> dict:
    offered = [i for i in INITS if i in registered_inits()]
    inits = ctx.chosen("inits", offered)
    grid = {i: [dlr2_cell(ctx, i, s) for s in ctx.seeds] for i in inits}
    flat = ctx.run([c for cs in grid.values() for c in cs], "table5")
    res = {i: flat[k * len(ctx.seeds):(k + 1) * len(ctx.seeds)] for k, i in enumerate(inits)}
    key = paper_dataset(ctx.dataset)
    rows = [metric_row({"init": i}, res[i], lookup("table5", i, key), subset="tail")
            for i in inits]
    for r in rows:      # all users beside the tail (the figure and the claim compare them)
        r[f"all {CLAIM_METRIC}"], r[f"all {CLAIM_METRIC} std"] = mean_std(
            res[r["init"]], CLAIM_METRIC)
    claims = []
    others = [r for r in rows if r["init"] != "leporid"]
    if "leporid" in res and others:
        lep = rows[inits.index("leporid")]
        best = {m: best_of(others, m) for m in METRICS}
        rows.append(relative_row({"init": "Relative Imp."}, lep, best,
                                 lookup("table5", "relative_improvement", key)))
        all_rows = {i: metric_row({"init": i}, res[i], None) for i in inits}
        base = max((i for i in inits if i != "leporid"),
                   key=lambda i: all_rows[i][CLAIM_METRIC])
        if by_seed(res["leporid"]) and by_seed(res[base]):
            tail = np.asarray(by_seed(res["leporid"])[0]["in_tail"], bool)
            comp = compare_gain(per_user_runs(res["leporid"], CLAIM_METRIC),
                                per_user_runs(res[base], CLAIM_METRIC), tail)
            comp["what"] = (f"relative {CLAIM_METRIC} gain of leporid over {base}: tail users "
                            f"minus all users")
            comp["metric"] = CLAIM_METRIC
        else:
            comp = {"what": "tail vs all gain", "verdict": NOT_RUN, "reason": "a cell failed"}
        claims.append(claim("table5", "LEPORID's gain is largest on the tail users", [comp]))
    missing = [i for i in INITS if i not in offered]
    notes = (["missing: " + ", ".join(f"init {i}" for i in missing)] if missing else [])
    notes += ctx.selection_notes(inits=offered)
    notes += [f"{r['init']} failed: {r['error']}" for r in rows if r.get("error")]
    md = md_rows(rows, ["init"], [list(range(len(inits)))], side_by_side=key is not None)
    return write_artefact(ctx, "table5", TITLE, rows, md, claims, notes,
                          extra={"missing": missing}, figure=plot, caption=CAPTION)
