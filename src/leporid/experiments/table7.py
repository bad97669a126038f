"""Table 7 (and Fig. 4a): DLR² architectures NoConv / OnlyConv / ResNet / RevNet (LEPORID).

Claim: ResNet ≈ RevNet > OnlyConv > NoConv, i.e. RevNet equal to ResNet within the margin
(TOST, ±0.01 HR@10 by default), ResNet above OnlyConv, OnlyConv above NoConv.
"""

from __future__ import annotations

from functools import partial

from .cells import dlr2_cell
from .claims import compare
from .paper import lookup, paper_dataset
from .render import md_rows, metric_row, write_artefact
from .stats import claim
from .style import bar_figure

TITLE = "Table 7: DLR² architectures (LEPORID init, test, all users)"
ARCHS = ("noconv", "onlyconv", "resnet", "revnet")
CAPTION = ("HR@10 of DLR² + LEPORID per architecture (test, all users): ours with the 95% "
           "seed CI, the paper's value beside (hatched) where it has one.")


def _label(r) -> str:
    return r["arch"]




def run(ctx) -> dict:
    cells = {a: [dlr2_cell(ctx, "leporid", s, **({} if a == "resnet" else {"arch": a}))
                 for s in ctx.seeds] for a in ARCHS}
    flat = ctx.run([c for cs in cells.values() for c in cs], "table7")
    n = len(ctx.seeds)
    res = {a: flat[k * n:(k + 1) * n] for k, a in enumerate(ARCHS)}
    key = paper_dataset(ctx.dataset)
    rows = [metric_row({"arch": a}, res[a], lookup("table7", a, key)) for a in ARCHS]
    comps = [compare("revnet vs resnet", res["revnet"], res["resnet"], relation="≈"),
             compare("resnet vs onlyconv", res["resnet"], res["onlyconv"]),
             compare("onlyconv vs noconv", res["onlyconv"], res["noconv"])]
    claims = [claim("table7", "ResNet ≈ RevNet > OnlyConv > NoConv", comps)]
    notes = [f"{r['arch']} failed: {r['error']}" for r in rows if r.get("error")]
    md = md_rows(rows, ["arch"], side_by_side=key is not None)
    return write_artefact(ctx, "table7", TITLE, rows, md, claims, notes,
                          figure=partial(bar_figure, label=_label),
                          caption=CAPTION)
