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
