"""Everything a training run is made of, built from the settings (and a checkpoint on resume)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.data.loader import EventLoader, default_memory_budget, fit_normalizer
from genesis_cli.engine.data.normalization import Normalizer
from genesis_cli.engine.data.splits import DataSplit, make_split
from genesis_cli.engine.device import resolve_device
from genesis_cli.engine.diffusion import GaussianDiffusion
from genesis_cli.engine.training.distributed import Distributed
from genesis_cli.engine.models import ModelFactory
from genesis_cli.errors import UsageError
from genesis_cli.settings import ExperimentConfig


@dataclass
class DataBundle:
    file: EventFile
    split: DataSplit
    normalizer: Normalizer
    train: EventLoader
    val: EventLoader | None


def build_data(config: ExperimentConfig, normalizer: Normalizer | None, dist: Distributed) -> DataBundle:
    """Event file, split, normalisation (fitted on train unless restored) and loaders."""
    if config.data.h5_path is None:
        raise UsageError("no training data: data.h5_path is not set", hint="pass --data-path FILE.h5")
    data = config.data
    file = EventFile(config.data.h5_path)
    split = make_split(file.n_events, (data.train_ratio, data.val_ratio, data.test_ratio), config.seed)
    normalizer = normalizer or fit_normalizer(file, split, config)
    budget = data.memory_budget_gb * 2**30 if data.memory_budget_gb is not None else default_memory_budget()
    common = {"memory_budget_bytes": budget / dist.world, "num_workers": data.num_workers,
              "shuffle_buffer": data.shuffle_buffer_events, "seed": config.seed, "shard": (dist.rank, dist.world),
              "pin_memory": torch.cuda.is_available()}
    batch = config.training.batch_size
    train = EventLoader(file, split, "train", normalizer, batch, shuffle=True, drop_last=False, **common)
    if len(train.indices) == 0:
        raise UsageError(f"{file.path}: the training split of this rank is empty",
                         hint="use a larger file or fewer processes")
    val = None
    if len(split.val) >= dist.world:
        val = EventLoader(file, split, "val", normalizer, batch, shuffle=False, **common)
    return DataBundle(file, split, normalizer, train, val)


def build_model(config: ExperimentConfig, data: DataBundle, device: torch.device) -> tuple[nn.Module, GaussianDiffusion]:
    return ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device=device,
                                                   geometry=data.file.geometry)


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


def training_device(config: ExperimentConfig, dist: Distributed) -> torch.device:
    device = resolve_device(config.device)
    if dist.world > 1 and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    return device


def autocast_dtype(config: ExperimentConfig, device: torch.device) -> torch.dtype | None:
    """training.amp_dtype on GPUs (auto: bf16 where supported, fp16 otherwise); None (full precision) on CPU
    or with use_amp off. fp16 needs the gradient scaler (training/step.py); bf16 has fp32's range and does not."""
    t = config.training
    if not t.use_amp or device.type != "cuda":
        return None
    if t.amp_dtype == "fp16" or (t.amp_dtype == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def precision_name(dtype: torch.dtype | None) -> str | None:
    """'bfloat16' or 'float16' for reports; None for full precision."""
    return str(dtype).replace("torch.", "") if dtype is not None else None


def autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager[object]:
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
