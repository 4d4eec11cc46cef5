"""Rule-set objects: names, constants, validation, serialisation."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lmdetect.errors import ConfigError
from lmdetect.scoring import AASM, WASM2016, RuleSet, get_rule_set, rule_set_names


def test_names_and_lookup():
    assert rule_set_names() == ("aasm", "wasm2016")
    assert isinstance(get_rule_set("wasm2016"), WASM2016)
    assert isinstance(get_rule_set("AASM"), AASM)
    assert get_rule_set(WASM2016()) == WASM2016()


def test_unknown_name_lists_the_choices():
    with pytest.raises(ConfigError) as exc:
        get_rule_set("wasm2006")
    assert "'aasm'" in str(exc.value) and "'wasm2016'" in str(exc.value)


def test_wasm2016_constants():
    r = WASM2016()
    assert r.name == "wasm2016"
    assert (r.lm_min_duration_s, r.clm_max_duration_mono_s, r.clm_max_duration_bil_s) == (0.5, 10.0, 15.0)
    assert (r.bilateral_max_mono, r.bilateral_reference, r.bilateral_gap_s) == (4, "offset", 0.5)
    assert (r.imi_min_s, r.imi_max_s, r.min_series_length) == (10.0, 90.0, 4)
    assert r.short_imi_breaks_series is True
    assert (r.respiratory_reference, r.respiratory_before_s, r.respiratory_after_s) == ("end", 2.0, 10.25)
    assert r.respiratory_excludes is False


def test_aasm_constants():
    r = AASM()
    assert r.name == "aasm"
    assert (r.bilateral_reference, r.bilateral_gap_s) == ("onset", 5.0)
    assert (r.imi_min_s, r.imi_max_s, r.min_series_length) == (5.0, 90.0, 4)
    assert r.short_imi_breaks_series is False
    assert (r.respiratory_reference, r.respiratory_before_s, r.respiratory_after_s) == ("event", 0.5, 0.5)
    assert r.respiratory_excludes is True
    assert r.clm_max_duration_bil_s is None and r.bilateral_max_mono is None


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        WASM2016().imi_min_s = 5.0  # type: ignore[misc]


def test_dict_round_trip_and_hash():
    for cls in (WASM2016, AASM):
        r = cls()
        d = r.to_dict()
        json.dumps(d)  # plain JSON types
        assert cls.from_dict(d) == r
        assert cls.from_dict(d).hash() == r.hash()
    assert WASM2016().hash() != AASM().hash()
    assert WASM2016().hash() != WASM2016().replace(imi_max_s=120.0).hash()


def test_overrides_are_validated():
    r = get_rule_set("wasm2016", imi_max_s=120.0)
    assert r.imi_max_s == 120.0 and r.name == "wasm2016"
    with pytest.raises(ConfigError, match="unknown rule parameter"):
        get_rule_set("wasm2016", imi_maximum=120.0)
    with pytest.raises(ConfigError, match="imi_min_s"):
        get_rule_set("wasm2016", imi_min_s=100.0)
    with pytest.raises(ConfigError, match="bilateral_reference"):
        get_rule_set("aasm", bilateral_reference="middle")
    with pytest.raises(ConfigError, match="min_series_length"):
        WASM2016(min_series_length=0)
    with pytest.raises(ConfigError, match="finite"):
        WASM2016(imi_max_s=float("inf"))
    with pytest.raises(ConfigError, match="short_imi_breaks_series"):
        WASM2016(short_imi_breaks_series="yes")  # type: ignore[arg-type]


def test_base_class_holds_no_constants():
    # every field of the base class must be given: the numbers live only in wasm2016.py / aasm.py
    with pytest.raises(TypeError):
        RuleSet()  # type: ignore[call-arg]
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(RuleSet))


def test_score_lms_refuses_a_rule_set_class():
    """The class reads its defaults as attributes, so passing it seemed to work (pipeline did)."""
    import pandas as pd

    from lmdetect.scoring import score_lms

    lms = pd.DataFrame({"onset_s": [0.0, 20.0], "duration_s": [1.0, 1.0], "side": "left", "kind": "lm"})
    with pytest.raises(ConfigError, match="RuleSet instance"):
        score_lms(lms, WASM2016)  # type: ignore[arg-type]
    assert len(score_lms(lms, WASM2016())) == 2


def test_process_night_with_actigraphy_sleep_scores_the_load_with_a_rule_set_instance():
    from lmdetect import Config, process_night
    from tests.synth import add_burst, quiet, recording

    a = quiet(1800.0, 25.0)
    for k in range(6):
        add_burst(a, 25.0, 600.0 + 25.0 * k, 2.0, 0.3)
    result = process_night(recording(a, 25.0), Config(rules="aasm"))
    assert result.summary["rule_set"] == "aasm" and result.summary["sleep_source"] == "actigraphy"
