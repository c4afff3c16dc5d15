"""The event representation: exact no-hit values from the hit channel, and checkpoints written before it.

Generated files must hold exact zeros: a DOM is hit or it is not, never a weak residual of a
continuous output. Checkpoints of schema 1 (before the hit channel, the vertex time origin and the
per-DOM conditioning) must still load and generate exactly what they generated before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from genesis_cli.engine.runs.checkpoint import SCHEMA_1_SETTINGS, SCHEMA_VERSION, load_checkpoint
from genesis_cli.engine.runs.store import FINAL
from genesis_cli.engine.sampling.conditions import labels_from_file
from genesis_cli.engine.sampling.generator import TrainedGenerator
from genesis_cli.engine.training import session
from genesis_cli.engine.training.trainer import Trainer
from genesis_cli.settings import resolve_config

TINY = ["training.batch_size=8", "training.num_epochs=1", "training.max_steps=6", "model.hidden=32",
        "model.heads=2", "model.depth=1", "diffusion.sampling_steps=4"]
ORIGINAL = ["diffusion.hit_channel=false", "diffusion.mask_empty_doms=false", "model.dom_conditioning=false",
            "model.dom_head=0", "data.time_origin=file", "data.time_scale_ns=1"]


def train(toy_file: Path, base: Path, name: str, *settings: str) -> Path:
    config = resolve_config("debug", overrides=[
        f"data.h5_path={toy_file}", f"experiment_name={name}", f"checkpoint_dir={base}", f"log_dir={base / 'logs'}",
        *TINY, *settings]).config
    run_dir = session.prepare_new_run(config).run_dir
    Trainer(config, run_dir).fit()
    return run_dir / FINAL


def generate(path: Path, labels: np.ndarray) -> np.ndarray:
    return TrainedGenerator.load(path, "cpu").generate(labels, sampler="dpm-solver-sde", steps=4, guidance_scale=1.0,
                                                       generator=torch.Generator().manual_seed(0))


def test_the_hit_channel_writes_exact_no_hit_values(toy_file: Path, tmp_path: Path) -> None:
    path = train(toy_file, tmp_path, "hits")
    generator = TrainedGenerator.load(path, "cpu")
    assert generator.normalizer.hit_channel and generator.normalizer.time_origin == "vertex"
    events = generate(path, labels_from_file(toy_file).labels[:6])
    hit = events[:, 0] > 0
    assert np.isinf(events[:, 1][~hit]).all()  # the file's no-hit convention, exactly
    assert (events[:, 0][hit] >= np.float32(generator.normalizer.min_npe)).all()  # no hit dimmer than a real one
    assert np.isfinite(events[:, 1][hit]).all()


@pytest.mark.slow
def test_schema_1_checkpoints_load_and_generate_as_before(toy_file: Path, tmp_path: Path) -> None:
    path = train(toy_file, tmp_path, "original", *ORIGINAL)
    labels = labels_from_file(toy_file).labels[:4]
    state = torch.load(path, weights_only=True)
    state["normalizer"]["time_min_ns"], state["normalizer"]["time_max_ns"] = -np.inf, np.inf  # schema 1 had no window
    unclipped = tmp_path / "unclipped.pt"
    torch.save(state, unclipped)
    before = generate(unclipped, labels)
    for section, keys in SCHEMA_1_SETTINGS.items():  # what a schema-1 file lacks...
        for key in keys:
            del state["config"][section][key]
    normalizer = state["normalizer"]
    for key in ("time_origin", "hit_channel", "min_npe", "npe_mean", "time_scale", "time_min_ns", "time_max_ns"):
        del normalizer[key]
    normalizer["align_time"] = False  # ...and what it had instead
    state["schema_version"] = 1
    old = tmp_path / "schema1.pt"
    torch.save(state, old)
    loaded = load_checkpoint(old)
    assert loaded.schema_version == SCHEMA_VERSION and loaded.settings().diffusion.hit_channel is False
    assert np.array_equal(generate(old, labels), before)


def test_a_checkpoint_from_before_the_sound_judge_is_judged_by_the_current_one(tmp_path: Path) -> None:
    """Its saved evaluation section names keys the judge retired; they are dropped, not an error."""
    from genesis_cli.engine.runs.checkpoint import RunCheckpoint
    from genesis_cli.settings import ExperimentConfig
    from genesis_cli.settings.evaluation import EvaluationConfig

    config = ExperimentConfig().to_dict()
    config["evaluation"].update(classifier_epochs=8, reference_splits=8, auc_noise_sigmas=4.0, auc=[1.0, 0.05, 0.25])
    payload = {"epoch": 1, "global_step": 1, "model_state_dict": {}, "optimizer_state_dict": None, "config": config,
               "schema_version": SCHEMA_VERSION}
    evaluation = RunCheckpoint.from_payload(payload, tmp_path / "old.pt").settings().evaluation
    assert evaluation == EvaluationConfig()  # the current judge's defaults, for the retired and redefined keys
