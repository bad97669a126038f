"""Table 5: DLR² with random / SVD / LE / LEPORID initialisation on the tail users.

Tail users: the 25% of users with the fewest training interactions (``leporid.eval``). The
relative improvement is LEPORID over the best other initialisation, LE included. Claim:
LEPORID's relative gain over that baseline is larger on the tail users than on all users
(paired bootstrap over users of ``gain_tail - gain_all`` on per-user HR@10).
"""

from __future__ import annotations

import numpy as np

from .cells import by_seed, dlr2_cell, per_user_mean, registered_inits
from .claims import CLAIM_METRIC
from .paper import lookup, paper_dataset
from .render import best_of, md_rows, metric_row, relative_row, write_artefact
from .stats import NOT_RUN, bootstrap_diff, claim

TITLE = "Table 5: DLR² initialisations on the tail users (test)"
INITS = ("random", "svd", "le", "leporid")
METRICS = ("HR@5", "HR@10", "F1@5", "F1@10")


def _gain_gap(lep, base, tail):
    def rel(mask):
        b = base[mask].mean()
        return lep[mask].mean() / b - 1 if b > 0 else np.nan
    return rel(tail) - rel(np.ones_like(tail))


def run(ctx) -> dict:
    offered = [i for i in INITS if i in registered_inits()]
    inits = ctx.chosen("inits", offered)
    grid = {i: [dlr2_cell(ctx, i, s) for s in ctx.seeds] for i in inits}
    flat = ctx.run([c for cs in grid.values() for c in cs], "table5")
    res = {i: flat[k * len(ctx.seeds):(k + 1) * len(ctx.seeds)] for k, i in enumerate(inits)}
    key = paper_dataset(ctx.dataset)
    rows = [metric_row({"init": i}, res[i], lookup("table5", i, key), subset="tail")
            for i in inits]
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
            comp = bootstrap_diff(_gain_gap, [per_user_mean(res["leporid"], CLAIM_METRIC),
                                              per_user_mean(res[base], CLAIM_METRIC), tail])
            comp["what"] = (f"relative {CLAIM_METRIC} gain of leporid over {base}: tail users "
                            f"minus all users")
        else:
            comp = {"what": "tail vs all gain", "verdict": NOT_RUN, "reason": "a cell failed"}
        claims.append(claim("table5", "LEPORID's gain is largest on the tail users", [comp]))
    missing = [i for i in INITS if i not in offered]
    notes = (["missing: " + ", ".join(f"init {i}" for i in missing)] if missing else [])
    notes += ctx.selection_notes(inits=offered)
    notes += [f"{r['init']} failed: {r['error']}" for r in rows if r.get("error")]
    md = md_rows(rows, ["init"], [list(range(len(inits)))], side_by_side=key is not None)
    return write_artefact(ctx, "table5", TITLE, rows, md, claims, notes,
                          extra={"missing": missing})
