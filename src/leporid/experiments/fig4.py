"""Figure 4 (b, c): DLR² + LEPORID sensitivity to α (K fixed) and to K (α = 0.5).

α runs over ``budget.alpha_grid`` (paper: 0, 0.3, 0.5, 0.7, 1.0) with K = ``budget.neighbors``;
K over ``budget.k_grid`` with α = 0.5 (paper App. I). Fig. 4a (architectures) is Table 7.
Claims: α ≈ 0.5–0.7 is best (the better of α = 0.5 and 0.7 beats α = 0 and α = 1); the
sensitivity to K is low (the best and the worst K are within noise of each other).
"""

from __future__ import annotations

from .cells import dlr2_cell
from .claims import CLAIM_METRIC, compare
from .paper import numbers
from .render import md_rows, metric_row, write_artefact
from .stats import claim

TITLE = "Figure 4: DLR² + LEPORID sensitivity to α and K (test, all users)"
METRICS = ("HR@5", "HR@10", "F1@5", "F1@10")


CAPTION = ("HR@10 and HR@5 of DLR² + LEPORID against α (left, K fixed) and K (right, α = 0.5), "
           "test, all users; error bars are 95% seed CIs where there are 2+ seeds.")


def _plot(rows, path) -> None:
    import numpy as np

    from .style import MARKERS, OTHER, OURS, WIDTH, figure, seed_ci

    with figure(path, (WIDTH, 3.0), 1, 2) as (fig, axes):
        for ax, param in zip(axes, ("alpha", "K")):
            sub = [r for r in rows if r["parameter"] == param]
            x = [r["value"] for r in sub]
            for m, colour, mk, ls in (("HR@10", OURS, MARKERS[0], "-"),
                                      ("HR@5", OTHER, MARKERS[1], "--")):
                err = [seed_ci(r[m], r[f"{m} std"], r.get("seeds")) for r in sub]
                err = None if all(np.isnan(err)) else np.nan_to_num(err)
                ax.errorbar(x, [r[m] for r in sub], yerr=err, marker=mk, ls=ls, color=colour,
                            capsize=3, ms=4, label=m)
            ax.set_xlabel("α" if param == "alpha" else "K (nearest neighbours)")
            if param == "K":
                ax.set_xscale("log")
                ax.set_xticks(x, [f"{v:g}" for v in x])
                ax.minorticks_off()
            ax.legend(fontsize=8)


def graph_k(ctx, k: int) -> int:
    """The K a grid value trains with: a K that keeps every neighbour on both sides
    (K ≥ max(users, items) − 1) is the full graph, the same model as the budget's K when that
    is full too, so both share one cell instead of training the same model twice."""
    full = max(ctx.split.n_users, ctx.split.n_items) - 1
    return int(ctx.budget.neighbors) if k >= full and ctx.budget.neighbors >= full else int(k)


def run(ctx) -> dict:
    b = ctx.budget
    grid = [("alpha", a, {"alpha": float(a)}) for a in b.alpha_grid]
    grid += [("K", int(k), {"n_neighbors": graph_k(ctx, int(k))}) for k in b.k_grid]
    cells = [[dlr2_cell(ctx, "leporid", s, iparams=ip) for s in ctx.seeds] for _, _, ip in grid]
    flat = ctx.run([c for cs in cells for c in cs], "fig4")
    n = len(ctx.seeds)
    res = [flat[k * n:(k + 1) * n] for k in range(len(grid))]
    rows = [metric_row({"parameter": p, "value": v}, r, None) for (p, v, _), r in zip(grid, res)]
    claims = []
    alpha = {v: r for (p, v, _), r in zip(grid, res) if p == "alpha"}
    arow = {r["value"]: r for r in rows if r["parameter"] == "alpha"}
    mids = [a for a in (0.5, 0.7) if a in alpha]
    ends = [a for a in (0.0, 1.0) if a in alpha]
    if mids and ends:
        best_mid = max(mids, key=lambda a: arow[a][CLAIM_METRIC])
        comps = [compare(f"α={best_mid} vs α={e}", alpha[best_mid], alpha[e]) for e in ends]
        claims.append(claim("fig4/alpha", "α ≈ 0.5–0.7 is best", comps,
                            note=f"paper: {numbers()['fig4']['alpha_claim']}"))
    ks = [(v, r) for (p, v, _), r in zip(grid, res) if p == "K"]
    krow = {r["value"]: r for r in rows if r["parameter"] == "K"}
    if len(ks) >= 2:
        order = sorted(krow, key=lambda k: krow[k][CLAIM_METRIC])
        kd = dict(ks)
        comps = [compare(f"K={order[-1]} vs K={order[0]}", kd[order[-1]], kd[order[0]],
                         relation="≈")]
        claims.append(claim("fig4/K", "The sensitivity to K is low", comps,
                            note=f"paper: {numbers()['fig4']['k_claim']}"))
    groups = [[i for i, r in enumerate(rows) if r["parameter"] == p] for p in ("alpha", "K")]
    notes = [f"α grid with K = {b.neighbors}; K grid with α = 0.5; K larger than the number of "
             "users (items) minus one is the full graph"]
    notes += [f"{r['parameter']}={r['value']} failed: {r['error']}" for r in rows
              if r.get("error")]
    md = md_rows(rows, ["parameter", "value"], [g for g in groups if g])
    for r in md[0]:
        r["value"] = f"{r['value']:g}"
    return write_artefact(ctx, "fig4", TITLE, rows, md, claims, notes, figure=_plot,
                          caption=CAPTION)
