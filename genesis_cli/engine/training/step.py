"""One optimisation step — the hot loop that `genesis train` runs and `genesis bench` times.

Kept in one place so the benchmark measures exactly what training does: autocast (bf16, or fp16
with a gradient scaler where bf16 is missing), the optionally torch.compile'd model with an eager
fallback, gradient clipping, the (fused on CUDA) optimizer and the EMA update. Nothing here reads a
value back to the host: the returned loss and gradient norm stay on the device until the caller
decides to look (the trainer does so only at log, eval and save points).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from genesis_cli.engine.diffusion import GaussianDiffusion
from genesis_cli.engine.ema import EMA
from genesis_cli.engine.runtime.compilation import compile_failure, compile_wanted
from genesis_cli.engine.runtime.phases import NoClock, PhaseClock
from genesis_cli.engine.runtime.precision import autocast, autocast_dtype, precision_name
from genesis_cli.settings import ExperimentConfig


def compile_enabled(config: ExperimentConfig, device: torch.device) -> bool:
    """training.compile, where null means: on for CUDA, off on CPU."""
    return compile_wanted(config.training.compile, device)


class TrainStep:
    """``step(x, geometry, label, lr, generator) -> (loss, grad_norm)``, both 0-d device tensors.

    ``diffusion`` computes the loss (it may wrap a DDP model); ``model`` owns the parameters that are
    clipped, optimised and averaged. Messages (a compilation failure) go to ``on_message``; those
    raised before a listener is attached wait in ``pending``. ``clock`` times the forward pass, the
    backward pass and the optimizer (with clipping and the EMA) when the caller sets one (phases.py).
    """

    def __init__(self, config: ExperimentConfig, diffusion: GaussianDiffusion, model: torch.nn.Module,
                 optimizer: torch.optim.Optimizer, ema: EMA | None, device: torch.device) -> None:
        t = config.training
        self.model, self.optimizer, self.ema, self.device = model, optimizer, ema, device
        self.clip = t.grad_clip_norm if t.grad_clip_norm > 0 else math.inf
        self.amp = autocast_dtype(config, device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == torch.float16)
        self.eager = diffusion
        self.diffusion = diffusion
        self.pending: list[str] = []
        self.on_message: Callable[[str], None] = self.pending.append
        self.clock: PhaseClock = NoClock()
        self.compiling = compile_enabled(config, device)
        if self.compiling:
            try:
                compiled = torch.compile(diffusion.model, mode=t.compile_mode, backend=t.compile_backend)
                self.diffusion = diffusion.with_model(compiled).to(device)  # the user's loss class too
            except Exception as exc:  # noqa: BLE001 - an unusable backend or mode
                self.compiling = False
                self.on_message(compile_failure(exc))

    def attach(self, on_message: Callable[[str], None]) -> None:
        """Send messages to ``on_message`` from now on, starting with any that are waiting."""
        for message in self.pending:
            on_message(message)
        self.pending.clear()
        self.on_message = on_message

    def loss(self, x: torch.Tensor, geometry: torch.Tensor, label: torch.Tensor,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """The training loss; if torch.compile fails on its first use, say so and go on eagerly."""
        state = generator.get_state() if generator is not None else None
        try:
            with autocast(self.device, self.amp):
                return self.diffusion.loss(x, geometry, label, generator=generator)
        except Exception as exc:  # noqa: BLE001 - compiler errors come in many types
            if self.diffusion is self.eager:
                raise
            self.on_message(compile_failure(exc))
            self.diffusion, self.compiling = self.eager, False
            if generator is not None and state is not None:
                generator.set_state(state)  # the failed attempt must not consume noise
            with autocast(self.device, self.amp):
                return self.diffusion.loss(x, geometry, label, generator=generator)

    def __call__(self, x: torch.Tensor, geometry: torch.Tensor, label: torch.Tensor, lr: float,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with self.clock.phase("forward"):
            loss = self.loss(x, geometry, label, generator)
        with self.clock.phase("backward"):
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
        with self.clock.phase("optimizer"):
            self.scaler.unscale_(self.optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.ema is not None:
                self.ema.update(self.model)
        return loss.detach(), grad_norm.detach()

    @property
    def description(self) -> str:
        """What the step runs, for reports: precision and compilation."""
        return f"{precision_name(self.amp) or 'fp32'}, {'compiled' if self.compiling else 'eager'}"
