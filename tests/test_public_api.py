import inspect
import re
import subprocess
import sys

import pytest

import lmdetect


def test_public_names_resolve():
    for name in lmdetect.__all__:
        assert getattr(lmdetect, name) is not None, name


def test_import_is_light():
    code = "import sys, lmdetect; bad = [m for m in ('matplotlib', 'bleak', 'dask', 'jinja2') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def _numpydoc_sections(obj: object) -> set[str]:
    """Section titles of a numpydoc docstring: a line followed by an underline of dashes."""
    lines = (inspect.getdoc(obj) or "").splitlines()
    return {
        lines[i].strip()
        for i in range(len(lines) - 1)
        if lines[i].strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip())
        and len(lines[i + 1].strip()) == len(lines[i].strip())
    }


@pytest.mark.parametrize("name", [n for n in lmdetect.__all__ if callable(getattr(lmdetect, n))])
def test_public_callable_documents_parameters_and_returns(name):
    obj = getattr(lmdetect, name)
    sections = _numpydoc_sections(obj)
    if inspect.isclass(obj):
        assert sections & {"Parameters", "Attributes"}, f"{name}: no Parameters or Attributes section"
    else:
        missing = {"Parameters", "Returns"} - sections
        assert not missing, f"{name}: no {' or '.join(sorted(missing))} section"


def test_section_finder_needs_a_matching_underline():
    class Documented:
        """Summary.

        Parameters
        ----------
        x : float
            In s.

        Returns
        ---
        """

    assert _numpydoc_sections(Documented) == {"Parameters"}
