"""What a training run is made of, built from the settings: the data (file, split, normalisation, loaders),
the model with its diffusion, and the optimizer. Device and precision are decided in engine/runtime/."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.data.loader import EventLoader, default_memory_budget, fit_statistics
from genesis_cli.engine.data.normalization import Normalizer
from genesis_cli.engine.data.splits import DataSplit, split_of
from genesis_cli.engine.detector.dark_noise import DarkNoise
from genesis_cli.engine.diffusion import GaussianDiffusion
from genesis_cli.engine.diffusion.custom import diffusion_class
from genesis_cli.engine.distill.consistency import ConsistencyDistillation
from genesis_cli.engine.distill.teacher import check_detector, load_teacher
from genesis_cli.engine.ema import EMA
from genesis_cli.engine.models import ModelFactory
from genesis_cli.engine.runtime.distributed import Distributed
from genesis_cli.engine.training.step import TrainStep
from genesis_cli.errors import UsageError
from genesis_cli.settings import ExperimentConfig


@dataclass
class DataBundle:
    file: EventFile
    split: DataSplit
    normalizer: Normalizer
    train: EventLoader
    val: EventLoader | None
    dark_noise: DarkNoise | None = None  # data.dark_noise: measured; sampling adds it


def build_data(config: ExperimentConfig, normalizer: Normalizer | None, dist: Distributed,
               dark_noise: DarkNoise | None = None) -> DataBundle:
    """Event file, split, normalisation and dark noise (fitted on train unless restored) and loaders."""
    if config.data.h5_path is None:
        raise UsageError("no training data: data.h5_path is not set", hint="pass --data-path FILE.h5")
    data = config.data
    file = EventFile(config.data.h5_path)
    split = split_of(config, file.n_events)
    normalizer, dark_noise = fit_statistics(file, split, config, normalizer, dark_noise)
    light = data.dark_noise == "measured"
    if light and dark_noise is None:
        raise UsageError(f"{file.path}: data.dark_noise: measured, but no training event has a hit of >= 2.5 PE "
                         "to time its light by", hint="set data.dark_noise: learned")
    budget = data.memory_budget_gb * 2**30 if data.memory_budget_gb is not None else default_memory_budget()
    common = {"memory_budget_bytes": budget / dist.world, "num_workers": data.num_workers,
              "shuffle_buffer": data.shuffle_buffer_events, "seed": config.seed, "shard": (dist.rank, dist.world),
              "pin_memory": torch.cuda.is_available(), "light": light}
    batch = config.training.batch_size
    train = EventLoader(file, split, "train", normalizer, batch, shuffle=True, drop_last=False, **common)
    if len(train.indices) == 0:
        raise UsageError(f"{file.path}: the training split of this rank is empty",
                         hint="use a larger file or fewer processes")
    val = None
    if len(split.val) >= dist.world:
        val = EventLoader(file, split, "val", normalizer, batch, shuffle=False, **common)
    return DataBundle(file, split, normalizer, train, val, dark_noise if light else None)


def build_optimizer(config: ExperimentConfig, model: nn.Module, device: torch.device, *,
                    fused: bool | None = None) -> torch.optim.Optimizer:
    """The configured optimizer; AdamW is fused (one kernel for all parameters) on CUDA unless ``fused=False``."""
    t = config.training
    params = list(model.parameters())
    if t.optimizer == "AdamW":
        return torch.optim.AdamW(params, lr=t.learning_rate, weight_decay=t.weight_decay,
                                 fused=device.type == "cuda" if fused is None else fused)
    if t.optimizer == "Adam":
        return torch.optim.Adam(params, lr=t.learning_rate, weight_decay=t.weight_decay)
    return torch.optim.SGD(params, lr=t.learning_rate, weight_decay=t.weight_decay, momentum=0.9)


@dataclass
class TrainingParts:
    """The pieces a trainer drives. ``diffusion`` wraps the plain model (evaluation, sampling);
    ``step`` trains through DDP when the launch has several processes."""

    data: DataBundle
    model: nn.Module
    diffusion: GaussianDiffusion
    optimizer: torch.optim.Optimizer
    ema: EMA
    step: TrainStep
    geometry: torch.Tensor  # (3, L) normalised DOM positions on the device


def build_parts(config: ExperimentConfig, dist: Distributed, device: torch.device,
                normalizer: Normalizer | None, dark_noise: DarkNoise | None = None) -> TrainingParts:
    """Data, model, diffusion, optimizer, EMA and the training step of ``config`` on ``device`` (with a
    resumed run's normalisation and dark noise). A student (``distill.teacher`` set) starts from its
    teacher's EMA weights, normalisation and dark noise, and trains on the distillation objective."""
    teacher = load_teacher(config, device) if config.distill.is_student else None
    if teacher is not None and normalizer is None:
        normalizer, dark_noise = teacher.normalizer, teacher.dark_noise
    data = build_data(config, normalizer, dist, dark_noise)
    model = ModelFactory.create_model(config.model, device=device, geometry=data.file.geometry,
                                      channels=config.diffusion.event_channels)
    if teacher is not None:
        check_detector(teacher, data.file.geometry.positions, data.file.path)
        model.load_state_dict(teacher.diffusion.model.state_dict())  # a resumed student's weights replace these
        diffusion: GaussianDiffusion = ConsistencyDistillation(model, config.diffusion, teacher.diffusion,
                                                               config.distill)
    else:
        diffusion = diffusion_class(config.diffusion)(model, config.diffusion)  # or the user's diffusion.loss_class
    diffusion = train_diffusion = diffusion.to(device)
    optimizer = build_optimizer(config, model, device)
    if dist.world > 1:  # gradients synchronised through DDP; evaluation uses the plain model
        wrapped = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
        train_diffusion = diffusion.with_model(wrapped).to(device)
    ema = EMA(model, config.training.ema_decay)  # after DDP's broadcast: every rank starts from the same weights
    step = TrainStep(config, train_diffusion, model, optimizer, ema, device)
    return TrainingParts(data, model, diffusion, optimizer, ema, step, data.train.geometry.to(device))
