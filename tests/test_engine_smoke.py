"""A tiny model trained briefly on simulated events: samples and a checkpointable state."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from genesis_cli import ModelFactory, make_dataloader
from genesis_cli.engine.ema import EMA
from genesis_cli.settings import resolve_config


def test_train_sample_and_checkpoint(toy_file: Path) -> None:
    torch.manual_seed(0)
    config = resolve_config("debug", overrides=["model.hidden=32", "model.heads=2", "model.depth=1",
                                                "diffusion.timesteps=100"]).config
    loader = make_dataloader(toy_file, batch_size=8, config=config)
    geometry = loader.geometry
    model, diffusion = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, geometry=geometry)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ema = EMA(model, config.training.ema_decay)
    losses = []
    for step, (x_sig, geom, label, _) in enumerate(loader):
        loss = diffusion.loss(x_sig, geom, label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update(model)
        losses.append(loss.item())
        if step == 19:
            break
    assert all(np.isfinite(losses))

    labels = next(iter(make_dataloader(toy_file, batch_size=4, split="test", config=config)))[2]
    with ema.applied(model):
        generated = diffusion.sample(labels, geometry, sampler="dpm-solver", steps=5,
                                     generator=torch.Generator().manual_seed(0))
    assert generated.shape == (4, 3, 5160) and torch.isfinite(generated).all()
    test_labels = loader.normalizer.inverse_labels(labels.numpy())
    physical = loader.normalizer.inverse_signals(generated.numpy(), test_labels, loader.file.geometry.positions)
    assert physical.shape == (4, 2, 5160)
    assert np.isfinite(physical[:, 0]).all() and (physical[:, 0] >= 0).all()
    hit = physical[:, 0] > 0
    assert np.isfinite(physical[:, 1][hit]).all() and np.isinf(physical[:, 1][~hit]).all()

    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
                "normalizer": loader.normalizer.state_dict(), "split": loader.split.record()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    restored, _ = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, geometry=geometry)
    restored.load_state_dict(state["model"])
    restored_ema = EMA(restored, config.training.ema_decay)
    restored_ema.load_state_dict(state["ema"])
    x_sig, geom, label, _ = next(iter(loader))
    t = torch.full((x_sig.shape[0],), 50)
    assert torch.equal(model(x_sig, t, label, geom), restored(x_sig, t, label, geom))
    assert restored_ema.updates == 20
    assert all(torch.equal(ema.shadow[k], restored_ema.shadow[k]) for k in ema.shadow)


def test_ema_warms_up_then_settles() -> None:
    model = torch.nn.Linear(2, 2)
    ema = EMA(model, decay=0.999)
    assert ema.current_decay() == 0.1  # (1 + 0) / (10 + 0)
    for _ in range(10_000):
        ema.updates += 1
    assert ema.current_decay() == 0.999
