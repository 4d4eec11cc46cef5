"""The night figures stay cheap to draw: no layout engine, bars and spans as one collection each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from lmdetect.report.figures import figure_to_png, night_figures, plot_imi_histogram, plot_plm_per_hour
from lmdetect.results.night_folder import night_summary_document
from tests.report import night_cases


@pytest.fixture(scope="module")
def gappy():
    return night_cases.gappy_night()


def test_figures_use_fixed_margins_not_a_layout_engine(gappy):
    figs = night_figures(gappy, night_summary_document(gappy))
    for name, fig in figs.items():
        assert fig.get_layout_engine() is None, name
        assert figure_to_png(fig).startswith(b"\x89PNG")


def test_histogram_bars_are_one_collection_with_the_bar_autoscale():
    ax = plot_plm_per_hour([3, 0, 7, 2])
    assert len(ax.patches) == 0 and len(ax.collections) == 1
    ref = Figure().add_subplot()
    ref.bar(np.arange(4), [3, 0, 7, 2], width=0.8)  # the limits ax.bar would give
    assert ax.get_ylim() == pytest.approx(ref.get_ylim()) and ax.get_ylim()[0] == 0.0
    assert ax.get_xlim() == pytest.approx(ref.get_xlim())


def test_unobserved_spans_are_one_collection(gappy):
    ax = night_figures(gappy, night_summary_document(gappy))["timeline"].axes[0]
    spans = [c for c in ax.collections if c.get_transform() == ax.get_xaxis_transform()]
    assert len(spans) == 1 and len(spans[0].get_paths()) >= 1
    assert not any(type(p).__name__ in ("Rectangle", "Polygon") for p in ax.patches)


def test_imi_histogram_draws_every_bin(gappy):
    ax = plot_imi_histogram(gappy.events, gappy.config.rules)
    (bars,) = [c for c in ax.collections if len(c.get_paths()) > 1]
    assert len(bars.get_paths()) == 45  # 2-s bins from 0 to 90 s
    assert np.allclose(bars.get_facecolor()[0][:3], (0.0, 0x72 / 255, 0xB2 / 255))


def test_titles_sit_where_automatic_placement_puts_them(gappy):
    """Titles are given their position (sparing matplotlib's per-save placement); it must be the
    one the automatic placement settles on, or the figures would change."""
    figs = night_figures(gappy, night_summary_document(gappy))
    titled = [ax for fig in figs.values() for ax in fig.axes if ax.get_title()]
    assert len(titled) == 3  # the two IMI histograms and PLMs per hour
    for ax in titled:
        fig = ax.get_figure()
        fig.canvas.draw()
        fixed = ax.title.get_window_extent()
        ax.set_title(ax.get_title(), fontsize=ax.title.get_fontsize())  # no y: automatic placement
        fig.canvas.draw()
        assert ax.title.get_window_extent().bounds == pytest.approx(fixed.bounds)


def test_html_report_does_not_load_the_pdf_backend(tmp_path):
    code = (
        "import sys\n"
        "from lmdetect.outputs import write_night_outputs\n"
        "from tests.report import night_cases\n"
        f"write_night_outputs(night_cases.gappy_night(), {str(tmp_path / 'night')!r}, report=True)\n"
        "print('matplotlib.backends.backend_pdf' in sys.modules, 'matplotlib.backends.backend_agg' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root, env=env)
    assert out.stdout.split() == ["False", "True"]
    assert (tmp_path / "night" / "report.html").is_file()
