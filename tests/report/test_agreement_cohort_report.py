"""Figures of the cohort agreement report: what they draw, and what they say when there is nothing to draw."""

import numpy as np
from matplotlib.figure import Figure

from lmdetect.agreement.stats import bland_altman, icc_a1, pearson_ci
from lmdetect.report.agreement_cohort import (
    plot_agreement_scatter,
    plot_bland_altman,
    plot_event_sensitivity,
)


def _texts(ax):
    return " ".join(t.get_text() for t in ax.texts)


def test_bland_altman_plot_draws_bias_limits_and_regression_on_the_given_axes():
    ref = np.array([3.0, 8.0, 12.0, 20.0, 33.0, 41.0])
    sensor = ref * 1.2 + np.array([0.5, -0.4, 0.3, -0.2, 0.1, 0.4])
    ba = bland_altman(sensor, ref).to_dict()
    ax = Figure().add_subplot()
    assert plot_bland_altman(sensor, ref, ba, ax=ax) is ax
    levels = sorted(round(line.get_ydata()[0], 9) for line in ax.get_lines() if len(set(line.get_ydata())) == 1)
    for key in ("bias", "loa_low", "loa_high"):
        assert round(ba[key], 9) in levels
    (points,) = [line for line in ax.get_lines() if line.get_marker() == "o"]
    np.testing.assert_allclose(points.get_xdata(), (sensor + ref) / 2)
    np.testing.assert_allclose(points.get_ydata(), sensor - ref)
    assert any(line.get_linestyle() == ":" for line in ax.get_lines())  # proportional-bias line
    assert "bias" in " ".join(a.get_text() for a in ax.texts)


def test_figures_say_when_there_is_nothing_to_draw():
    ax = plot_bland_altman(np.array([4.0]), np.array([3.0]), bland_altman([4.0], [3.0]).to_dict())
    assert "too few nights" in _texts(ax)
    doc = {"icc_a1": icc_a1(np.zeros((0, 2))).to_dict(), "pearson": pearson_ci([], []).to_dict()}
    assert "no night" in _texts(plot_agreement_scatter(np.zeros(0), np.zeros(0), doc))
    events = {"per_night": [{"night": "a", "sensitivity": None, "ci_low": None, "ci_high": None}],
              "sensitivity": {"pooled": None}}
    assert "no night with reference events" in _texts(plot_event_sensitivity(events))


def test_scatter_marks_children_and_shows_icc_and_r():
    ref = np.array([2.0, 6.0, 14.0, 18.0, 30.0])
    sensor = ref + np.array([1.0, -1.0, 2.0, 0.0, -2.0])
    doc = {"icc_a1": icc_a1(np.column_stack([sensor, ref])).to_dict(), "pearson": pearson_ci(sensor, ref).to_dict()}
    ax = plot_agreement_scatter(sensor, ref, doc, child=np.array([True, True, False, False, False]))
    squares = [line for line in ax.get_lines() if line.get_marker() == "s"]
    assert len(squares) == 1 and list(squares[0].get_xdata()) == [2.0, 6.0]
    assert f"ICC(A,1) {doc['icc_a1']['value']:.2f}" in _texts(ax)
    assert f"r {doc['pearson']['r']:.2f}" in _texts(ax)
