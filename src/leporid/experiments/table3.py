"""Table 3: every registered initialisation × every registered neural model.

Models and initialisers are discovered from ``leporid.models.MODELS`` and ``leporid.init`` at run
time; the paper's ones that are not registered yet are listed as missing. The relative
improvement row is LEPORID over the best initialisation other than LE (as in the paper), per
metric, on the seed means. Claim: LEPORID beats every other initialisation for each model.
"""

from __future__ import annotations

from .cells import PAPER_INITS, PAPER_NEURAL, neural_cell, neural_models, table3_inits
from .claims import compare
from .paper import lookup, paper_dataset
from .render import best_of, md_rows, metric_row, relative_row, write_artefact
from .stats import claim

TITLE = "Table 3: initialisations × neural models (test, all users)"
CAPTION = ("HR@10 of each initialisation minus random's, per model (test, all users): the "
           "difference, its 95% seed CI (Welch over the seed means) and, in brackets, the "
           "paper's difference where the paper has both cells (without a random row: HR@10 "
           "itself and the paper's value).")


def _models(ctx) -> list[str]:
    return ctx.chosen("models", neural_models())


def _inits(ctx) -> list[str]:
    return ctx.chosen("inits", table3_inits())


def cells(ctx):
    return {(m, i): [neural_cell(ctx, m, i, s) for s in ctx.seeds]
            for m in _models(ctx) for i in _inits(ctx)}


def missing() -> list[str]:
    inits, models = table3_inits(), neural_models()
    return ([f"model {m}" for m in PAPER_NEURAL if m not in models]
            + [f"init {i}" for i in PAPER_INITS if i not in inits])


def plot(rows: list[dict], path, metric: str = "HR@10") -> None:
    """Heat map models × initialisations of the difference to random (module CAPTION)."""
    import numpy as np

    from .render import finite
    from .style import figure, welch_ci

    cell = {(r["model"], r["init"]): r for r in rows if not r.get("relative")}
    models = list(dict.fromkeys(m for m, _ in cell))
    inits = list(dict.fromkeys(i for _, i in cell))
    base = "random" if "random" in inits else None      # None: absolute values
    diff = np.full((len(models), len(inits)), np.nan)
    text = [["" for _ in inits] for _ in models]
    for a, m in enumerate(models):
        b = cell.get((m, base)) if base else {metric: 0.0, f"{metric} std": 0.0,
                                              f"{metric} paper": 0.0, "seeds": 0}
        for k, i in enumerate(inits):
            r = cell.get((m, i))
            if not r or not b or not finite(r.get(metric)) or not finite(b.get(metric)):
                continue
            diff[a, k] = r[metric] - b[metric]
            ci = welch_ci(r[metric], r[f"{metric} std"], r.get("seeds"), b[metric],
                          b[f"{metric} std"], b.get("seeds"))
            sign = "+" if base else ""
            t = f"{diff[a, k]:{sign}.3f}" + (f"\n±{ci:.3f}" if finite(ci) and i != base else "")
            p, pb = r.get(f"{metric} paper"), b.get(f"{metric} paper")
            if finite(p) and finite(pb) and i != base:
                t += f"\n[{p - pb:{sign}.3f}]"
            text[a][k] = t
    vmax = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    vmax = vmax or 1.0
    # a difference: diverging around 0; absolute values: sequential from 0
    cmap, vmin = ("PuOr", -vmax) if base else ("Blues", 0.0)
    size = (min(7.8, 1.4 + 0.8 * len(inits)), max(2.8, 1.2 + 0.62 * len(models)))
    with figure(path, size) as (fig, ax):
        im = ax.imshow(diff, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        ax.grid(False)
        ax.set_xticks(range(len(inits)), inits, rotation=30, ha="right")
        ax.set_yticks(range(len(models)), models)
        for a in range(len(models)):
            for k in range(len(inits)):
                dark = np.isfinite(diff[a, k]) and abs(diff[a, k]) > (0.6 if base else 0.7) * vmax
                ax.text(k, a, text[a][k] or "–", ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
        fig.colorbar(im, ax=ax, label=f"{metric} minus {base}" if base else metric, shrink=0.9)


def run(ctx) -> dict:
    grid = cells(ctx)
    flat = ctx.run([c for cs in grid.values() for c in cs], "table3")
    res, pos = {}, 0
    for k, cs in grid.items():
        res[k], pos = flat[pos:pos + len(cs)], pos + len(cs)
    key = paper_dataset(ctx.dataset)
    rows, groups, claims = [], [], []
    for m in _models(ctx):
        g = []
        for i in _inits(ctx):
            g.append(len(rows))
            rows.append(metric_row({"model": m, "init": i}, res[(m, i)],
                                   lookup("table3", i, key, m)))
        groups.append(g)
        by_init = {rows[j]["init"]: rows[j] for j in g}
        base = [r for n, r in by_init.items() if n not in ("le", "leporid")]
        if "leporid" in by_init and base:
            best = {mt: best_of(base, mt) for mt in ("HR@5", "HR@10", "F1@5", "F1@10")}
            rows.append(relative_row({"model": m, "init": "Relative Imp."}, by_init["leporid"],
                                     best, lookup("table3", "relative_improvement", key, m)))
        if "leporid" in by_init:
            comps = [compare(f"{m}: leporid vs {i}", res[(m, "leporid")], res[(m, i)])
                     for i in _inits(ctx) if i != "leporid"]
            claims.append(claim(f"table3/{m}", f"LEPORID beats every other initialisation "
                                               f"for {m}", comps))
    miss = missing()
    notes = ["missing: " + ", ".join(miss) if miss else "all of the paper's models and "
             "initialisations are registered",
             "Relative Imp.: LEPORID over the best initialisation other than LE (seed means)"]
    notes += ctx.selection_notes(models=neural_models(), inits=table3_inits())
    notes += [f"{r['model']}/{r['init']} failed: {r['error']}" for r in rows if r.get("error")]
    md = md_rows(rows, ["model", "init"], groups, side_by_side=key is not None)
    return write_artefact(ctx, "table3", TITLE, rows, md, claims, notes,
                          extra={"missing": miss}, figure=plot, caption=CAPTION)
