"""Table 6: DLR² (LEPORID) trained with L_G, L_S or both, ranked through G or through S.

Rows ``loss/branch``: ``g/g`` and ``both/g`` rank with the generative network G, ``s/s`` and
``both/s`` with the discriminative network S (``both/s`` is the default DLR²). Claim:
L_S + L_G beats either loss alone (through the same branch).
"""

from __future__ import annotations

from functools import partial

from .cells import dlr2_cell
from .claims import compare
from .paper import lookup, paper_dataset
from .render import md_rows, metric_row, relative_row, write_artefact
from .stats import claim
from .style import bar_figure

TITLE = "Table 6: DLR² losses and inference branch (LEPORID init, test, all users)"
CAPTION = ("HR@10 of DLR² + LEPORID per loss and inference branch (test, all users): ours "
           "with the 95% seed CI, the paper's value beside (hatched) where it has one.")


def _label(r) -> str:
    return f"{r['loss']} (through {r['branch']})"


VARIANTS = {"g/g": {"loss": "g", "score_with": "g"}, "both/g": {"score_with": "g"},
            "s/s": {"loss": "s"}, "both/s": {}}


def run(ctx) -> dict:
    cells = {v: [dlr2_cell(ctx, "leporid", s, **kw) for s in ctx.seeds]
             for v, kw in VARIANTS.items()}
    flat = ctx.run([c for cs in cells.values() for c in cs], "table6")
    n = len(ctx.seeds)
    res = {v: flat[k * n:(k + 1) * n] for k, v in enumerate(VARIANTS)}
    key = paper_dataset(ctx.dataset)
    rows, groups, claims = [], [], []
    for branch in ("g", "s"):
        single, both = f"{branch}/{branch}", f"both/{branch}"
        start = len(rows)
        for v in (single, both):
            loss = {"g": "L_G", "s": "L_S", "both": "L_G + L_S"}[v.split("/")[0]]
            rows.append(metric_row({"branch": branch.upper(), "loss": loss}, res[v],
                                   lookup("table6", v, key)))
        groups.append([start, start + 1])
        rows.append(relative_row({"branch": branch.upper(), "loss": "Relative Imp."},
                                 rows[start + 1], rows[start],
                                 lookup("table6", f"relative_improvement/{branch}", key)))
    comps = [compare("both/g vs g/g", res["both/g"], res["g/g"]),
             compare("both/s vs s/s", res["both/s"], res["s/s"])]
    claims.append(claim("table6", "L_S + L_G beats either loss alone", comps))
    notes = [f"{r['branch']}/{r['loss']} failed: {r['error']}" for r in rows if r.get("error")]
    md = md_rows(rows, ["branch", "loss"], groups, side_by_side=key is not None)
    return write_artefact(ctx, "table6", TITLE, rows, md, claims, notes,
                          figure=partial(bar_figure, label=_label),
                          caption=CAPTION)
