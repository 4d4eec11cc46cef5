"""Conventions shared by every command: -v anywhere, outputs replaced only with --force, --pdf
refused early without the report extra, a fast --help/--version, and recordings of any length."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lmdetect.cli import build_parser, main
from lmdetect.io import write_recording
from lmdetect.model import Recording

ROOT = Path(__file__).resolve().parents[1]
GENEACTIV = ROOT / "tests" / "data" / "readers" / "gnactv_sample.bin"  # 18 s, real device
ANNOTATIONS = ROOT / "tests" / "data" / "annotations"


def _still(n: int, fs: float = 50.0) -> Recording:
    start = dt.datetime(2026, 3, 14, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    return Recording(np.tile([0.0, 0.0, 1.0], (n, 1)).astype(np.float32), np.arange(n) / fs, fs, start)


# ------------------------------------------------------------------ -v before and after the command
def test_verbose_is_taken_before_and_after_the_command(tmp_path):
    parser, _ = build_parser(["info"])
    args = parser.parse_args(["-v", "info", "x.lmr", "-vv"])
    assert args.verbose == 1 and args.command_verbose == 2
    rec = tmp_path / "n.csv"
    write_recording(_still(100), rec)
    assert main(["info", str(rec), "-v"]) == 0
    assert main(["info", str(rec), "--verbose"]) == 0


# ------------------------------------------------------------------ one convention for outputs
def _nonempty(folder: Path) -> Path:
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    return folder


@pytest.mark.parametrize(
    "argv",
    [
        lambda out: ["process", str(GENEACTIV), "--out", str(out), "--no-report"],
        lambda out: ["score-events", str(ANNOTATIONS / "events_example.csv"), "--out", str(out)],
        lambda out: ["simulate", "--hours", "0.1", "--out", str(out)],
        lambda out: ["summarize", str(out), "--out", str(out), "--no-report"],
    ],
    ids=["process", "score-events", "simulate", "summarize"],
)
def test_a_non_empty_output_folder_is_replaced_only_with_force(argv, tmp_path, capsys):
    out = _nonempty(tmp_path / "out")
    assert main(argv(out)) == 2
    assert "exists and is not empty; use --force" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_process_and_score_events_with_force_and_into_an_empty_folder(tmp_path):
    out = _nonempty(tmp_path / "p")
    assert main(["process", str(GENEACTIV), "--out", str(out), "--no-report", "--force"]) == 0
    assert (out / "summary.json").is_file()
    empty = tmp_path / "e"
    empty.mkdir()
    assert main(["score-events", str(ANNOTATIONS / "events_example.csv"), "--out", str(empty)]) == 0
    assert main(["score-events", str(ANNOTATIONS / "events_example.csv"), "--out", str(empty), "-f"]) == 0


def test_convert_keeps_its_file_convention(tmp_path, capsys):
    src = tmp_path / "n.csv"
    write_recording(_still(100), src)
    dst = tmp_path / "n.lmr"
    dst.write_bytes(b"old")
    assert main(["convert", str(src), str(dst)]) == 2
    assert "exists; use --force" in capsys.readouterr().err and dst.read_bytes() == b"old"
    assert main(["convert", str(src), str(dst), "--force"]) == 0


def test_every_command_help_states_the_output_convention():
    parser, _ = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        text = " ".join(p.format_help().split())
        if name in ("process", "score-events", "simulate", "summarize", "convert", "split-nights"):
            assert "--force" in text and "refused without it" in text, name
    assert "there is no --force" in " ".join(sub.choices["batch"].format_help().split())
    assert "continued if it exists" in " ".join(sub.choices["collect"].format_help().split())
    assert "--force" in parser.format_help()


# ------------------------------------------------------------------ --pdf without the report extra
def test_pdf_without_the_report_extra_is_an_error_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "lmdetect.report", None)  # import fails as when matplotlib is missing
    out = tmp_path / "o"
    # the recording does not even exist: the refusal comes first
    assert main(["process", str(tmp_path / "missing.lmr"), "--out", str(out), "--pdf"]) == 2
    err = capsys.readouterr().err
    assert "--pdf needs the report extra" in err and "lmdetect[report]" in err
    assert not out.exists()
    assert main(["process", str(GENEACTIV), "--out", str(out), "--pdf", "--no-report"]) == 2
    assert "--no-report" in capsys.readouterr().err


# ------------------------------------------------------------------ fast --help / --version
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_no_heavy_module(flag):
    code = (
        "import sys\nfrom lmdetect.cli import main\n"
        f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('pandas', 'numpy', 'scipy', 'matplotlib', 'pyarrow') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    assert res.stdout.strip().splitlines()[-1] == "HEAVY []", res.stdout


@pytest.mark.parametrize(
    "command", ["process", "batch", "agree", "summarize", "evaluate", "info", "convert", "collate", "split-nights"]
)
def test_subcommand_help_imports_no_heavy_module(command):
    # each subcommand builds its parser from constants in light modules; the work imports the rest
    code = (
        "import sys\nfrom lmdetect.cli import main\n"
        f"try:\n    main([{command!r}, '--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('pandas', 'numpy', 'scipy', 'matplotlib', 'pyarrow') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    assert res.stdout.strip().splitlines()[-1] == "HEAVY []", res.stdout


@pytest.mark.parametrize("module", ["lmdetect.config", "lmdetect.batch", "lmdetect.outputs", "lmdetect.commands.summarize"])
def test_modules_that_filter_nothing_import_no_scipy(module):
    # scipy.signal (and the scipy.stats it pulls in) costs seconds; only the pipeline's workers need it
    code = f"import sys, {module}\nprint('SCIPY', sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    assert res.stdout.strip().splitlines()[-1] == "SCIPY []", res.stdout


# ------------------------------------------------------------------ recordings of any length
def test_a_short_real_recording_gives_a_result(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["process", str(GENEACTIV), "--out", str(out), "--no-report"]) == 0
    doc = json.loads((out / "summary.json").read_text())
    assert doc["tst_h"] == 0.0 and doc["n_lm"] == 0
    assert "gnactv_sample.bin: PLMS/h n/a" in capsys.readouterr().out


@pytest.mark.parametrize("n", [2, 3, 50, 1499, 1500, 1501, 2999, 3001])
def test_recordings_shorter_than_a_few_epochs_are_processed(n, tmp_path):
    rec = tmp_path / "short.csv"
    write_recording(_still(n), rec)
    out = tmp_path / "o"
    assert main(["process", str(rec), "--out", str(out), "--no-report"]) == 0
    epochs = (out / "epochs.csv").read_text().splitlines()
    assert len(epochs) - 1 == int(np.ceil(n / 50.0 / 30.0))


def test_an_empty_recording_is_a_clear_error(tmp_path, capsys):
    rec = tmp_path / "empty.lmr"
    write_recording(_still(0), rec)
    assert main(["process", str(rec), "--out", str(tmp_path / "o")]) == 2
    assert "empty.lmr: the recording holds no samples" in capsys.readouterr().err
