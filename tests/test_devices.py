"""Every tensor names its device: the class of bug that crashed `genesis sample` on CUDA, caught on a CPU.

Under ``torch.set_default_device("meta")`` a tensor created without a device lands on the meta
device, while everything the commands were given stays on the CPU; mixing the two raises, and
reading a meta tensor's value raises, exactly as a CPU tensor meeting a CUDA tensor does on a GPU.
Models are built before (a module's parameters follow the device it is built on, as nn.Linear's do,
and are then moved); everything that runs afterwards must name its devices: the samplers, a training
run with its validation and checkpoints, sampling to a file, the evaluator and the benchmark's step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from genesis_cli.engine.diffusion.samplers import SAMPLERS
from genesis_cli.engine.models import ModelFactory
from genesis_cli.settings import resolve_config

TINY = ["model.hidden=32", "model.heads=2", "model.depth=1", "diffusion.sampling_steps=3", "diffusion.timesteps=100"]


@contextmanager
def strict_devices() -> Iterator[None]:
    """Tensors made without a device land on ``meta`` until the block ends."""
    previous = torch.get_default_device()
    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device(previous)


def test_the_strict_context_catches_a_tensor_without_a_device() -> None:
    """The fixture itself: the grid `genesis sample` crashed on, made the old way, raises here."""
    schedule = torch.linspace(0.9999, 0.01, 1000, dtype=torch.float64, device="cpu")
    with strict_devices(), pytest.raises((RuntimeError, NotImplementedError)):
        grid = torch.linspace(0.0, 1.0, 5, dtype=torch.float64)  # no device: meta
        [int(t) for t in torch.searchsorted(schedule.flip(0), grid)]


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("variant", [[], ["diffusion.resample_values=true", "diffusion.prediction_type=v"]])
def test_every_sampler_names_its_devices(sampler: str, variant: list[str]) -> None:
    config = resolve_config("debug", overrides=[*TINY, *variant]).config
    torch.manual_seed(0)
    model, diffusion = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device="cpu")
    geometry = torch.rand(3, 5160, device="cpu") * 2 - 1
    labels = torch.rand(2, 6, device="cpu") * 2 - 1
    with strict_devices():
        events = diffusion.sample(labels, geometry, sampler=sampler, steps=3, guidance_scale=2.0,
                                  generator=torch.Generator(device="cpu").manual_seed(1))
    assert events.device.type == "cpu" and bool(torch.isfinite(events).all())


def test_training_sampling_and_evaluation_name_their_devices(toy_file: Path, tmp_path: Path) -> None:
    from genesis_cli.engine.bench.workloads import synthetic_batch
    from genesis_cli.engine.evaluation.report import evaluate_files
    from genesis_cli.engine.sampling.conditions import labels_from_file
    from genesis_cli.engine.sampling.generate import SamplingPlan, sample_to_file
    from genesis_cli.engine.sampling.generator import TrainedGenerator
    from genesis_cli.engine.training import session
    from genesis_cli.engine.training.trainer import Trainer

    config = resolve_config("debug", overrides=[
        *TINY, f"data.h5_path={toy_file}", "experiment_name=strict", f"checkpoint_dir={tmp_path / 'runs'}",
        f"log_dir={tmp_path / 'logs'}", "training.batch_size=8", "training.max_steps=4", "training.eval_interval=2",
        "training.save_interval=2", "training.log_interval=1", "training.max_eval_batches=2"]).config
    run = session.prepare_new_run(config).run_dir
    trainer = Trainer(config, run)
    with strict_devices():
        assert trainer.fit() == "budget"  # steps, validation, EMA, checkpoints, logs
    generator = TrainedGenerator.load(run / "model_best.pt", "cpu")
    plan = SamplingPlan("dpm-solver-sde", 3, 2.0, 16, 0)
    with strict_devices():
        written = sample_to_file(generator, labels_from_file(toy_file).labels[:120], tmp_path / "gen.h5", plan)
        report = evaluate_files(toy_file, written.path)
        x, label = synthetic_batch(2, 5160, torch.device("cpu"), channels=3)
    assert written.events == 120 and np.isfinite(report.summary[0].value)
    assert x.device.type == label.device.type == "cpu"
