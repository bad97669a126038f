"""What a new user meets in the first hour (issue 23): loader notes printed one way by every
command, one data fingerprint, training that says how it ended, a demo that ends with a
conclusion, recommendations with titles."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace

import pytest

from leporid.cli import main
from leporid.cli.demo_cmd import conclusion
from leporid.cli.train_cmd import training_summary
from leporid.data import dataset_statistics, format_statistics, load, prepare
from leporid.data.titles import item_titles


@pytest.fixture(scope="module")
def bundled_split():
    with pytest.warns(UserWarning, match="dropped 1 rating"):
        return prepare(load("ml-latest-small"))


# ---------------------------------------------------------------- notes, one way everywhere
@pytest.mark.parametrize("argv, command", [
    (["data", "stats"], "data"),
    (["evaluate", "--model", "toppop"], "evaluate"),
    (["embed", "--method", "random", "--dim", "4", "--no-cache"], "embed"),
])
def test_loader_warnings_are_notes_for_every_command(argv, command, tmp_path, capsys):
    out = [] if command == "data" else ["--out", str(tmp_path / "out")]
    assert main(argv + out) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if ": note: " in line]
    assert len(notes) == 1 and notes[0].startswith(f"leporid {command}: note: ")
    assert "dropped 1 rating(s)" in notes[0] and "line 100838" in notes[0]
    assert "UserWarning" not in err and ".py:" not in err      # no source line


def test_only_leporids_own_warnings_are_turned_into_notes(capsys):
    """The one hook every command runs under (``leporid.cli.main``): a warning raised inside
    the package prints as a note; another library's keeps Python's format and category."""
    import warnings
    from pathlib import Path

    import leporid
    from leporid.cli import _warnings_as_notes

    inside = str(Path(leporid.__file__).parent / "data" / "loaders.py")
    passed_on = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda m, c, *rest: passed_on.append((str(m), c))   # Python's
        _warnings_as_notes("x")
        warnings.warn("old", DeprecationWarning, stacklevel=1)          # this file: not ours
        warnings.warn_explicit("a row dropped", UserWarning, inside, 1)
    err = capsys.readouterr().err
    assert passed_on == [("old", DeprecationWarning)] and "note: old" not in err
    assert err == "leporid x: note: a row dropped\n"


# ---------------------------------------------------------------- one data fingerprint
def test_statistics_show_the_fingerprint_results_record(bundled_split):
    stats = dataset_statistics(bundled_split)
    assert stats["fingerprint"] == bundled_split.fingerprint()
    assert f"data fingerprint {bundled_split.fingerprint()}" in format_statistics(stats)
    # raw interactions keep their own (no parts to cover)
    inter = bundled_split.interactions
    assert dataset_statistics(inter)["fingerprint"] == inter.fingerprint()


# ---------------------------------------------------------------- train says how it ended
def _entry(step, epoch, hr, best):
    return {"step": step, "epoch": epoch, "loss": 0.5, "seconds": 1.0, "best": best,
            "validation": {"HR@10": hr}}


def _model(history, epochs=30, iterations=None, patience=3):
    return SimpleNamespace(history_=history, metric="HR@10", epochs=epochs,
                           iterations=iterations, patience=patience)


def test_training_summary_early_stop():
    hist = [_entry(10, 0.5, 0.30, True), _entry(20, 1.0, 0.42, True), _entry(30, 1.5, 0.41, False),
            _entry(40, 2.0, 0.42, False), _entry(50, 2.5, 0.40, False)]
    text = training_summary(_model(hist))
    assert text.startswith("stopped early at step 50 (3 validations without improvement)")
    assert text.endswith("best validation HR@10 0.4200 at step 20")   # the first of equals


def test_training_summary_full_budget_is_not_early():
    hist = [_entry(10, 1.0, 0.30, True), _entry(20, 2.0, 0.25, False)]
    assert training_summary(_model(hist, epochs=2, patience=1)) == (
        "trained 20 steps; best validation HR@10 0.3000 at step 10")
    hist = [_entry(5, 0.1, 0.30, True), _entry(10, 0.2, 0.2, False)]
    assert training_summary(_model(hist, iterations=10, patience=1)).startswith("trained 10")
    assert training_summary(_model(hist, iterations=100, patience=1)).startswith(
        "stopped early at step 10")
    assert training_summary(_model([])) is None


def test_train_prints_how_it_ended(tmp_path, capsys):
    argv = ["train", "--model", "bpr", "--dim", "8", "--epochs", "40", "--patience", "1",
            "--lr", "0.5", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "best validation HR@10" in x)
    result = json.loads(next(tmp_path.glob("train_*.json")).read_text())
    best = max((e for e in result["history"] if "validation" in e),
               key=lambda e: e["validation"]["HR@10"])
    assert f"at step {best['step']}" in line
    assert line.startswith(("stopped early at step", "trained"))


# ---------------------------------------------------------------- the demo's conclusion
def _row(model, init, hr, tail):
    return {"model": model, "init": init, "HR@10": hr, "tail HR@10": tail}


def test_demo_conclusion_names_the_best_and_what_to_run():
    rows = [_row("toppop", "-", 0.30, 0.2), _row("itemknn", "-", 0.46, 0.4),
            _row("userknn", "-", 0.44, 0.3), _row("DLR²", "leporid", 0.50, 0.45),
            _row("DLR²", "le", 0.52, 0.41), _row("DLR²", "random", 0.40, 0.3)]
    shows, caveat, evidence = conclusion(rows, "ml-latest-small")
    assert shows.startswith("What this shows: DLR² from LE embeddings is the best DLR² run, "
                            "HR@10 0.520 (tail users 0.410)")
    assert shows.index("LEPORID") < shows.index("random")
    assert "itemknn, has HR@10 0.460 (tail users 0.400)" in shows
    assert "one training seed" in caveat
    assert "`leporid reproduce table4 --budget default`" in evidence
    assert "`leporid demo --seeds 123,124,125`" in evidence
    assert "--dataset x.csv" in conclusion(rows, "x.csv")[2]
    assert conclusion(rows[:3], "ml-latest-small") == []
    three = [{**r, "seeds": 3} for r in rows]
    assert "means over 3 training seeds" in conclusion(three, "ml-latest-small")[1]
    assert "--seeds" not in conclusion(three, "ml-latest-small")[2]


# ---------------------------------------------------------------- titles
def test_item_titles_of_the_bundled_data():
    titles = item_titles("ml-latest-small")
    assert titles["1"] == "Toy Story (1995)" and len(titles) == 9742
    assert item_titles(None) == {} and item_titles("no/such/file.csv") == {}


@pytest.mark.parametrize("name, text, expected", [
    ("movies.csv", 'movieId,title,genres\n7,"Sabrina, the film (1995)",Comedy\n',
     {"7": "Sabrina, the film (1995)"}),
    ("movies.dat", "7::Sabrina (1995)::Comedy\n", {"7": "Sabrina (1995)"}),
    ("u.item", "7|Sabrina (1995)|01-Jan-1995||http://x|0|0\n", {"7": "Sabrina (1995)"}),
])
def test_item_titles_beside_a_movielens_ratings_file(tmp_path, name, text, expected):
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert item_titles(tmp_path / "ratings.dat") == expected
    assert item_titles(tmp_path) == expected


def test_item_titles_of_a_recbole_file(tmp_path):
    (tmp_path / "x.item").write_text("item_id:token\tmovie_title:token_seq\n3\tHeat\n")
    assert item_titles(tmp_path / "x.inter") == {"3": "Heat"}


def test_recommend_shows_titles_when_the_data_has_them(tmp_path, capsys):
    assert main(["train", "--model", "bpr", "--dim", "8", "--iterations", "12",
                 "--out", str(tmp_path)]) == 0
    ckpt = tmp_path / "train_ml-latest-small_bpr_random.pt"
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(ckpt), "--users", "1", "42", "-n", "3"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["user", "rank", "item", "title"] and len(rows) == 7
    titles = item_titles("ml-latest-small")
    assert all(len(r) == 4 and r[3] == titles[r[2]] for r in rows[1:])   # quoted when needed
    # a model whose data has no title file: the three columns as before
    (tmp_path / "train_ml-latest-small_bpr_random.json").write_text('{"config": {}}')
    assert main(["recommend", "--checkpoint", str(ckpt), "--users", "1", "-n", "2"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["user", "rank", "item"] and all(len(r) == 3 for r in rows)
