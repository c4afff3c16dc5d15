"""The built-in presets: present, valid, sized as the guide says, and resolvable by guide paths."""

from __future__ import annotations

import pytest

from genesis_cli.errors import ConfigError
from genesis_cli.settings import ExperimentConfig, preset_names, resolve_config
from genesis_cli.settings.catalog import preset_catalog

# name: (architecture, hidden, depth, heads or None, epochs, batch) — the guide and issue #2, plus
# cpu, the recommended preset without a GPU (issue 11), and gpu, the default DiT budgeted for a GPU (issue 25).
EXPECTED = {
    "default": ("dit", 512, 8, 8, 100, 8),
    "cnn": ("cnn", 256, 6, None, 50, 16),
    "hybrid": ("hybrid", 384, 6, 6, 50, 12),
    "small_model": ("dit", 256, 4, 4, 10, 16),
    "debug": ("dit", 128, 2, 2, 2, 2),
    "mlp": ("mlp", None, None, None, None, None),
    "resnet": ("resnet", None, None, None, None, None),
    "cpu": ("dit", 128, 2, 2, 20, 32),
    "gpu": ("dit", 512, 8, 8, 1000, 1024),
}


def test_exactly_the_nine_presets_ship() -> None:
    assert sorted(preset_names()) == sorted(EXPECTED)
    assert preset_names()[0] == "default"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_validates_with_the_guide_sizes(name: str) -> None:
    resolved = resolve_config(name)
    config = resolved.config
    assert resolved.notices == []
    architecture, hidden, depth, heads, epochs, batch = EXPECTED[name]
    actual = (config.model.architecture, config.model.hidden, config.model.depth, config.model.heads,
              config.training.num_epochs, config.training.batch_size)
    for want, got in zip(EXPECTED[name], actual):
        if want is not None:
            assert got == want, (name, actual)
    assert config.description, f"preset {name} needs a one-line description"
    assert config.experiment_name == name


def test_cnn_preset_has_the_guide_kernels() -> None:
    assert resolve_config("cnn").config.model.kernel_sizes == [3, 5, 7, 9]


def test_default_preset_equals_the_model_defaults() -> None:
    """The settings models are the single source of truth: the default preset only restates them."""
    preset = resolve_config("default").config.to_dict()
    defaults = ExperimentConfig().to_dict()
    for key in ("description", "experiment_name"):
        preset.pop(key), defaults.pop(key)
    assert preset == defaults


def test_dit_is_another_name_for_default() -> None:
    assert resolve_config("dit").config == resolve_config("default").config


@pytest.mark.parametrize("spec", ["configs/cnn.yaml", "configs/CNN.yml", "./configs/cnn.yaml"])
def test_missing_guide_path_falls_back_to_the_preset_with_a_notice(spec: str) -> None:
    resolved = resolve_config(spec)
    assert resolved.config.model.architecture == "cnn"
    assert resolved.notices == [f"{spec} not found; using the built-in preset 'cnn'"]


def test_existing_file_wins_over_a_preset_name(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "cnn.yaml").write_text("model:\n  architecture: mlp\n")
    monkeypatch.chdir(tmp_path)
    resolved = resolve_config("configs/cnn.yaml")
    assert resolved.config.model.architecture == "mlp"
    assert resolved.notices == []


def test_preset_names_are_case_insensitive() -> None:
    assert resolve_config("Small_Model").config.model.hidden == 256


def test_missing_path_without_matching_preset_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config("configs/nothing.yaml")
    assert info.value.lines == ["config file 'configs/nothing.yaml' not found, and no preset is named 'nothing'"]
    assert "small_model" in (info.value.hint or "")


def test_catalog_summarises_each_preset() -> None:
    catalog = {p.name: p for p in preset_catalog()}
    assert catalog["default"].aliases == ("dit",)
    assert catalog["cnn"].heads is None and catalog["cnn"].kernel_sizes == (3, 5, 7, 9)
    assert catalog["hybrid"].heads == 6


def test_the_gpu_preset_is_the_default_dit_scaled_for_large_batches_and_budgeted() -> None:
    gpu, default = resolve_config("gpu").config, resolve_config("default").config
    assert gpu.model == default.model  # the same network: only the recipe differs
    t = gpu.training
    assert t.compile is True and t.time_budget == 8 * 60 and t.scheduler == "cosine"
    assert t.learning_rate > default.training.learning_rate and t.warmup_steps < default.training.warmup_steps
