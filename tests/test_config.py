import dataclasses

import pytest

from lmdetect.config import Config, dump_config_toml, load_config
from lmdetect.errors import ConfigError


def test_toml_round_trip_and_hash_stability(tmp_path):
    cfg = Config(rules="aasm").replace(detect=Config().detect.replace(on_min_mg=12.0))
    p = tmp_path / "c.toml"
    p.write_text(dump_config_toml(cfg))
    back = load_config(p)
    assert back == cfg
    assert back.hash() == cfg.hash()
    assert Config().hash() != cfg.hash()


def test_unknown_keys_and_bad_values_name_the_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('rules = "wasm2016"\n[detect]\non_min_mgg = 3\n')
    with pytest.raises(ConfigError, match="bad.toml.*on_min_mgg"):
        load_config(p)
    p.write_text('rules = "rk1968"\n')
    with pytest.raises(ConfigError, match="valid choices"):
        load_config(p)
    p.write_text("[detect]\non_min_mg = 1.0\noff_min_mg = 5.0\n")
    with pytest.raises(ConfigError, match="offset threshold"):
        load_config(p)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().rules = "aasm"  # type: ignore[misc]
