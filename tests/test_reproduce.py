"""`leporid reproduce all` on a tiny synthetic dataset with a tiny budget: every artefact file
exists and is well formed, a rerun reads every cell from the cache, and the report renders."""

import json
import socket
import time

import pandas as pd
import pytest

from leporid.cli import main
from leporid.data import prepare
from leporid.data.synthetic import power_law_interactions
from leporid.experiments import ARTEFACTS, BUDGETS, Context, reproduce
from leporid.experiments.report import write_report
from leporid.experiments.stats import INCONCLUSIVE, VERDICTS

TINY = BUDGETS["smoke"].with_(
    seeds=(1,), trials=1, neighbors=30, dim=8, alpha_grid=(0.0, 0.5, 1.0), k_grid=(10, 30),
    dlr2={"iterations": 4, "batch_size": 64, "eval_every": 4, "bf16": False, "threads": 1},
    neural={"epochs": 1}, bpr={"epochs": 1},
    fig2={"graphs": 1, "n": 30, "m": 3, "dims": 8, "insertions": 2})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "tiny"
    split = prepare(power_law_interactions(50, 70, 1800, min_per_user=20, seed=3, name="tiny"),
                    min_count=5)
    ctx = Context(split, TINY, out, dataset="tiny", progress=False)
    written = reproduce("all", ctx)
    return split, out, written


@pytest.mark.slow
def test_every_artefact_is_written_and_well_formed(tiny_run):
    split, out, written = tiny_run
    assert list(written) == list(ARTEFACTS)
    for name in ARTEFACTS:
        doc = json.loads((out / f"{name}.json").read_text())
        assert doc["artefact"] == name and doc["rows"] and doc["title"]
        assert doc["leporid_version"] and doc["seed"] == [1]
        assert doc["config"]["budget"]["name"] == "smoke"
        if name != "fig2":
            assert doc["data_fingerprint"] == split.fingerprint()
            assert doc["config"]["protocol"] == "kcore"
        for c in doc["claims"]:
            assert c["verdict"] in VERDICTS and c["comparisons"]
            # one seed (and Fig. 2's one graph): no claim can be decided (issue 20)
            assert c["verdict"] == INCONCLUSIVE and c["reason"] in ("1 seed", "1 graph"), c
        csv = pd.read_csv(out / f"{name}.csv")
        assert len(csv) == len(doc["rows"])
        md = (out / f"{name}.md").read_text()
        assert md.startswith(f"## {doc['title']}") and "| --- |" not in md and "|---|" in md
        assert not any("error" in r for r in doc["rows"]), name
    for name in ARTEFACTS:                      # a figure for every artefact
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the tables carry what the paper's layout needs
    t3 = json.loads((out / "table3.json").read_text())
    assert {(r["model"], r["init"]) for r in t3["rows"]} >= {("dlr2", "random"), ("dlr2", "le"),
                                                             ("dlr2", "leporid")}
    assert any(r["init"] == "Relative Imp." for r in t3["rows"])
    from leporid.experiments.cells import PAPER_INITS, PAPER_NEURAL, registered_inits
    from leporid.models import MODELS
    assert t3["missing"] == ([f"model {m}" for m in PAPER_NEURAL if m not in MODELS]
                             + [f"init {i}" for i in PAPER_INITS if i not in registered_inits()])
    t4 = json.loads((out / "table4.json").read_text())
    assert [r["model"] for r in t4["rows"]][:4] == ["toppop", "userknn", "itemknn", "slim"]
    assert sum(r["model"] == "Relative Imp." for r in t4["rows"]) == 3
    t6 = {(r["branch"], r["loss"]) for r in json.loads((out / "table6.json").read_text())["rows"]}
    assert ("S", "L_G + L_S") in t6 and ("G", "L_G") in t6
    # shared cells are computed once: Table 3's DLR²+LEPORID is Table 7's ResNet
    t7 = json.loads((out / "table7.json").read_text())["rows"]
    lep = next(r for r in t3["rows"] if r["init"] == "leporid" and r["model"] == "dlr2")
    assert next(r for r in t7 if r["arch"] == "resnet")["HR@10"] == lep["HR@10"]
    # HR@5 <= HR@10 everywhere
    for r in t3["rows"] + t7:
        if r.get("relative") is None:
            assert 0 <= r["HR@5"] <= r["HR@10"] <= 1


