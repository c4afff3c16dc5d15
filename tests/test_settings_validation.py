"""Each validation rule of the settings layer, with the exact message users see."""

from __future__ import annotations

import pytest

from genesis_cli.errors import ConfigError
from genesis_cli.settings import ExperimentConfig, resolve_config


def problems(*overrides: str) -> list[str]:
    """The error lines for a config built from defaults plus ``--set`` overrides."""
    with pytest.raises(ConfigError) as info:
        resolve_config(overrides=list(overrides))
    assert info.value.exit_code == 2
    return info.value.lines


def one_problem(*overrides: str) -> str:
    lines = problems(*overrides)
    assert len(lines) == 1, lines
    return lines[0]


def test_defaults_validate_and_match_the_guide() -> None:
    config = ExperimentConfig()
    t = config.training
    assert (config.model.architecture, config.model.hidden, config.model.depth, config.model.heads) == ("dit", 512, 8, 8)
    assert (t.learning_rate, t.weight_decay, t.grad_clip_norm, t.optimizer, t.scheduler) == (2e-4, 0.01, 1.0, "AdamW", "cosine")
    # The guide's early-stopping table, verbatim.
    assert t.early_stopping is False
    assert t.early_stopping_patience == 20
    assert t.early_stopping_min_delta == 1e-4
    assert t.early_stopping_mode == "min"
    assert t.early_stopping_baseline is None
    assert t.early_stopping_restore_best is True
    assert t.early_stopping_verbose is True
    assert (config.data.train_ratio, config.data.val_ratio, config.data.test_ratio) == (0.8, 0.1, 0.1)


# --- unknown keys at any depth -------------------------------------------------------------------

def test_unknown_top_level_key_suggests_the_closest() -> None:
    assert one_problem("trainning.num_epochs=3").endswith("trainning: unknown key; did you mean training?")


def test_unknown_key_at_depth_two_names_dotted_path_and_suggestion() -> None:
    line = one_problem("training.early_stoping_patience=5")
    assert line == ("--set training.early_stoping_patience=5: training.early_stoping_patience: "
                    "unknown key; did you mean early_stopping_patience?")


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    line = one_problem("diffusion.zzz=1")
    assert "diffusion.zzz: unknown key; valid keys here: timesteps, beta_schedule" in line


def test_every_section_forbids_unknown_keys() -> None:
    for section in ("model", "diffusion", "data", "training"):
        assert "unknown key" in one_problem(f"{section}.not_a_key=1")


def test_all_problems_are_reported_together() -> None:
    lines = problems("training.batch_size=0", "model.hiden=3", "data.num_workers=-1")
    assert len(lines) == 3


# --- types and ranges ----------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["model.hidden", "model.depth", "model.heads", "diffusion.timesteps",
                                 "training.num_epochs", "training.batch_size", "training.log_interval",
                                 "training.save_interval", "training.eval_interval", "training.step_size"])
def test_sizes_must_be_positive(key: str) -> None:
    assert "input should be greater than 0 (got 0)" in one_problem(f"{key}=0")


def test_wrong_type_names_the_value() -> None:
    assert one_problem("training.num_epochs=many").endswith(
        "training.num_epochs: input should be a valid integer, unable to parse string as an integer (got 'many')")


def test_fractional_integer_is_rejected() -> None:
    assert "training.batch_size" in one_problem("training.batch_size=8.5")


@pytest.mark.parametrize("key", ["data.train_ratio", "training.learning_rate"])
def test_must_be_strictly_positive(key: str) -> None:
    assert "greater than 0" in one_problem(f"{key}=0")


def test_ratios_must_sum_to_one() -> None:
    assert one_problem("data.train_ratio=0.5").endswith(
        "data: train_ratio + val_ratio + test_ratio must be 1 (got 0.5 + 0.1 + 0.1 = 0.7)")


def test_ratios_within_float_tolerance_pass() -> None:
    config = resolve_config(overrides=["data.train_ratio=0.7", "data.val_ratio=0.15",
                                       "data.test_ratio=0.15"]).config
    assert config.data.val_ratio == 0.15


def test_validation_split_may_be_empty() -> None:
    config = resolve_config(overrides=["data.train_ratio=0.9", "data.val_ratio=0"]).config
    assert config.data.val_ratio == 0


def test_ratio_of_one_or_more_for_val_is_rejected() -> None:
    assert "data.val_ratio: input should be less than 1" in problems("data.val_ratio=1")[0]


def test_heads_must_divide_hidden_for_attention_models() -> None:
    assert one_problem("model.heads=6") == (
        "--set model.heads=6: model.heads: 6 must divide hidden (512) for the dit architecture")
    assert "hybrid" in one_problem("model.architecture=hybrid", "model.hidden=100", "model.heads=3")


def test_heads_are_irrelevant_for_convolutional_models() -> None:
    config = resolve_config(overrides=["model.architecture=cnn", "model.hidden=100", "model.heads=3"]).config
    assert config.model.hidden == 100


def test_patience_and_min_delta_must_be_non_negative() -> None:
    assert "greater than or equal to 0" in one_problem("training.early_stopping_patience=-1")
    assert "greater than or equal to 0" in one_problem("training.early_stopping_min_delta=-1e-4")
    assert resolve_config(overrides=["training.early_stopping_patience=0"]).config.training.early_stopping_patience == 0


def test_early_stopping_mode_is_min_or_max() -> None:
    assert one_problem("training.early_stopping_mode=mx").endswith(
        "training.early_stopping_mode: unknown value 'mx'; choose min or max; did you mean max?")


def test_baseline_must_be_finite() -> None:
    assert "training.early_stopping_baseline" in one_problem("training.early_stopping_baseline=.inf")
    assert resolve_config(overrides=["training.early_stopping_baseline=0.5"]).config.training.early_stopping_baseline == 0.5


