"""One Markdown page and one self-contained HTML page from everything under a results folder.

Every ``*.json`` result with ``rows`` (the artefacts of ``leporid reproduce``, the demo's table,
train / evaluate results) is a section, in the paper's order (Tables 2–7, Figures 2 and 4, then
the rest by path): one heading, its figure (sibling ``.png``; linked from the Markdown page,
embedded as base64 in the HTML page) with a caption naming the dataset, protocol, budget and
seeds, its table (from the sibling ``.md``; a wide table scrolls in its own box, a long one is
folded), its notes (structured values as lists), its claims with their verdicts, and its
provenance. A contents list with one verdict badge per claim comes first. Paths are written
relative to the results folder; the introduction only says what is true of the page (± and
bold are mentioned only where they appear). The cell cache (``cache/``) is skipped.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from ..results import atomic_write
from .render import claims_markdown, notes_markdown
from .stats import INCONCLUSIVE, NOT_RUN, VERDICTS

ORDER = ("table2", "table3", "table4", "table5", "table6", "table7", "fig2", "fig4")
#: a table longer than this is folded (``<details>``) below its figure
FOLD_ROWS = 20


def collect(folder: Path) -> list[tuple[Path, dict]]:
    """Every result (path, document) under ``folder``, in the report's order."""
    found = []
    for p in sorted(folder.rglob("*.json")):
        if "cache" in p.relative_to(folder).parts or p.name.startswith("."):
            continue
        try:
            doc = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            continue
        if isinstance(doc, dict) and "rows" in doc and p.with_suffix(".md").exists():
            found.append((p, doc))

    def key(item):
        p, doc = item
        a = doc.get("artefact", p.stem)
        return (ORDER.index(a) if a in ORDER else len(ORDER), str(p.parent), p.stem)
    return sorted(found, key=key)


def _where(p: Path, folder: Path) -> str:
    """The artefact's path relative to the results folder, without the extension."""
    return p.relative_to(folder).with_suffix("").as_posix()


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    t = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return t.replace(" ", "-")


def _title(p: Path, doc: dict, folder: Path) -> str:
    where = _where(p, folder)
    title = doc.get("title") or where
    return f"{title} ({where})" if doc.get("title") and "/" in where else title


def _seeds(doc: dict) -> list:
    s = doc.get("seed")
    return s if isinstance(s, list) else [s] if s is not None else []


def _caption(doc: dict) -> str:
    cfg = doc.get("config", {})
    what = doc.get("figure_caption") or ""
    bits = [f"dataset {cfg['dataset']}" if cfg.get("dataset") else "",
            f"protocol {cfg['protocol']}" if cfg.get("protocol") else "",
            f"budget {cfg['budget']['name']}" if isinstance(cfg.get("budget"), dict) else "",
            f"seeds {', '.join(map(str, _seeds(doc)))}" if _seeds(doc) else ""]
    tail = "; ".join(b for b in bits if b)
    if len(_seeds(doc)) == 1 and "CI" in what:
        what += " With one seed there is no interval."
    return (what + " " if what else "") + (f"({tail}.)" if tail else "")


def _provenance(doc: dict) -> str:
    cfg = doc.get("config", {})
    budget = cfg.get("budget", {})
    parts = [f"leporid {doc.get('leporid_version')}", f"created {doc.get('created')}"]
    if doc.get("host"):                 # results written before hosts were recorded have none
        parts.append(f"host {doc['host']}")
    if cfg.get("dataset"):
        parts.append(f"dataset {cfg['dataset']} (protocol {cfg.get('protocol')})")
    if budget:
        parts.append(f"budget {budget.get('name')}")
    if _seeds(doc):
        parts.append(f"seeds {', '.join(map(str, _seeds(doc)))}")
    if doc.get("data_fingerprint"):
        parts.append(f"data fingerprint {doc['data_fingerprint']}")
    if doc.get("cell_seconds") is not None:
        parts.append(f"compute {doc['cell_seconds']:.0f} s")
    if doc.get("cell_hosts") and doc["cell_hosts"] != [doc.get("host")]:
        parts.append(f"cells computed on {', '.join(doc['cell_hosts'])}")
    if cfg.get("device"):
        parts.append(f"device {cfg['device']}")
    return "Provenance: " + "; ".join(parts) + "."


def _table(md_text: str) -> list[str]:
    return [line for line in md_text.splitlines() if line.startswith("|")]


def _badge(c: dict) -> str:
    reason = c.get("reason") if c["verdict"] in (INCONCLUSIVE, NOT_RUN) else ""
    return f"**{c['verdict']}**" + (f" ({reason})" if reason else "")


