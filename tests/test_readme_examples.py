"""Every Python example of the README and of the user guide (docs/*.md) runs as written on the
quick-start install (`pip install torch==2.13.0 && pip install -e .`, no extras).

The blocks of one page run in order in one fresh namespace, statement by statement, in a
temporary working directory. While they run, every package that only an extra brings (dask for
`[dist]`, mkdocs for `[docs]`, ...; computed from pyproject.toml and the installed packages' own
requirements; the test runner's own excepted) cannot be imported, as on a quick-start install.
A statement that
needs an extra must say so beside it (`# needs pip install -e ".[dist]"`): it then runs with
the extra if the extra is installed. A statement marked `# needs a GPU` runs only where CUDA is.
A block whose first line is `# not run by the tests: REASON` is skipped (the reason is visible
in the docs).
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.util
import re
import sys
import tomllib
from contextlib import contextmanager
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
EXTRA_NOTE = re.compile(r"""pip install [^\n#]*?["']?(?:-e )?["']?[.\w-]*\[([\w,-]+)\]""")
GPU_NOTE = re.compile(r"needs a GPU", re.I)
SKIP_BLOCK = re.compile(r"^#\s*not run by the tests:\s*\S")
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```", re.M | re.S)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every fenced ```python block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


@cache
def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _closure(reqs) -> frozenset[str]:
    """Distribution names that ``reqs`` (requirement strings) install, transitively, as far as
    the installed packages' metadata says."""
    seen, names, stack = set(), set(), [Requirement(r) for r in reqs]
    while stack:
        req = stack.pop()
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        names.add(name)
        try:
            subs = requires(req.name) or []
        except PackageNotFoundError:
            continue
        for text in subs:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e})
                                         for e in ("", *req.extras)):
                stack.append(sub)
    return frozenset(names)


@cache
def _distributions() -> dict:
    return packages_distributions()


def _modules_of(dists) -> set[str]:
    return {mod for mod, owners in _distributions().items()
            if any(canonicalize_name(d) in dists for d in owners)}


#: the test runner's own packages: never hidden (they run this very test), and no example uses them
HARNESS = ("pytest", "hypothesis")


@cache
def extra_only_modules() -> frozenset[str]:
    """Top-level modules that an extra installs and the core dependencies do not (less the
    test runner's own)."""
    project = _pyproject()
    core = _closure(project["dependencies"])
    extras = _closure(r for reqs in project["optional-dependencies"].values() for r in reqs)
    keep = _modules_of(core | _closure(HARNESS)) | {"leporid"}
    return frozenset(_modules_of(extras - core) - keep)


class _Blocker(importlib.abc.MetaPathFinder):
    def __init__(self, blocked: set[str]):
        self.blocked = blocked

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not on the quick-start "
                                      "install: it comes with an extra)", name=name)
        return None


@contextmanager
def quick_start_imports(blocked: set[str]):
    """Imports as on the quick-start install: the ``blocked`` modules cannot be imported (those
    already imported are hidden meanwhile)."""
    hidden = {k: sys.modules.pop(k) for k in list(sys.modules)
              if k.partition(".")[0] in blocked}
    finder = _Blocker(blocked)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        sys.modules.update(hidden)


#: modules whose registries (module-level dicts, lists, sets) an example may add to
REGISTRIES = ("leporid.init", "leporid.init.registry", "leporid.models", "leporid.models.registry",
              "leporid.data.formats")


@contextmanager
def registries_restored():
    """Examples may register schemes, models or formats: the registries are put back."""
    modules = [importlib.import_module(m) for m in REGISTRIES
               if importlib.util.find_spec(m) is not None]
    saved = [(c, c.copy()) for m in modules for name, c in vars(m).items()
             if isinstance(c, (dict, list, set)) and not name.startswith("__")]
    try:
        yield
    finally:
        for c, copy in saved:
            c.clear()
            (c.update if not isinstance(c, list) else c.extend)(copy)


