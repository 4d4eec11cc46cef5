import subprocess
import sys

import lmdetect


def test_public_names_resolve():
    for name in lmdetect.__all__:
        assert getattr(lmdetect, name) is not None, name


def test_import_is_light():
    code = "import sys, lmdetect; bad = [m for m in ('matplotlib', 'bleak', 'dask', 'jinja2') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
