"""Config files: the YAML number trap, syntax errors, base chains, origins, precedence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from genesis_cli import load_config_from_file
from genesis_cli.errors import ConfigError
from genesis_cli.settings import resolve_config
from genesis_cli.settings.yaml_io import dump_yaml, parse_scalar, parse_yaml

WriteYaml = Callable[..., Path]


def error_lines(source: str | Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        resolve_config(source, **kwargs)  # type: ignore[arg-type]
    return info.value.lines


# --- YAML 1.1 number trap ------------------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("1e-4", 1e-4), ("5e7", 5e7), ("1E+3", 1000.0), ("-2.5e-3", -2.5e-3), ("1.0e-06", 1e-6),
    (".5", 0.5), ("3.", 3.0), (".inf", float("inf")), ("2", 2), ("0x10", 16), ("true", True),
])
def test_scalars_load_as_yaml_1_2_numbers(text: str, value: object) -> None:
    assert parse_scalar(text) == value
    assert type(parse_scalar(text)) is type(value)


def test_strings_that_look_almost_numeric_stay_strings() -> None:
    assert parse_scalar("e5") == "e5"
    assert parse_scalar("1e") == "1e"
    assert parse_scalar("v1.2") == "v1.2"


def test_exponent_floats_in_a_file_become_numbers(write_yaml: WriteYaml) -> None:
    path = write_yaml("""
        training:
          learning_rate: 1e-4
          early_stopping_min_delta: 1e-5
          plateau_min_lr: 1e-6
        """)
    training = load_config_from_file(path).training
    assert (training.learning_rate, training.early_stopping_min_delta, training.plateau_min_lr) == (1e-4, 1e-5, 1e-6)


def test_global_pyyaml_loader_is_untouched() -> None:
    import yaml

    assert yaml.safe_load("x: 1e-4") == {"x": "1e-4"}  # our loader is a private copy


def test_dumped_config_reads_back_identically() -> None:
    config = resolve_config("cnn", overrides=["training.plateau_min_lr=1e-7"]).config
    data, _ = parse_yaml(dump_yaml(config.to_dict()), "dump")
    assert data == config.to_dict()


# --- file errors -----------------------------------------------------------------------------------------

def test_duplicate_keys_are_rejected_with_both_lines(write_yaml: WriteYaml) -> None:
    path = write_yaml("""
        training:
          num_epochs: 3
          num_epochs: 4
        """)
    assert error_lines(path) == [f"{path}:3:3: duplicate key 'num_epochs' (first at line 2)"]


def test_syntax_error_names_line_and_column(write_yaml: WriteYaml) -> None:
    path = write_yaml("training:\n  num_epochs: [1, 2\n")
    (line,) = error_lines(path)
    assert line.startswith(f"{path}:3:1: ")


def test_top_level_must_be_a_mapping(write_yaml: WriteYaml) -> None:
    path = write_yaml("- a\n- b\n")
    assert error_lines(path) == [f"{path}: the top level must be a mapping of keys, not a list"]


def test_section_must_be_a_mapping(write_yaml: WriteYaml) -> None:
    path = write_yaml("training: 5\n")
    (line,) = error_lines(path)
    assert line.startswith(f"{path}:1: training: input should be a valid dictionary")


def test_empty_file_means_defaults(write_yaml: WriteYaml) -> None:
    assert load_config_from_file(write_yaml("# nothing yet\n")).model.architecture == "dit"


def test_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "weights.yaml"
    path.write_bytes(b"\x89HDF\r\n\x1a\n\xff\xfe\x00")
    assert error_lines(path) == [f"{path}: not a text file (cannot decode as UTF-8)"]


def test_errors_point_at_the_line_of_the_key(write_yaml: WriteYaml) -> None:
    path = write_yaml("""
        model:
          architecture: dit
        training:
          num_epochs: 10
          early_stoping_patience: 5
        """)
    assert error_lines(path) == [
        f"{path}:5: training.early_stoping_patience: unknown key; did you mean early_stopping_patience?"]


def test_section_rule_points_at_the_field_line(write_yaml: WriteYaml) -> None:
    path = write_yaml("model:\n  architecture: dit\n  heads: 6\n")
    assert error_lines(path) == [f"{path}:3: model.heads: 6 must divide hidden (512) for the dit architecture"]


def test_misspelt_section_is_reported_at_its_line(write_yaml: WriteYaml) -> None:
    path = write_yaml("seed: 1\ntrainning:\n  num_epochs: 3\n")
    assert error_lines(path) == [f"{path}:2: trainning: unknown key; did you mean training?"]


# --- base chains ------------------------------------------------------------------------------------------

def test_file_can_extend_a_preset(write_yaml: WriteYaml) -> None:
    path = write_yaml("""
        base: cnn
        training:
          learning_rate: 3e-4
        """)
    config = load_config_from_file(path)
    assert (config.model.architecture, config.model.hidden, config.training.num_epochs) == ("cnn", 256, 50)
    assert config.training.learning_rate == 3e-4


def test_base_may_be_a_relative_file_and_chains(write_yaml: WriteYaml) -> None:
    write_yaml("base: hybrid\ntraining:\n  num_epochs: 7\n", "shared/team.yaml")
    path = write_yaml("base: shared/team.yaml\nseed: 3\n", "run.yaml")
    resolved = resolve_config(path)
    assert (resolved.config.model.architecture, resolved.config.training.num_epochs, resolved.config.seed) == ("hybrid", 7, 3)
    assert [p.name for p in resolved.sources] == ["hybrid.yaml", "team.yaml", "run.yaml"]


def test_base_cycle_is_an_error(write_yaml: WriteYaml) -> None:
    write_yaml("base: b.yaml\n", "a.yaml")
    b = write_yaml("base: a.yaml\n", "b.yaml")
    (line,) = error_lines(b)
    assert "base chain loops" in line


def test_unknown_base_suggests_a_preset(write_yaml: WriteYaml) -> None:
    path = write_yaml("base: cnnn\n")
    (line,) = error_lines(path)
    assert line == "'cnnn' is neither a config file nor a preset; did you mean cnn?"


def test_base_must_be_a_name(write_yaml: WriteYaml) -> None:
    path = write_yaml("base: [cnn]\n")
    (line,) = error_lines(path)
    assert line == f"{path}:1: base must be a preset name or a YAML path, not ['cnn']"


# --- precedence: defaults < preset/file < flags < --set -------------------------------------------------

def test_precedence_order(write_yaml: WriteYaml) -> None:
    path = write_yaml("""
        base: cnn                 # cnn preset: 50 epochs, batch 16, plateau
        training:
          num_epochs: 20          # file beats preset
          batch_size: 4
          learning_rate: 1e-3
        """)
    resolved = resolve_config(
        path,
        flags={"training.batch_size": 32, "training.learning_rate": 5e-4, "seed": None},
        flag_names={"training.batch_size": "--batch-size"},
        overrides=["training.learning_rate=3e-4"],
    )
    t = resolved.config.training
    assert t.weight_decay == 0.01  # default survives
    assert t.scheduler == "plateau"  # from the preset
    assert t.num_epochs == 20  # file beats preset
    assert t.batch_size == 32  # flag beats file
    assert t.learning_rate == 3e-4  # --set beats flag
    assert resolved.config.seed == 42  # a flag left at None is not applied
    assert resolved.origins["training.batch_size"] == "--batch-size"
    assert resolved.origins["training.num_epochs"] == f"{path}:3"


def test_flag_errors_name_the_flag() -> None:
    assert error_lines(None, flags={"training.batch_size": 0},
                       flag_names={"training.batch_size": "--batch-size"}) == [
        "--batch-size: training.batch_size: input should be greater than 0 (got 0)"]


def test_set_values_parse_as_yaml() -> None:
    config = resolve_config(overrides=["model.kernel_sizes=[3, 5]", "training.early_stopping=yes",
                                       "data.h5_path=/data/events.h5", "wandb_entity=null"]).config
    assert config.model.kernel_sizes == [3, 5]
    assert config.training.early_stopping is True
    assert str(config.data.h5_path) == "/data/events.h5"
    assert config.wandb_entity is None


@pytest.mark.parametrize("bad", ["foo", "=3", "training..lr=3", ".x=1"])
def test_malformed_set_is_an_error(bad: str) -> None:
    (line,) = error_lines(None, overrides=[bad])
    assert line == f"--set {bad!r}: expected KEY=VALUE with a dotted key"


def test_set_into_a_value_is_an_error() -> None:
    (line,) = error_lines(None, overrides=["seed=1", "seed.x=2"])
    assert line == "--set seed.x=2: seed is a value, not a section, so seed.x cannot be set"


def test_later_set_wins() -> None:
    config = resolve_config(overrides=["seed=1", "seed=2"]).config
    assert config.seed == 2