def _intro(folder: Path, found, tables: list[list[str]]) -> list[str]:
    # the seeds of what was trained (Table 2 counts data, Fig. 2 simulates graphs)
    seeds = {len(_seeds(d)) for _, d in found if d.get("artefact") not in ("table2", "fig2")}
    cells = [c for t in tables for line in t[2:] for c in line.strip("|").split("|")]
    plus = any("±" in c for c in cells)
    bold = any(c.strip().startswith("**") for c in cells)
    paper = any("paper" in line for t in tables for line in t[:1])
    text = [f"Results in this folder (`{folder.name}`): {len(found)} artefact(s), in the "
            "paper's order."]
    sd = " ± the standard deviation over seeds" if plus else ""
    if len(seeds) > 1:
        text.append(f"Numbers are means over the seeds each artefact lists ({min(seeds)} to "
                    f"{max(seeds)}){sd}.")
    elif seeds and max(seeds) > 1:
        text.append(f"Numbers are means over {max(seeds)} seeds{sd}.")
    elif seeds:
        text.append("Every number comes from one seed (one training run per cell).")
    if bold:
        text.append("Bold marks the best value of its group.")
    if paper:
        text.append("On the paper's datasets the paper's value and the difference "
                    "(ours − paper) stand beside ours.")
    return [" ".join(text), ""]


STATS_NOTE = (
    "Verdicts: **holds**, **does not hold** or **inconclusive** (with the reason). {how}; a "
    "claim's comparisons are corrected together (Holm); \"≈\" is an equivalence test (TOST) "
    "against the margin printed beside it; with fewer than 3 seeds on either side a claim is "
    "*inconclusive*, and the user-level test of the trained models is shown only as a "
    "secondary line. See `leporid.experiments.stats` and docs/statistics.md.")
HOW = ("Each comparison uses the per-user HR@10 of every run: the interval of the mean "
       "difference accounts for the training seeds (the unit of replication of a method) and "
       "for the users (the unit of the test set)")
HOW_RERENDERED = (
    "This page was re-rendered from an earlier report whose per-user values were not kept: "
    "each interval comes from the seed means and standard deviations alone (the training "
    "seeds, the unit of replication of a method; the users' share of the variance is left "
    "out), and the claims that need per-user or per-graph values say so")


def build_markdown(folder: str | Path) -> tuple[str, list[tuple[Path, dict]]]:
    folder = Path(folder)
    found = collect(folder)
    tables = [_table(p.with_suffix(".md").read_text()) for p, _ in found]
    lines = ["# leporid: reproduction report", ""] + _intro(folder, found, tables)
    contents = ['<nav id="contents">', "", "## Contents", ""]
    for (p, doc), _ in zip(found, tables):
        title = _title(p, doc, folder)
        contents.append(f"- [{title}](#{slug(title)})")
        contents += [f"  - {_badge(c)} — {c['text']}" for c in doc.get("claims", [])]
    contents += ["", "</nav>", ""]
    lines += contents
    if any(d.get("claims") for _, d in found):
        how = HOW_RERENDERED if any(d.get("rerendered") for _, d in found) else HOW
        lines += [STATS_NOTE.format(how=how), ""]
    for (p, doc), table in zip(found, tables):
        title = _title(p, doc, folder)
        lines += [f"<!-- {p.relative_to(folder).as_posix()} -->", f"## {title}", ""]
        png = p.with_suffix(".png")
        if png.exists():
            lines += [f"![{title}]({png.relative_to(folder).as_posix()})", "",
                      f"*Figure: {_caption(doc)}*", ""]
        if table:
            fold = len(table) - 2 > FOLD_ROWS
            if fold:
                lines += [f"<details><summary>Table ({len(table) - 2} rows)</summary>", ""]
            lines += table + [""]
            if fold:
                lines += ["</details>", ""]
        notes = notes_markdown(doc.get("notes", []))
        if notes:
            lines += notes + [""]
        if doc.get("claims"):
            lines += claims_markdown(doc["claims"]).strip("\n").splitlines() + [""]
        lines += [_provenance(doc), ""]
    return "\n".join(lines) + "\n", found


# --------------------------------------------------------------------------- HTML
_VERDICT_RE = "|".join(re.escape(v) for v in VERDICTS)
_NUM = re.compile(r"^(\*\*)?[-+−]?(\d[\d,]*(\.\d+)?|\.\d+)(%| pt)?( ± [\d.]+)?(\*\*)?$|^–$")


def _inline(text: str) -> str:
    t = html.escape(text, quote=False)
    t = re.sub(rf"\*\*({_VERDICT_RE})\*\*",
               lambda m: f'<span class="badge {slug(m.group(1))}">{m.group(1)}</span>', t)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", t)
    t = re.sub(r"\[([^\]]+)\]\(#([^)]+)\)", r'<a href="#\2">\1</a>', t)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", t)


def _html_table(table: list[str]) -> list[str]:
    rows = [r for r in table if not re.fullmatch(r"\|[-|: ]+\|", r)]
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
    body = cells[1:]
    numeric = [bool(body) and all(_NUM.match(r[k]) for r in body if k < len(r) and r[k])
               for k in range(len(cells[0]))]

    def cls(k):
        return ' class="num"' if k < len(numeric) and numeric[k] else ""
    out = ['<div class="scroll"><table><thead><tr>'
           + "".join(f"<th{cls(k)}>{_inline(c)}</th>" for k, c in enumerate(cells[0]))
           + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td{cls(k)}>{_inline(c)}</td>" for k, c in enumerate(r))
            + "</tr>" for r in body]
    out.append("</tbody></table></div>")
    return out


STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;
 margin:1.5em auto;padding:0 1.2em;line-height:1.45;color:#1d1d1f}
h1{font-size:1.7em}h2{font-size:1.3em;margin-top:2.2em;border-bottom:1px solid #ddd;
 padding-bottom:.2em}
.scroll{overflow-x:auto;max-width:100%;margin:.8em 0}
table{border-collapse:collapse;font-size:88%}
td,th{border:1px solid #d0d0d0;padding:3px 7px;text-align:left;vertical-align:top;
 white-space:nowrap}
th{background:#f3f3f3}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto}figure{margin:1em 0}
figcaption{font-size:90%;color:#444;max-width:800px}
code{background:#f3f3f3;padding:0 3px;border-radius:3px;overflow-wrap:anywhere}
p,li{max-width:900px;overflow-wrap:anywhere}
nav#contents{background:#fafafa;border:1px solid #e3e3e3;padding:.2em 1em .6em;margin:1em 0}
nav#contents h2{margin-top:.5em}
.badge{display:inline-block;padding:0 .5em;border-radius:.7em;font-weight:600;
 font-size:85%;border:1px solid}
.badge.holds{background:#dafbe1;color:#0a5a1f;border-color:#0a5a1f}
.badge.does-not-hold{background:#ffe1e0;color:#8b0d0d;border-color:#8b0d0d}
.badge.inconclusive{background:#fff3c4;color:#6b4e00;border-color:#6b4e00;border-style:dashed}
.badge.not-run{background:#eee;color:#555;border-color:#888;border-style:dotted}
details{margin:.8em 0}summary{cursor:pointer;color:#1f3b73}
"""


def markdown_to_html(md: str, folder: Path) -> str:
    """The small Markdown subset the report uses: headings (with GitHub's anchors), pipe
    tables (each in its own scroll box, numbers right-aligned), lists, paragraphs, images
    (embedded as base64 data URIs, with the figure caption that follows), a few HTML block
    tags (nav, details) passed through, comments dropped, bold/italic/code/anchor links."""
    out, table, open_li = [], [], []        # open_li: per open list, whether an item is open
    lines = md.splitlines()

    def list_depth(depth: int) -> None:
        """Close or open lists (nested ones inside their parent item) down to ``depth``."""
        while len(open_li) > depth:
            out.append("</li></ul>" if open_li.pop() else "</ul>")
        while len(open_li) < depth:
            out.append("<ul>")
            open_li.append(False)

    def flush_table():
        if table:
            out.extend(_html_table(table))
            table.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        m_list = re.match(r"^(\s*)- (.*)", line)
        depth = (len(m_list.group(1)) // 2 + 1) if m_list else 0
        if not m_list and not line.strip():
            continue
        list_depth(depth)
        if m_list:
            out.append(("</li>" if open_li[-1] else "") + f"<li>{_inline(m_list.group(2))}")
            open_li[-1] = True
        elif line.startswith("<!--"):
            continue
        elif re.match(r"^</?(nav|details)\b", line):
            out.append(re.sub(r"<summary>(.*)</summary>",
                              lambda m: f"<summary>{_inline(m.group(1))}</summary>", line))
        elif m := re.match(r"^(#{1,4}) (.*)", line):
            n, text = len(m.group(1)), m.group(2)
            out.append(f'<h{n} id="{slug(text)}">{_inline(text)}</h{n}>')
        elif m := re.match(r"^!\[(.*)\]\((.*)\)$", line):
            data = base64.b64encode((folder / m.group(2)).read_bytes()).decode()
            cap = ""
            while i < len(lines) and not lines[i].strip():
                i += 1
            if i < len(lines) and lines[i].startswith("*Figure: "):
                cap = f"<figcaption>{_inline(lines[i].strip('*'))}</figcaption>"
                i += 1
            out.append(f'<figure><img alt="{html.escape(m.group(1))}" '
                       f'src="data:image/png;base64,{data}">{cap}</figure>')
        else:
            out.append(f"<p>{_inline(line)}</p>")
    flush_table()
    list_depth(0)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>leporid report</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(out) + "\n</body></html>\n")


def write_report(folder: str | Path, out: str | Path | None = None) -> dict[str, Path]:
    """Write ``report.md`` and ``report.html`` (into ``out``, default ``folder``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such results folder")
    out = Path(out) if out else folder
    md, found = build_markdown(folder)
    if not found:
        raise FileNotFoundError(f"{folder}: no results found (run `leporid reproduce` first)")
    paths = {"md": atomic_write(out / "report.md", md)}
    paths["html"] = atomic_write(out / "report.html", markdown_to_html(md, folder))
    return paths
