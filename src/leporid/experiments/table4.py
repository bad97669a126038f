"""Table 4: tuned classic models, LEPORID-initialised neural models, DLR² with LE and LEPORID.

Groups as in the paper: classic (TopPop, UserKNN, ItemKNN, SLIM, BPR-MF from random, each tuned
on validation), LEPORID-initialised (BPR-MF and every registered neural model but DLR²), then
DLR² + LE and DLR² + LEPORID. Each "Relative Imp." row is DLR² + LEPORID over the best of the
group above it. Claim: DLR² + LEPORID beats every tuned classic model.
"""

from __future__ import annotations

from functools import partial

from .cells import CLASSIC, classic_cell, dlr2_cell, neural_cell, neural_models, registered_models
from .claims import compare
from .paper import lookup, paper_dataset
from .render import best_of, md_rows, metric_row, relative_row, write_artefact
from .stats import claim
from .style import bar_figure

TITLE = "Table 4: classic models vs LEPORID-initialised neural models vs DLR² (test, all users)"
METRICS = ("HR@5", "HR@10", "F1@5", "F1@10")
CAPTION = ("HR@10 of every model of the table (test, all users): ours with the 95% seed CI, "
           "the paper's value beside (hatched) where it has one.")


def _label(r) -> str:
    return r["model"] if r["init"] == "-" else f"{r['model']} + {r['init']}"




def _groups(ctx):
    reg = ctx.chosen("models", registered_models())
    classic = [(m, "-", [classic_cell(ctx, m, s) for s in ctx.seeds]) for m in CLASSIC if m in reg]
    neural = []
    if "bpr" in reg:
        classic.append(("bpr", "random", [classic_cell(ctx, "bpr", s) for s in ctx.seeds]))
        neural.append(("bpr", "leporid", [classic_cell(ctx, "bpr", s, init="leporid")
                                          for s in ctx.seeds]))
    neural += [(m, "leporid", [neural_cell(ctx, m, "leporid", s) for s in ctx.seeds])
               for m in ctx.chosen("models", neural_models()) if m != "dlr2"]
    le = [("dlr2", "le", [dlr2_cell(ctx, "le", s) for s in ctx.seeds])]
    return [classic, neural, le]


def run(ctx) -> dict:
    groups = _groups(ctx)
    ours_cells = [dlr2_cell(ctx, "leporid", s) for s in ctx.seeds]
    every = [c for g in groups for _, _, cs in g for c in cs] + ours_cells
    flat = ctx.run(every, "table4")
    key = paper_dataset(ctx.dataset)
    ours_res = flat[-len(ours_cells):]
    ours = metric_row({"model": "dlr2", "init": "leporid"}, ours_res,
                      lookup("table4", "dlr2/leporid", key))
    rows, claims, pos, idx_groups = [], [], 0, []
    rel_names = ["relative_improvement/classic", "relative_improvement/neural",
                 "relative_improvement/le"]
    results = {}
    for g, rel in zip(groups, rel_names):
        start = len(rows)
        for model, init, cs in g:
            res = flat[pos:pos + len(cs)]
            pos += len(cs)
            results[(model, init)] = res
            paper_row = f"{model}/{init}" if init != "-" else model
            rows.append(metric_row({"model": model, "init": init}, res,
                                   lookup("table4", paper_row, key)))
        idx_groups.append(list(range(start, len(rows))))
        if len(rows) > start:
            best = {m: best_of(rows[start:], m) for m in METRICS}
            rows.append(relative_row({"model": "Relative Imp.", "init": "dlr2/leporid vs above"},
                                     ours, best, lookup("table4", rel, key)))
    rows.append(ours)
    everything = [i for g in idx_groups for i in g] + [len(rows) - 1]
    comps = [compare(f"dlr2/leporid vs {m}", ours_res, results[(m, i)])
             for m, i, _ in groups[0]]
    claims.append(claim("table4", "DLR² + LEPORID beats the tuned classic models", comps))
    notes = ["bold: best of all rows; classic models tuned on validation "
             f"({ctx.budget.trials} trials), tested once"]
    # every registered model but DLR² (its LE / LEPORID rows are the reference: always run)
    notes += ctx.selection_notes(models=[m for m in registered_models() if m != "dlr2"])
    notes += [f"{r['model']}/{r['init']} failed: {r['error']}" for r in rows if r.get("error")]
    md = md_rows(rows, ["model", "init"], [everything], side_by_side=key is not None)
    return write_artefact(ctx, "table4", TITLE, rows, md, claims, notes,
                          figure=partial(bar_figure, label=_label),
                          caption=CAPTION)
