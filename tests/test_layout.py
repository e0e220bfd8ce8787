"""The package's shape: imports run one way, with no cycle among rawgpt's modules.

Every ``import`` and ``from ... import`` of a rawgpt module counts, those under
``if TYPE_CHECKING:`` and those inside functions too: a cycle hidden in either is
still two modules that each need the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rawgpt

PACKAGE = Path(rawgpt.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["rawgpt", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The rawgpt modules ``name`` (at ``path``) imports, anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # a submodule named in the list is imported; any other name comes from base
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        found.update(t for t in targets if t in modules and t != name)
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, name, modules) for name, path in paths.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_among_rawgpt_modules() -> None:
    graph = _graph()
    assert len(graph) > 40  # every module was found
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_reader_sees_type_checking_and_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from .._errors import APIError\n"
        "if TYPE_CHECKING:\n    from ..batch import runner\n"
        "def f():\n    from . import limiter\n",
        encoding="utf-8",
    )
    modules = {"rawgpt._errors", "rawgpt.batch", "rawgpt.batch.runner", "rawgpt._ratelimit.limiter"}
    found = _imports(module, "rawgpt._ratelimit.m", modules)
    assert found == {"rawgpt._errors", "rawgpt.batch.runner", "rawgpt._ratelimit.limiter"}


# family -> the modules outside it that may import its parts (beyond its package's face)
FAMILIES = {
    "rawgpt._ratelimit": (),
    "rawgpt._mock": ("rawgpt.testing",),  # the mock server's public face
    "rawgpt.batch": ("rawgpt.cli.batch",),  # the batch command drives the runner's parts
    "rawgpt.bench": ("rawgpt.cli.bench",),  # the bench command drives the measuring parts
    "rawgpt.cli": (),
    "rawgpt._streaming": (),
}


def test_families_keep_their_parts_to_themselves() -> None:
    """Outside a family, a module imports the family's packages (their faces), not its parts."""
    graph = _graph()
    packages = {_module_name(p.parent / "__init__.py") for p in PACKAGE.rglob("__init__.py")}
    for name, targets in graph.items():
        for target in targets - packages:
            for family, outsiders in FAMILIES.items():
                if not target.startswith(family + ".") or name.startswith(family):
                    continue
                assert name in outsiders, f"{name} imports {target}, a part of {family}"


def test_bench_uses_only_public_rawgpt() -> None:
    """The benchmark measures rawgpt as a user would: no private module of the client."""
    graph = _graph()
    for name, targets in graph.items():
        if name == "rawgpt.bench" or name.startswith("rawgpt.bench."):
            private = [
                t
                for t in targets
                if not t.startswith("rawgpt.bench") and any(p.startswith("_") for p in t.split("."))
            ]
            assert not private, f"{name} imports private {private}"


def test_the_top_levels_stay_small() -> None:
    """Families live in subpackages: the package's top level shows the architecture."""
    entries = [p for p in PACKAGE.iterdir() if p.name != "__pycache__"]
    assert len(entries) <= 24, sorted(p.name for p in entries)
    benchmarks = PACKAGE.parent / "benchmarks"
    if benchmarks.is_dir():  # a source checkout (the wheel ships the package only)
        names = [p.name for p in benchmarks.iterdir() if p.name not in ("__pycache__", "results")]
        assert len(names) <= 12, sorted(names)
