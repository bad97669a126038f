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
                          extra={"missing": miss})
