"""The format records: every consumer reads them, and docs/add-a-format.md's example works."""

import re
from pathlib import Path

import pytest

from leporid.cli import main
from leporid.data import FORMATS, DataError, detect_format, load
from leporid.data import formats as F

DOC = Path(__file__).resolve().parents[1] / "docs" / "add-a-format.md"


@pytest.fixture
def registry():
    """Restore the registry after a test that registers formats."""
    saved = dict(FORMATS)
    yield FORMATS
    FORMATS.clear()
    FORMATS.update(saved)


def test_every_record_has_one_way_to_read_and_unique_names():
    keys = [k.lower() for f in FORMATS.values() for k in (f.name, *f.aliases)]
    assert len(keys) == len(set(keys))
    for fmt in FORMATS.values():
        assert (fmt.layout is None) != (fmt.parser is None), fmt.name
        assert F.normalise_format(fmt.name.upper()) == fmt.name
        for alias in fmt.aliases:
            assert F.normalise_format(alias) == fmt.name
        for fname in fmt.files:
            if fmt.sniff is None:
                assert detect_format(Path("d") / fname) == fmt.name


def test_register_refuses_taken_names_and_bad_records(registry):
    with pytest.raises(ValueError, match="already registered"):
        F.register(F.Format("x", "x", parser=load, aliases=("ml-1m",)))
    with pytest.raises(TypeError, match="exactly one of layout and parser"):
        F.Format("y", "y")
    with pytest.raises(ValueError, match="separator"):
        F.Layout("|", False, F.positional(("user", "int"), ("item", "int")))


def test_doc_example_runs_and_a_record_reaches_every_consumer(registry, tmp_path, monkeypatch,
                                                              capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert load("ratings_Books.csv", format="amazon").user_ids.tolist() == ["A1", "A2"]
    assert main(["data", "formats"]) == 0
    out = capsys.readouterr().out
    assert "\n  amazon " in out and "*.amazon" in out and "amazon-ratings" in out
    assert main(["data", "stats", "--dataset", "ratings_Books.csv", "--format", "amazon",
                 "--min-count", "1"]) == 0
    with pytest.raises(DataError, match=r"bad.amazon:2: field 3 \(rating\)"):
        Path("bad.amazon").write_text("A1,0001,5.0,100\nA2,0001,x,50\n")
        load("bad.amazon")


def test_directory_search_reads_the_records(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n")
    assert load(tmp_path).meta["format"] == "ml100k"
    (tmp_path / "u.data").unlink()
    (tmp_path / "a.inter").write_text("user_id:token\titem_id:token\nu\ti\n")
    assert load(tmp_path).meta["format"] == "atomic"