@pytest.mark.parametrize("value,expected", [("auto", "auto"), ("CPU", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda:1")])
def test_valid_devices(value: str, expected: str) -> None:
    assert resolve_config(overrides=[f"device={value}"]).config.device == expected


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "tpu", "7"])
def test_invalid_devices(value: str) -> None:
    assert "is not a device; use auto, cpu, cuda or cuda:N" in one_problem(f"device={value}")


@pytest.mark.parametrize("name", ["../escape", "a/b", "", " x"])
def test_experiment_name_must_be_a_directory_name(name: str) -> None:
    assert "cannot name a run directory" in one_problem(f"experiment_name='{name}'")


def test_kernels_must_be_odd() -> None:
    assert one_problem("model.kernel_sizes=[3, 4]").endswith(
        "model.kernel_sizes[1]: 4 must be odd, so a convolution keeps the string's length")
    assert "model.kernel_size" in one_problem("model.kernel_size=2")


def test_kernel_list_must_not_be_empty() -> None:
    assert "model.kernel_sizes" in one_problem("model.kernel_sizes=[]")


def test_dropout_and_plateau_factor_ranges() -> None:
    assert "model.dropout" in one_problem("model.dropout=1.0")
    assert "training.plateau_factor" in one_problem("training.plateau_factor=1.5")


def test_beta_schedule_order() -> None:
    assert one_problem("diffusion.beta_start=0.1").endswith(
        "diffusion.beta_start: 0.1 must be smaller than beta_end (0.02)")


def test_unknown_beta_schedule_is_an_error_not_a_fallback() -> None:
    assert one_problem("diffusion.beta_schedule=sigmoid").endswith(
        "unknown beta schedule 'sigmoid'; choose linear or cosine")


# --- choices --------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,given,stored", [
    ("model.architecture", "DiT", "dit"), ("model.fusion", "film", "FiLM"), ("model.fusion", "sum", "SUM"),
    ("training.optimizer", "adamw", "AdamW"), ("training.optimizer", "sgd", "SGD"),
    ("training.scheduler", "Cosine", "cosine"), ("training.scheduler", "null", "none"),
    ("diffusion.prediction_type", "V", "v"),
])
def test_choices_accept_any_casing_and_store_canonical(key: str, given: str, stored: str) -> None:
    section, field = key.split(".")
    config = resolve_config(overrides=[f"{key}={given}"]).config
    assert getattr(getattr(config, section), field) == stored


def test_unknown_architecture_suggests_closest() -> None:
    assert one_problem("model.architecture=resnt").endswith(
        "model.architecture: unknown architecture 'resnt'; choose dit, cnn, mlp, hybrid or resnet; did you mean resnet?")


# --- warmup -----------------------------------------------------------------------------------------

def test_warmup_ratio_takes_precedence_over_steps() -> None:
    resolved = resolve_config(overrides=["training.warmup_steps=500", "training.warmup_ratio=0.04"])
    assert resolved.config.training.effective_warmup_steps(10_000) == 400
    assert any("warmup_ratio=0.04 takes precedence over training.warmup_steps=500" in n
               for n in resolved.notices)


def test_warmup_steps_used_when_ratio_is_zero() -> None:
    training = resolve_config(overrides=["training.warmup_steps=500"]).config.training
    assert training.effective_warmup_steps(10_000) == 500
    assert training.effective_warmup_steps(100) == 100  # never longer than the run


def test_warmup_ratio_range() -> None:
    assert "training.warmup_ratio" in one_problem("training.warmup_ratio=1.5")


# --- the batch size is one value ---------------------------------------------------------------------

def test_data_batch_size_reads_training_batch_size() -> None:
    config = resolve_config(overrides=["training.batch_size=24"]).config
    assert config.data.batch_size == 24
    config.training.batch_size = 12
    assert config.data.batch_size == 12


def test_data_batch_size_may_be_set_instead() -> None:
    config = resolve_config(overrides=["data.batch_size=6"]).config
    assert config.training.batch_size == 6 == config.data.batch_size


def test_conflicting_batch_sizes_in_one_source_are_an_error() -> None:
    assert "data.batch_size (6) and training.batch_size (8) differ" in one_problem(
        "data.batch_size=6", "training.batch_size=8")


def test_assignment_is_validated() -> None:
    config = ExperimentConfig()
    with pytest.raises(ValueError):
        config.training.batch_size = 0


@pytest.mark.parametrize("key", ["training.learning_rate", "diffusion.guidance_scale", "training.weight_decay",
                                 "data.time_scale_ns"])
@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_float_settings_are_finite(key: str, value: str) -> None:
    assert one_problem(f"{key}={value}").startswith(f"--set {key}={value}: {key}: input should be a finite number")


@pytest.mark.parametrize("key", ["training.batch_size", "training.learning_rate", "model.hidden", "training.max_steps"])
def test_booleans_are_not_numbers(key: str) -> None:
    assert one_problem(f"{key}=true").endswith(f"{key}: true is a boolean, not a valid value here (booleans are not numbers)")


def test_booleans_still_set_boolean_keys() -> None:
    config = resolve_config(overrides=["training.use_amp=false", "training.early_stopping=true"]).config
    assert (config.training.use_amp, config.training.early_stopping) == (False, True)


def test_seed_must_fit_numpy() -> None:
    assert one_problem("seed=" + "1" * 25).endswith("seed: input should be less than or equal to 4294967295 (got "
                                                    "1111111111111111111111111)")


def test_run_name_length_is_bounded() -> None:
    assert one_problem("experiment_name=" + "a" * 300).endswith(
        "experiment_name: a run name of 300 characters is too long; use at most 128")
