"""Table 2: dataset statistics — ours, and the paper's three datasets beside them.

On a paper dataset (ML-1M) the row of that dataset shows our value, the paper's and the
difference; the paper's rows for the other datasets are listed for reference.
"""

from __future__ import annotations

from ..data import dataset_statistics
from ..data.datasets import DATASETS
from .paper import numbers, paper_dataset
from .render import write_artefact

STATS = ("users", "items", "interactions", "density", "tail_users_share", "tail_items_share")
TITLE = "Table 2: dataset statistics"
CAPTION = ("Density and the shares of tail users and tail items of our dataset (dark) and of "
           "the paper's three datasets (light, hatched).")
SHARES = ("density", "tail_users_share", "tail_items_share")


def plot(rows: list[dict], path) -> None:
    """Grouped bars: each dataset's density and tail shares, in percent."""
    import numpy as np

    from .style import HATCH_PAPER, OURS, PAPER, WIDTH, figure

    rows = [r for r in rows if r["dataset"] != "difference"]
    x = np.arange(len(SHARES))
    w = 0.8 / len(rows)
    with figure(path, (WIDTH, 2.9)) as (fig, ax):
        for k, r in enumerate(rows):
            ours = k == 0
            ax.bar(x + (k - (len(rows) - 1) / 2) * w, [100 * r[s] for s in SHARES], w,
                   color=OURS if ours else PAPER, hatch="" if ours else HATCH_PAPER,
                   edgecolor="#555555", lw=0.4, alpha=1 if ours else 0.55 + 0.45 * k / len(rows),
                   label=r["dataset"])
        ax.set_xticks(x, ["density", "tail users", "tail items"])
        ax.set_ylabel("%")
        ax.legend(fontsize=8)


def run(ctx) -> dict:
    s = dataset_statistics(ctx.split)
    ours = {k: s[k] for k in STATS}
    key = paper_dataset(ctx.dataset)
    paper = numbers()["table2"]
    rows = [{"dataset": f"{ctx.dataset} (ours, {ctx.protocol})", **ours}]
    if key:
        rows.append({"dataset": f"{key} (paper)", **paper[key]})
        rows.append({"dataset": "difference", **{k: ours[k] - paper[key][k] for k in STATS}})
    rows += [{"dataset": f"{d} (paper)", **v} for d, v in paper.items() if d != key]
    md = [{"dataset": r["dataset"],
           **{k: (f"{r[k]:+,}" if r["dataset"] == "difference" else f"{r[k]:,}")
              if isinstance(r[k], int) else
              (f"{100 * r[k]:+.2f} pt" if r["dataset"] == "difference" else f"{100 * r[k]:.2f}%")
              for k in STATS}} for r in rows]
    cols = ["dataset", *STATS]
    notes = [f"split: train {s['train']:,} · validation {s['validation']:,} · test {s['test']:,}",
             {"preparation": s.get("report", {})}]
    if ctx.dataset in DATASETS:        # a dataset by name: what its record says of the paper
        notes.append(f"{ctx.dataset} (`leporid data list`): {DATASETS[ctx.dataset].preparation}")
    return write_artefact(ctx, "table2", TITLE, rows, (md, cols), notes=notes,
                          extra={"statistics": s}, csv_columns=cols, figure=plot,
                          caption=CAPTION)
