"""Re-render a committed ``leporid reproduce`` report (benchmarks/reproduce-*/report.md) with the
statistics and the report layout of issue 20, from what the report kept.

The committed folders hold only report.md/.html (and two PNGs): the cells, with their per-user
values, were not committed. So, per artefact, this script reads back the table (means ± std
over the seeds, the paper's values), the notes, the provenance and the old comparisons, and:

- with fewer than 3 seeds: every claim is *inconclusive (n seeds)*; the old per-user Wilcoxon
  p-value is kept as the secondary, labelled line (a test of the trained models);
- with 3+ seeds: each comparison is re-decided by ``stats.compare_summaries`` — the seed-level
  Welch interval from the means and standard deviations, Holm within the claim; the users'
  share of the variance cannot be added without the per-user values, and the report says so;
- Table 5's ratio (needs per-user values) and Fig. 2 (needs per-graph values) are
  *inconclusive (… not kept)*, unless a rerun's artefact is given with ``--replace``;
- every artefact gets its figure, drawn from the table's rows.

    python benchmarks/rerender_reports.py benchmarks/reproduce-ml-100k [--source OLD.md] \
        [--replace fig2=results/ml-100k/fig2.json]
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
from pathlib import Path

from leporid.experiments import fig2, fig4, table2, table3, table4, table5, table6, table7
from leporid.experiments.render import claims_markdown, notes_markdown
from leporid.experiments.report import write_report
from leporid.experiments.stats import (
    INCONCLUSIVE,
    MIN_SEEDS,
    claim,
    compare_summaries,
)
from leporid.experiments.style import bar_figure
from leporid.results import atomic_write, write_json

METRICS = ("HR@5", "HR@10", "F1@5", "F1@10")
MODULES = {"table2": table2, "table3": table3, "table4": table4, "table5": table5,
           "table6": table6, "table7": table7, "fig2": fig2, "fig4": fig4}
NOT_KEPT = {"table5": "per-user values not kept", "fig2": "per-graph values not kept"}
COMP = re.compile(r"^(?P<what>.+?) \[(?P<rel>[>≈]), (?P<metric>[^\]]+)\]: (?P<a>[\d.]+) vs "
                  r"(?P<b>[\d.]+) \(Δ (?P<d>[-+\d.]+), p = (?P<p>[\d.e+-]+), (?P<n>\d+) \w+\)")


def cell(text: str):
    """A table cell as a number (mean, std) / fraction / int, or the text."""
    t = text.strip().strip("*").strip()
    if t in ("–", ""):
        return None
    if m := re.fullmatch(r"([-+]?[\d.]+) ± ([\d.]+)", t):
        return float(m.group(1)), float(m.group(2))
    if m := re.fullmatch(r"([-+]?[\d.]+)(%| pt)", t):
        return float(m.group(1)) / 100
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})*", t):
        return int(t.replace(",", ""))
    try:
        return float(t)
    except ValueError:
        return t


def rows_of(table: list[str], n_seeds: int) -> list[dict]:
    head = [c.strip() for c in table[0].strip("|").split("|")]
    rows = []
    for line in table[2:]:
        vals = [c.strip() for c in line.strip("|").split("|")]
        r = {}
        for col, v in zip(head, vals):
            x = cell(v)
            if col.startswith("Δ "):
                r[f"{col[2:]} diff"] = x
            elif isinstance(x, tuple):
                r[col], r[f"{col} std"] = x
            else:
                r[col] = x
        if any(m in r for m in METRICS):
            if any("Relative Imp." in str(v) for v in r.values()):
                r["relative"] = True
            else:
                r["seeds"] = n_seeds
                for m in METRICS:
                    if isinstance(r.get(m), float):
                        r.setdefault(f"{m} std", 0.0)
        rows.append(r)
    return rows


def parse(report: Path) -> list[dict]:
    parts = re.split(r"^<!-- (\w+)\.json -->$", report.read_text(), flags=re.M)
    out = []
    for name, body in zip(parts[1::2], parts[2::2]):
        lines = body.strip("\n").splitlines()
        sec = {"artefact": name, "title": lines[0][4:], "table": [], "notes": [], "claims": []}
        m = re.search(r"<!-- leporid (\S+); dataset (\S+); protocol (\S+); budget (\S+); "
                      r"seeds (\[[^\]]*\]); data (\S+) -->", body)
        sec.update(version=m.group(1), dataset=m.group(2), protocol=m.group(3),
                   budget=m.group(4), seeds=ast.literal_eval(m.group(5)), fingerprint=m.group(6))
        in_claims = False
        for line in lines[1:]:
            if line.startswith("|"):
                sec["table"].append(line)
            elif line.startswith("**Claims**"):
                in_claims = True
            elif in_claims and (c := re.match(r"^- \*(.+)\* — \*\*[^*]+\*\*(?: \((.*)\))?$",
                                               line)):
                sec["claims"].append({"text": c.group(1), "note": c.group(2) or "", "comps": []})
            elif in_claims and line.startswith("  - "):
                sec["claims"][-1]["comps"].append(line[4:])
            elif line.startswith("- ") and not in_claims:
                sec["notes"].append(line[2:])
            elif line.startswith("Provenance:"):
                sec["created"] = re.search(r"created (\S+);", line).group(1)
                c = re.search(r"compute (\d+) s", line)
                sec["seconds"] = int(c.group(1)) if c else None
                d = re.search(r"device (\w+)", line)
                sec["device"] = d.group(1) if d else "cpu"
        out.append(sec)
    return out


def _find(rows, **labels):
    return next((r for r in rows if all(r.get(k) == v for k, v in labels.items())), None)


def resolve(artefact: str, what: str, rows: list[dict]):
    """The two rows an old comparison line compared."""
    if artefact == "table3":
        model, rest = what.split(": ", 1)
        a, b = rest.split(" vs ")
        return _find(rows, model=model, init=a), _find(rows, model=model, init=b)
    if artefact == "table4":
        other = what.split(" vs ")[1]
        return (_find(rows, model="dlr2", init="leporid"),
                _find(rows, model=other, init="random" if other == "bpr" else "-"))
    if artefact == "table6":
        br = what.split("/")[1][0].upper()
        single = {"G": "L_G", "S": "L_S"}[br]
        return _find(rows, branch=br, loss="L_G + L_S"), _find(rows, branch=br, loss=single)
    if artefact == "table7":
        a, b = what.split(" vs ")
        return _find(rows, arch=a), _find(rows, arch=b)
    if artefact == "fig4":
        a, b = (s.split("=") for s in what.split(" vs "))
        key = {"α": "alpha", "K": "K"}
        return (_find(rows, parameter=key[a[0]], value=float(a[1])),
                _find(rows, parameter=key[b[0]], value=float(b[1])))
    raise KeyError(artefact)


def new_claims(sec: dict, rows: list[dict]) -> list[dict]:
    n = len(sec["seeds"])
    out = []
    for old in sec["claims"]:
        comps = []
        for line in old["comps"]:
            m = COMP.match(line)
            what = m.group("what") if m else line.split(":")[0]
            if sec["artefact"] in NOT_KEPT or not m:
                reason = (f"{n} seed" + "s" * (n != 1) if n < MIN_SEEDS
                          else NOT_KEPT.get(sec["artefact"], "not kept"))
                comps.append({"what": what, "verdict": INCONCLUSIVE, "reason": reason,
                              "forced": True, "old": line})
                continue
            rel, metric = m.group("rel"), m.group("metric")
            if n >= MIN_SEEDS:
                ra, rb = resolve(sec["artefact"], what, rows)
                comp = compare_summaries((ra[metric], ra[f"{metric} std"], n),
                                         (rb[metric], rb[f"{metric} std"], n), rel)
            else:
                comp = compare_summaries((float(m.group("a")), 0.0, n),
                                         (float(m.group("b")), 0.0, n), rel)
                comp["user_level"] = {"test": "Wilcoxon signed-rank over users (from the "
                                              "committed report)", "p": float(m.group("p")),
                                      "n_users": int(m.group("n"))}
            comp.update(what=what, metric=metric, n_users=int(m.group("n")))
            comps.append(comp)
        name = sec["artefact"] + (f"/{old['text'].rsplit(' ', 1)[1]}"
                                  if sec["artefact"] == "table3" else "")
        out.append(claim(name, old["text"], comps, note=old["note"]))
    return out


def notes_of(sec: dict) -> list:
    notes = []
    for n in sec["notes"]:
        if n.startswith("preparation: {"):
            notes.append({"preparation": ast.literal_eval(n.split(": ", 1)[1])})
        elif not n.startswith("figure:"):
            notes.append(n)
    how = ("verdicts from the seed means and standard deviations"
           if len(sec["seeds"]) >= MIN_SEEDS else "one seed, so no verdict")
    notes.append(f"re-rendered from the committed report (its per-user values were not kept): "
                 f"{how} — see benchmarks/README.md, “Verdicts under issue 20's statistics”")
    return notes


def figure(name: str, rows: list[dict], path: Path, all_users: dict) -> None:
    mod = MODULES[name]
    if name in ("table4", "table6", "table7"):
        bar_figure(rows, path, label=mod._label)
    elif name == "table5":
        for r in rows:
            src = all_users.get(r.get("init"))
            if src:
                r["all HR@10"], r["all HR@10 std"] = src["HR@10"], src["HR@10 std"]
        table5.plot(rows, path)
    elif name == "fig4":
        fig4._plot(rows, path)
    else:
        mod.plot(rows, path)


def rerender(folder: Path, replace: dict[str, Path], source: Path | None = None) -> None:
    secs = parse(source or folder / "report.md")
    dlr2_rows = {}
    for sec in secs:
        if sec["artefact"] == "table3":
            dlr2_rows = {r["init"]: r for r in rows_of(sec["table"], len(sec["seeds"]))
                         if r.get("model") == "dlr2" and not r.get("relative")}
    for old in folder.glob("*.png"):
        old.unlink()
    for sec in secs:
        name = sec["artefact"]
        if name in replace:                         # a rerun of this artefact
            src = replace[name]
            for ext in (".json", ".md", ".png"):
                shutil.copyfile(src.with_suffix(ext), folder / f"{name}{ext}")
            continue
        rows = rows_of(sec["table"], len(sec["seeds"]))
        claims = new_claims(sec, rows)
        notes = notes_of(sec)
        doc = {"artefact": name, "title": sec["title"], "leporid_version": sec["version"],
               "created": sec["created"], "seed": sec["seeds"],
               "data_fingerprint": sec["fingerprint"],
               "config": {"artefact": name, "dataset": sec["dataset"],
                          "protocol": sec["protocol"], "budget": {"name": sec["budget"]},
                          "device": sec["device"]},
               "cell_seconds": sec["seconds"], "rows": rows, "claims": claims, "notes": notes,
               "figure_caption": getattr(MODULES[name], "CAPTION", ""),
               "rerendered": "from the committed report.md; per-user values not kept"}
        write_json(folder / f"{name}.json", doc)
        md = [f"## {sec['title']}", "", f"<!-- leporid {sec['version']}; dataset "
              f"{sec['dataset']}; protocol {sec['protocol']}; budget {sec['budget']}; seeds "
              f"{sec['seeds']}; data {sec['fingerprint']} -->", "", *sec["table"], "",
              *notes_markdown(notes)]
        atomic_write(folder / f"{name}.md", "\n".join(md) + "\n" + claims_markdown(claims))
        figure(name, rows, folder / f"{name}.png", dlr2_rows)
    write_report(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--source", type=Path, default=None,
                    help="the committed report.md to read (default FOLDER/report.md; e.g. "
                         "`git show COMMIT:FOLDER/report.md > old.md` once it was replaced)")
    ap.add_argument("--replace", action="append", default=[],
                    help="ARTEFACT=PATH.json: use a rerun's artefact (json, md, png) instead")
    a = ap.parse_args()
    replace = {k: Path(v) for k, v in (r.split("=", 1) for r in a.replace)}
    rerender(a.folder, replace, a.source)
    print(f"re-rendered {a.folder}")


if __name__ == "__main__":
    main()
