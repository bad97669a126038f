"""One Markdown page and one self-contained HTML page from everything under a results folder.

Every ``*.json`` result with ``rows`` (the artefacts of ``leporid reproduce`` and the demo's
table) is included with its Markdown table (the sibling ``.md``), its figure (sibling ``.png``;
linked from the Markdown page, embedded as base64 in the HTML page), its claims and verdicts,
and its provenance (leporid version, host, dataset, protocol, budget, seeds, data fingerprint,
compute time, and the hosts of its cells when others than the artefact's). The cell cache
(``cache/``) is skipped. A summary of every claim's verdict comes first.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from ..results import atomic_write

ORDER = ("table2", "table3", "table4", "table5", "table6", "table7", "fig2", "fig4")


def _results(folder: Path) -> list[tuple[Path, dict]]:
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
        return (str(p.parent), ORDER.index(a) if a in ORDER else len(ORDER), p.stem)
    return sorted(found, key=key)


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
    if doc.get("seed") is not None:
        parts.append(f"seeds {doc.get('seed')}")
    if doc.get("data_fingerprint"):
        parts.append(f"data fingerprint {doc['data_fingerprint']}")
    if doc.get("cell_seconds") is not None:
        parts.append(f"compute {doc['cell_seconds']:.0f} s")
    if doc.get("cell_hosts") and doc["cell_hosts"] != [doc.get("host")]:
        parts.append(f"cells computed on {', '.join(doc['cell_hosts'])}")
    if cfg.get("device"):
        parts.append(f"device {cfg['device']}")
    return "Provenance: " + "; ".join(parts) + "."


def build_markdown(folder: str | Path) -> tuple[str, list[tuple[Path, dict]]]:
    folder = Path(folder)
    found = _results(folder)
    lines = ["# leporid: reproduction report", "",
             f"Results under `{folder}`: {len(found)} artefact(s). Numbers are means over "
             "seeds ± standard deviation; bold marks the best; on the paper's datasets the "
             "paper's value and the difference (ours − paper) stand beside ours.", ""]
    claims = [(p, c) for p, d in found for c in d.get("claims", [])]
    if claims:
        lines += ["## Claims and verdicts", "", "| where | claim | verdict |", "|---|---|---|"]
        lines += [f"| {p.parent.name}/{p.stem} | {c['text']} | **{c['verdict']}** |"
                  for p, c in claims]
        lines += ["", "Each verdict rests on paired tests over users (Wilcoxon signed-rank on "
                  "per-user HR@10, seeds averaged; a paired bootstrap for Table 5), at 5% per "
                  "comparison without multiple-comparison correction; *within noise* means "
                  "the data cannot tell.", ""]
    for p, doc in found:
        md = p.with_suffix(".md").read_text()
        md = re.sub(r"^## ", "### ", md, flags=re.M)
        if not md.lstrip().startswith("#"):
            md = f"### {p.parent.name}/{p.stem}\n\n" + md
        lines += [f"<!-- {p.relative_to(folder)} -->", md.rstrip("\n"), "", _provenance(doc), ""]
        png = p.with_suffix(".png")
        if png.exists():
            lines += [f"![{p.stem}]({png.relative_to(folder)})", ""]
    return "\n".join(lines) + "\n", found


def _inline(text: str) -> str:
    t = html.escape(text, quote=False)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", t)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", t)


def markdown_to_html(md: str, folder: Path) -> str:
    """The small Markdown subset the report uses: headings, pipe tables, lists, paragraphs,
    images (embedded as base64 data URIs), comments (dropped), bold/italic/code."""
    out, table, in_list = [], [], 0

    def flush_table():
        if not table:
            return
        rows = [r for r in table if not re.fullmatch(r"\|[-|: ]+\|", r)]
        cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
        out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in cells[0])
                   + "</tr></thead><tbody>")
        out.extend("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                   for r in cells[1:])
        out.append("</tbody></table>")
        table.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        m_list = re.match(r"^(\s*)- (.*)", line)
        depth = (len(m_list.group(1)) // 2 + 1) if m_list else 0
        while in_list > depth:
            out.append("</ul>")
            in_list -= 1
        while in_list < depth:
            out.append("<ul>")
            in_list += 1
        if m_list:
            out.append(f"<li>{_inline(m_list.group(2))}</li>")
        elif line.startswith("<!--") or not line.strip():
            continue
        elif m := re.match(r"^(#{1,4}) (.*)", line):
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
        elif m := re.match(r"^!\[(.*)\]\((.*)\)$", line):
            data = base64.b64encode((folder / m.group(2)).read_bytes()).decode()
            out.append(f'<p><img alt="{html.escape(m.group(1))}" '
                       f'src="data:image/png;base64,{data}"></p>')
        else:
            out.append(f"<p>{_inline(line)}</p>")
    flush_table()
    out.extend("</ul>" for _ in range(in_list))
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>leporid report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")


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