def _extra_installed(extra: str) -> bool:
    reqs = _pyproject()["optional-dependencies"][extra]
    return all(importlib.util.find_spec(m) is not None
               for m in _modules_of(_closure(reqs) - _closure(_pyproject()["dependencies"])))


def run_page(path: Path, blocked: set[str]) -> list[str]:
    """Run the page's blocks; the statements not run, with why."""
    namespace: dict = {"__name__": f"docs_example_{path.stem}"}
    extras = _pyproject()["optional-dependencies"]
    cuda = None
    not_run = []
    for first, code in python_blocks(path):
        if SKIP_BLOCK.match(code.lstrip()):
            not_run.append(f"{path.name}:{first}: block ({code.strip().splitlines()[0]})")
            continue
        lines = code.splitlines()
        tree = ast.parse(code, filename=f"{path.name}:{first}")
        for stmt in tree.body:
            start = stmt.decorator_list[0].lineno if getattr(stmt, "decorator_list", None) \
                else stmt.lineno
            text = "\n".join(lines[start - 1:stmt.end_lineno])
            where = f"{path.name}:{first + start - 1}"
            named = set(EXTRA_NOTE.findall(text))
            named = {e for group in named for e in group.split(",")}
            unknown = named - set(extras)
            assert not unknown, f"{where}: names an extra pyproject.toml does not have: {unknown}"
            if GPU_NOTE.search(text):
                if cuda is None:
                    import torch

                    cuda = torch.cuda.is_available()
                if not cuda:
                    not_run.append(f"{where}: needs a GPU")
                    continue
            if named and not all(_extra_installed(e) for e in named):
                not_run.append(f"{where}: needs the extra {sorted(named)}")
                continue
            module = ast.Module(body=[stmt], type_ignores=[])
            compiled = compile(module, f"{path.name}:{first}", "exec")
            try:
                if named:
                    exec(compiled, namespace)
                else:
                    with quick_start_imports(blocked):
                        exec(compiled, namespace)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.partition(".")[0] in blocked:
                    pytest.fail(f"{where}: needs {exc.name!r}, which the quick-start install "
                                "does not have; say which extra beside the line "
                                "(# needs pip install -e \".[EXTRA]\") or make it a core "
                                f"dependency:\n{text}")
                raise
            except ImportError as exc:  # a library's own "pip install leporid[...]" message
                if any(b in str(exc) for b in blocked) or "pip install" in str(exc):
                    pytest.fail(f"{where}: {exc}; say which extra beside the line:\n{text}")
                raise
    return not_run


PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p)]


def test_readme_has_runnable_examples():
    assert ROOT / "README.md" in PAGES_WITH_CODE


def test_blocked_modules_are_extras_only():
    """The simulation of the quick-start install hides the extras' packages, not core ones."""
    blocked = extra_only_modules()
    assert "mkdocs" in blocked
    for core in ("numpy", "scipy", "torch", "sklearn", "matplotlib", "leporid", "pytest"):
        assert core not in blocked


@pytest.mark.parametrize("path", PAGES_WITH_CODE, ids=lambda p: p.name)
def test_examples_run_on_the_quick_start_install(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with registries_restored():
        not_run = run_page(path, extra_only_modules())
    for reason in not_run:
        print("not run:", reason)


def test_registries_are_put_back():
    from leporid.models import registry

    before = list(registry.RECORDS)
    with registries_restored():
        registry.RECORDS.append("x")
    assert registry.RECORDS == before


def test_an_unmarked_extra_import_is_caught(tmp_path):
    """The check itself: a page importing an extra's package without saying so fails."""
    page = tmp_path / "page.md"
    page.write_text("```python\nimport mkdocs\n```\n")
    with pytest.raises(pytest.fail.Exception, match="quick-start install"):
        run_page(page, extra_only_modules())
    page.write_text('```python\nimport mkdocs  # needs pip install -e ".[docs]"\n```\n')
    assert run_page(page, extra_only_modules()) in ([], ["page.md:1: needs the extra ['docs']"])
