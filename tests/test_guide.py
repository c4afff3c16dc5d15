"""The user guide's YAML blocks and Advanced Usage API work as printed.

The guide lives beside the project (../shared/spec/TRAINING_GUIDE.md); the block tests skip when it
is absent. The early-stopping blocks are also kept here so they are always checked.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from genesis_cli import load_config_from_file
from tests.conftest import SHARED

GUIDE = SHARED / "spec" / "TRAINING_GUIDE.md"


def guide_yaml_blocks() -> list[str]:
    if not GUIDE.is_file():
        return []
    return re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.skipif(not GUIDE.is_file(), reason="shared/spec/TRAINING_GUIDE.md not present")
def test_the_guide_has_yaml_blocks() -> None:
    assert len(guide_yaml_blocks()) >= 10


@pytest.mark.parametrize("index", range(len(guide_yaml_blocks())))
def test_each_guide_yaml_block_validates(index: int, write_yaml: Callable[..., Path]) -> None:
    block = guide_yaml_blocks()[index]
    config = load_config_from_file(write_yaml(block, f"guide_{index}.yaml"))
    assert config is not None


def test_guide_early_stopping_block(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml("""
        training:
          early_stopping: true
          early_stopping_patience: 20        # Stop after 20 epochs without improvement
          early_stopping_min_delta: 1e-4     # Minimum change to qualify as improvement
          early_stopping_mode: "min"         # "min" for loss, "max" for accuracy
          early_stopping_restore_best: true  # Restore best weights when stopping
          early_stopping_verbose: true       # Print early stopping messages
        """)
    t = load_config_from_file(path).training
    assert t.early_stopping and t.early_stopping_patience == 20 and t.early_stopping_min_delta == 1e-4


def test_guide_plateau_block(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml("""
        training:
          num_epochs: 300
          scheduler: "plateau"
          plateau_patience: 15
          early_stopping: true
          early_stopping_patience: 30  # 2x plateau patience
          early_stopping_min_delta: 1e-5
        """)
    t = load_config_from_file(path).training
    assert (t.scheduler, t.plateau_patience, t.early_stopping_min_delta) == ("plateau", 15, 1e-5)


def test_advanced_usage_snippet_reads_these_attributes() -> None:
    """The guide's custom-loop snippet, with genesis_cli imports, up to the torch parts."""
    config = load_config_from_file("configs/default.yaml")
    assert config.model.architecture == "dit"
    assert config.diffusion.timesteps == 1000
    assert config.data.h5_path is None
    assert config.data.batch_size == config.training.batch_size == 8
    assert config.training.num_epochs == 100


def test_experiment_tracking_keys(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(textwrap.dedent("""
        use_wandb: true
        wandb_project: "icecube-diffusion"
        wandb_entity: "your_username"
        experiment_name: "dit_cosine_annealing_v1"
        """))
    config = load_config_from_file(path)
    assert (config.use_wandb, config.wandb_entity, config.experiment_name) == (
        True, "your_username", "dit_cosine_annealing_v1")