@pytest.mark.slow
def test_rerun_reads_every_cell_from_the_cache(tiny_run):
    split, out, _ = tiny_run
    cells = sorted((out / "cache" / "cells").glob("*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in cells}
    ctx = Context(split, TINY, out, dataset="tiny", progress=False)
    t0 = time.perf_counter()
    reproduce("table7", ctx)
    reproduce("fig4", ctx)
    assert time.perf_counter() - t0 < 10
    assert sorted((out / "cache" / "cells").glob("*.json")) == cells
    assert all(p.stat().st_mtime_ns == stamps[p] for p in cells)
    # a changed setting (another seed) adds cells and leaves the old ones alone
    ctx2 = Context(split, TINY.with_(seeds=(2,)), out / "seed2", dataset="tiny", progress=False)
    reproduce("table2", ctx2)
    assert (out / "seed2" / "table2.md").exists()


@pytest.mark.slow
def test_report_renders_markdown_and_self_contained_html(tiny_run):
    _, out, _ = tiny_run
    paths = write_report(out)
    md = paths["md"].read_text()
    html = paths["html"].read_text()
    for name in ARTEFACTS:
        title = json.loads((out / f"{name}.json").read_text())["title"]
        assert title in md
    assert "## Contents" in md and "Provenance:" in md
    pngs = [p for p in out.rglob("*.png") if "cache" not in p.parts]     # one per artefact
    assert len(pngs) >= len(ARTEFACTS) and "<table>" in html
    assert html.count("data:image/png;base64,") == len(pngs)
    # one seed, no ±: the page does not speak of standard deviations; no machine path
    assert not any("±" in line for line in md.splitlines() if line.startswith("|"))
    assert "standard deviation" not in md and "one seed" in md and str(out.parent) not in md
    assert "src=\"fig" not in html                    # no external files


@pytest.mark.slow
def test_models_and_inits_select_rows_and_reuse_the_cache(tiny_run, tmp_path, monkeypatch):
    import shutil

    import leporid.experiments.cells as cells_mod

    split, out, _ = tiny_run
    out = shutil.copytree(out, tmp_path / "copy")

    def no_training(*a, **k):
        raise AssertionError("a selected cell was recomputed instead of read from the cache")

    monkeypatch.setattr(cells_mod, "fit_neural", no_training)
    ctx = Context(split, TINY, out, dataset="tiny", progress=False, models=("dlr2",),
                  inits=("random", "leporid"))
    reproduce("table3", ctx)
    reproduce("table5", ctx)
    t3 = json.loads((out / "table3.json").read_text())
    assert [(r["model"], r["init"]) for r in t3["rows"]] == [
        ("dlr2", "random"), ("dlr2", "leporid"), ("dlr2", "Relative Imp.")]
    assert not any(r.get("error") for r in t3["rows"])
    assert t3["config"]["models"] == ["dlr2"] and t3["config"]["inits"] == ["random", "leporid"]
    left = [n for n in t3["notes"] if n.startswith("left out by")]
    assert left[0].startswith("left out by --models: ncf, ngcf") and "dlr2" not in left[0]
    assert left[1].startswith("left out by --inits: svd, ") and "leporid" not in left[1]
    t5 = json.loads((out / "table5.json").read_text())
    assert [r["init"] for r in t5["rows"]] == ["random", "leporid", "Relative Imp."]
    assert "left out by --inits: svd, le" in t5["notes"]
    assert t5["missing"] == []


def test_cli_reproduce_table2_and_report(tmp_path, capsys):
    out = tmp_path / "ml"
    assert main(["reproduce", "table2", "--budget", "smoke", "--out", str(out),
                 "--no-progress"]) == 0
    doc = json.loads((out / "table2.json").read_text())
    assert doc["rows"][0]["users"] == 566 and doc["config"]["protocol"] == "kcore"
    assert doc["host"] == socket.gethostname()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").exists()
    assert "report.md" in capsys.readouterr().out
    assert f"; host {doc['host']};" in (out / "report.md").read_text()


def test_report_names_the_hosts_of_cells_computed_elsewhere(tmp_path):
    """Every cell records its host; an artefact whose cells were partly computed on another
    machine (a cache filled there) lists their hosts in the report's provenance."""
    from leporid.experiments.grid import Cell
    from leporid.experiments.render import write_artefact
    from leporid.experiments.report import build_markdown

    here = socket.gethostname()
    ctx = Context(None, TINY, tmp_path / "r", dataset="d", progress=False)
    cells = [Cell({"kind": "t", "setting": str(i), "seed": 1}, lambda cfg, ctx: {"v": 1})
             for i in range(2)]
    assert all(r["provenance"]["host"] == here for r in ctx.run(cells, "t"))
    assert ctx.hosts["t"] == [here]
    cached = ctx.cache.path(cells[0].config)
    doc = json.loads(cached.read_text())
    doc["provenance"]["host"] = "gpu-box"           # as if computed there
    cached.write_text(json.dumps(doc))
    ctx.run(cells, "t")
    both = sorted(["gpu-box", here])
    assert ctx.hosts["t"] == both
    write_artefact(ctx, "t", "T", [{"a": 1}], ([{"a": 1}], ["a"]))
    art = json.loads((ctx.out / "t.json").read_text())
    assert art["host"] == here and art["cell_hosts"] == both
    md, _ = build_markdown(ctx.out)
    assert f"host {here};" in md and f"cells computed on {', '.join(both)}" in md


def test_cli_errors(tmp_path, capsys):
    for bad in (["table9"], ["table2", "--seeds", "1,x"], ["table2", "--threads", "0"],
                ["table2", "--budget", "huge"], ["table3", "--models", ","]):
        assert main(["reproduce", *bad]) == 2     # main returns argparse's status 2
    assert "--seeds: must be comma-separated" in capsys.readouterr().err
    for opt, bad in (("--models", "dlr2,nope"), ("--inits", "leporid,Nope2")):
        assert main(["reproduce", "table3", opt, bad, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert f"{opt}: unknown 'nope" in err and "leporid" in err and "Traceback" not in err
        assert not (tmp_path / "x").exists()      # checked before any work
    assert main(["report", str(tmp_path / "nothing")]) == 1
    assert "no such results folder" in capsys.readouterr().err


def test_protocol_is_recorded_in_command_results(tmp_path):
    out = tmp_path / "ev"
    assert main(["evaluate", "--model", "toppop", "--protocol", "authors", "--out", str(out)]) == 0
    docs = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert docs and all(d["config"]["protocol"] == "authors" for d in docs)
    assert all(d["config"]["min_count"] == 20 for d in docs)   # recorded, unused by "authors"
