"""The paper's artefacts (Tables 2–7, Figures 2 and 4), one module each, over one cached,
resumable grid runner (``grid``), with the paper's numbers beside ours (``paper``) and verdicts
for its claims from paired tests over users (``stats``).

``reproduce(artefact, ctx)`` writes ``<ctx.out>/<artefact>.{json,csv,md}`` (and ``.png`` for the
figures); ``ctx`` is a ``Context`` (split, budget, output folder, device). ``all`` runs every
artefact, cheapest first, so each one is written as soon as its cells exist.
"""

from __future__ import annotations

import importlib

from .cells import Context, Planned
from .grid import BUDGETS, Budget

#: artefact -> module; the order of ``all`` (cheap first; shared cells computed once)
ARTEFACTS = {"table2": "table2", "fig2": "fig2", "table7": "table7", "table6": "table6",
             "table5": "table5", "table3": "table3", "table4": "table4", "fig4": "fig4"}
#: artefacts that need no dataset
DATALESS = ("fig2",)


def reproduce(artefact: str, ctx: Context) -> dict:
    """Run one artefact (or ``all``) and return ``{artefact: {kind: path}}``."""
    names = list(ARTEFACTS) if artefact == "all" else [artefact]
    unknown = [n for n in names if n not in ARTEFACTS]
    if unknown:
        raise KeyError(f"unknown artefact {unknown[0]!r}; choose from "
                       f"{', '.join([*ARTEFACTS, 'all'])}")
    mods = {name: importlib.import_module(f"{__name__}.{ARTEFACTS[name]}") for name in names}
    out = {}
    if ctx.cluster is not None and len(names) > 1:
        # the cells of every artefact go to the cluster now, the earlier artefacts' first, so
        # that no worker waits at the end of an artefact for the last cells of others
        for i, name in enumerate(names):
            try:
                with ctx.planning():
                    out[name] = mods[name].run(ctx)     # one without cells is done now
            except Planned as plan:
                ctx.cluster.prefetch(plan.cells, ctx, priority=-i)
    for name in names:
        if name not in out:
            out[name] = mods[name].run(ctx)
    return {name: out[name] for name in names}


__all__ = ["ARTEFACTS", "BUDGETS", "Budget", "Context", "DATALESS", "reproduce"]
