"""The dependency direction of docs/architecture.md, checked on the source."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "lmdetect"
CORE = ["model.py", "config.py", "protocol.py", "pipeline.py", "preprocessing", "detect", "scoring",
        "sleepwake", "summary"]
FORBIDDEN = ("lmdetect.io", "lmdetect.report", "lmdetect.collector", "lmdetect.batch", "lmdetect.commands",
             "lmdetect.cli", "matplotlib", "bleak", "dask", "distributed", "jinja2", "firmware_sim")


def _core_files():
    for item in CORE:
        p = PKG / item
        yield from ([p] if p.is_file() else sorted(p.rglob("*.py")))


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # resolve relative imports against the module's package
                base = list(parts[: len(parts) - node.level])
                yield ".".join(base + ([node.module] if node.module else []))
            else:
                yield node.module or ""


@pytest.mark.parametrize("path", list(_core_files()), ids=lambda p: str(p.relative_to(PKG)))
def test_core_modules_do_not_import_the_edges(path):
    bad = [m for m in _imports(path) if m.startswith(FORBIDDEN)]
    assert not bad, f"{path.name} imports {bad}"


def test_bleak_is_imported_only_by_the_ble_link():
    users = [p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py")
             if any(m.startswith("bleak") for m in _imports(p))]
    assert users in ([], ["collector/ble.py"]), users


# --------------------------------------------------------------------------- packages

#: What ``lmdetect.io`` (file formats) must never import: the layers above it.
IO_FORBIDDEN = ("report", "batch", "commands", "cli", "results", "outputs", "collector")


def _unit(module: str) -> str | None:
    """The package-level unit of a dotted module name: ``lmdetect.io.csv`` -> ``io``,
    ``lmdetect.pipeline`` -> ``pipeline``; None outside lmdetect or for the root package."""
    parts = module.split(".")
    return parts[1] if parts[0] == "lmdetect" and len(parts) > 1 else None


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _module_imports(path: Path):
    """Like :func:`_imports`, plus ``from pkg import name`` as ``pkg.name`` (a name may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1] + ("__init__",)
    typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking_block(block)
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # imports for annotations only never run
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(list(parts[: len(parts) - node.level]) + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def package_graph() -> dict[str, set[str]]:
    """Edges between the package-level units of lmdetect (sub-packages and top-level modules),
    counting every import, lazy ones inside functions included."""
    graph: dict[str, set[str]] = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG).parts
        src = rel[0].removesuffix(".py")
        if src == "__init__":  # the root's lazy name table is not an import
            continue
        deps = graph.setdefault(src, set())
        for m in _module_imports(p):
            unit = _unit(m)
            if unit is not None and unit != src and ((PKG / unit).is_dir() or (PKG / f"{unit}.py").is_file()):
                deps.add(unit)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"io": {"report"}, "report": {"results"}, "results": {"io"}, "cli": {"io"}}) == [
        ["io", "report", "results"]
    ]


def test_no_import_cycles_between_packages():
    graph = package_graph()
    assert {"io", "report", "results", "batch", "commands", "pipeline"} <= set(graph)
    cycles = _cycles(graph)
    detail = [{u: sorted(graph[u] & set(c)) for u in c} for c in cycles]
    assert not cycles, f"import cycles between packages: {detail}"


def test_io_imports_no_layer_above_it():
    graph = package_graph()
    assert not graph["io"] & set(IO_FORBIDDEN), sorted(graph["io"] & set(IO_FORBIDDEN))


def test_results_and_report_keep_their_direction():
    graph = package_graph()
    assert "report" not in graph["results"] and "batch" not in graph["results"]
    assert not graph["report"] & {"batch", "commands", "cli", "outputs"}, graph["report"]
