"""The report in a real browser (Playwright on a system Chromium; issue 20), and its page
structure without one: no console error, no horizontal page scroll at 1280 px, every image
decoded, one heading per artefact, each contents badge equal to the verdict in the JSON.

Chromium: ``apt-get install chromium-headless-shell`` (Debian), or any Chromium named by
``LEPORID_CHROMIUM``; Playwright's own browser download is not needed."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from synthetic_results import synthetic_results

from leporid.experiments.report import collect, write_report
from leporid.experiments.stats import VERDICTS

CHROMIUM_NAMES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


def chromium() -> str | None:
    env = os.environ.get("LEPORID_CHROMIUM")
    if env:
        return env
    return next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = synthetic_results(tmp_path_factory.mktemp("report") / "synthetic")
    return folder, write_report(folder)


def _expected(folder):
    """(title, [verdict of each claim]) per artefact, in the report's order."""
    return [(doc["title"], [c["verdict"] for c in doc.get("claims", [])])
            for _, doc in collect(folder)]


def test_the_report_page_says_only_what_is_true_of_it(report):
    folder, paths = report
    md = paths["md"].read_text()
    assert "±" in md and "Numbers are means over 3 seeds ± the standard deviation" in md
    assert "one seed" not in md and str(folder) not in md and "/tmp/" not in md
    # the paper's order, whatever the file names sort to
    titles = [t for t, _ in _expected(folder)]
    assert [t.split(":")[0] for t in titles] == [
        "Table 2", "Table 3", "Table 4", "Table 5", "Table 6", "Table 7", "Figure 2", "Figure 4"]
    assert [md.index(f"## {t}") for t in titles] == sorted(md.index(f"## {t}") for t in titles)
    verdicts = {v for _, vs in _expected(folder) for v in vs}
    assert verdicts <= set(VERDICTS) and {"holds", "does not hold", "inconclusive"} <= verdicts
    # structured values as lists, not Python dicts; a figure (with its caption) per artefact
    assert "{'" not in md and "- preparation:" in md
    assert md.count("*Figure: ") == len(titles) and "budget smoke; seeds 123, 124, 125" in md


def test_one_seed_report_is_inconclusive_and_says_so(tmp_path):
    folder = synthetic_results(tmp_path / "one", seeds=(123,), artefact="table7")
    md = write_report(folder)["md"].read_text()
    doc = json.loads((folder / "table7.json").read_text())
    assert [c["verdict"] for c in doc["claims"]] == ["inconclusive"]
    assert doc["claims"][0]["reason"] == "1 seed" and "**inconclusive** (1 seed)" in md
    assert "secondary, not a verdict" in md
    assert "±" not in "".join(line for line in md.splitlines() if line.startswith("|"))
    assert "standard deviation" not in md and "one seed" in md


def test_the_report_in_chromium(report, tmp_path):
    exe = chromium()
    if exe is None:
        pytest.skip("no Chromium found (apt-get install chromium-headless-shell, or set "
                    "LEPORID_CHROMIUM to a Chromium binary)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install playwright)")
    folder, paths = report
    expected = _expected(folder)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(paths["html"].resolve().as_uri())
        page.wait_for_load_state("load")
        decoded = page.evaluate("""async () => {
            const imgs = [...document.images];
            await Promise.all(imgs.map(i => i.decode().catch(() => null)));
            return imgs.map(i => i.naturalWidth);
        }""")
        width = page.evaluate("Math.max(document.documentElement.scrollWidth, "
                              "document.body.scrollWidth)")
        headings = page.eval_on_selector_all("h2:not(nav h2)", "hs => hs.map(h => h.textContent)")
        badges = page.eval_on_selector_all(
            "nav#contents > ul > li", "lis => lis.map(li => [...li.querySelectorAll('.badge')]"
                                      ".map(b => b.textContent))")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert width <= 1280
    assert len(decoded) == len(expected) and all(w > 0 for w in decoded)
    assert headings == [t for t, _ in expected]
    assert badges == [vs for _, vs in expected]
