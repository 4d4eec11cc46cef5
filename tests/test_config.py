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


def test_building_and_hashing_a_config_imports_no_numerical_library():
    # `lmdetect --help`, batch's main process and config checks must not wait for scipy/pandas
    import subprocess
    import sys

    code = ("import sys\nfrom lmdetect.config import Config\nConfig().hash()\n"
            "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_stage_parameters_keep_their_old_import_names():
    from lmdetect.detect import VibrationParams as from_package
    from lmdetect.detect.params import VibrationParams
    from lmdetect.detect.vibration import VibrationParams as from_stage
    from lmdetect.preprocessing import LineRemovalParams as lines_from_package
    from lmdetect.preprocessing.lines import LineRemovalParams as lines_from_stage
    from lmdetect.preprocessing.nonwear import NonwearParams as nonwear_from_stage
    from lmdetect.preprocessing.params import LineRemovalParams, NonwearParams

    assert from_package is from_stage is VibrationParams
    assert lines_from_package is lines_from_stage is LineRemovalParams
    assert nonwear_from_stage is NonwearParams
    assert Config().vibration == VibrationParams() and Config().lines == LineRemovalParams()
