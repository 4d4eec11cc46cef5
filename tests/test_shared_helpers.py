"""Helpers shared by every edge: file checksums, library versions, BLE string characteristics."""

from __future__ import annotations

import ast
import asyncio
import hashlib
import platform
from pathlib import Path

import pytest

from lmdetect._files import sha256_file, sha256_file_or_none
from lmdetect._versions import package_versions
from lmdetect.adapters.base import read_text
from lmdetect.errors import FormatError

PKG = Path(__file__).resolve().parents[1] / "lmdetect"


def test_sha256_file_matches_hashlib_across_chunks(tmp_path):
    data = bytes(range(256)) * 9000  # > 2 MiB: several 1 MiB chunks and a partial one
    path = tmp_path / "night.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file_or_none(path) == sha256_file(path)


def test_sha256_file_names_the_file_it_cannot_read(tmp_path):
    with pytest.raises(FormatError, match=r"missing\.lmr: file not found"):
        sha256_file(tmp_path / "missing.lmr")
    with pytest.raises(FormatError, match="is a folder, not a file"):
        sha256_file(tmp_path)
    assert sha256_file_or_none(tmp_path / "missing.lmr") is None


def test_package_versions():
    v = package_versions(["numpy", "no-such-distribution-zz"])
    assert list(v) == ["python", "numpy", "no-such-distribution-zz"]
    assert v["python"] == platform.python_version() and v["no-such-distribution-zz"] == "not installed"
    from lmdetect import __version__

    w = package_versions(["no-such-distribution-zz"], with_lmdetect=True, missing=None)
    assert w == {"lmdetect": __version__, "python": platform.python_version()}


class _Link:
    def __init__(self, values):
        self.values = values

    def has_characteristic(self, uuid):
        return uuid in self.values

    async def read(self, uuid):
        value = self.values[uuid]
        if isinstance(value, Exception):
            raise value
        return value


def test_read_text_strips_padding_and_never_raises():
    link = _Link({"model": bytearray(b"H10\x00 "), "fw": OSError("link lost"), "bad": b"\xff1"})
    assert asyncio.run(read_text(link, "model")) == "H10"
    assert asyncio.run(read_text(link, "fw")) == ""
    assert asyncio.run(read_text(link, "absent")) == ""
    assert asyncio.run(read_text(link, "bad")) == "\ufffd1"


def test_each_helper_is_defined_once():
    """No module keeps its own copy of a shared helper (they had drifted apart before)."""
    owners = {"sha256": "_files.py", "_versions": "_versions.py", "_read_text": "adapters/base.py"}
    copies = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for key, owner in owners.items():
                    if key in node.name and rel != owner:
                        copies.append(f"{rel}: {node.name}")
    assert not copies, copies
