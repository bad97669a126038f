"""The committed command-line reference (docs/cli.md) is the parsers' own help, and the help
texts are plain text; the user guide builds without a warning."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from leporid.cli import build_parser
from leporid.cli.reference import commands, render

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(sys.version_info >= (3, 13),
                    reason="argparse lays out --help differently from Python 3.13 on; "
                           "docs/cli.md is generated with 3.11/3.12")
def test_committed_reference_is_current():
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == render(), ("docs/cli.md is out of date: "
                                   "python -m leporid.cli.reference > docs/cli.md")


def test_reference_covers_every_command():
    text = render()
    names = [p.prog for p in commands(build_parser())]
    for name in ("leporid", "leporid demo", "leporid data stats", "leporid embed",
                 "leporid train", "leporid recommend", "leporid reproduce", "leporid report"):
        assert name in names
    for name in names:
        assert f"\n## {name}\n" in text


def test_help_texts_have_no_rest_markup():
    """reST double backticks belong in docstrings, not in --help."""
    for p in commands(build_parser()):
        assert "``" not in p.format_help(), p.prog


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="mkdocs is in the test and docs extras")
def test_user_guide_builds_strictly(tmp_path):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(tmp_path / "site"), strict=True)
    build(config)       # a broken link, anchor or a page missing from the nav aborts
    assert (tmp_path / "site" / "index.html").exists()
