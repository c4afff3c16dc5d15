"""Checkpoint writes off the training thread: the loop pays for a copy to host memory, not for the disk.

A default DiT's checkpoint (weights, EMA and AdamW state) is ~650 MB; written at every epoch end (and
again as the best one) it cost the GPU run of issue 22 half its speed on short epochs. The writer takes
a consistent snapshot on the caller's thread (every tensor copied to host memory, through pinned
buffers from a GPU, with one synchronisation), checks it for non-finite weights there (so a diverged
run stops at the same step as before), and writes it on one background thread, atomically as ever.

At most one snapshot is being written while training goes on: a new save first waits for the
previous one (bounded host memory, and the files appear in the order they were saved). A write that
fails raises its error at the next save or at ``wait()``, which the trainer calls before it returns
or re-raises, so no run ends with a write in flight.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import torch

from genesis_cli.engine.runs.checkpoint import RunCheckpoint
from genesis_cli.engine.runs.store import CheckpointStore


def on_host(value: Any) -> Any:
    """``value`` with every tensor copied to host memory (nested dicts, lists and tuples followed).

    Device tensors go through pinned buffers without blocking; call :func:`torch.cuda.synchronize`
    before reading them (:meth:`CheckpointWriter.snapshot` does)."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if tensor.device.type == "cuda":
            return torch.empty_like(tensor, device="cpu", pin_memory=True).copy_(tensor, non_blocking=True)
        return tensor.to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: on_host(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(on_host(item) for item in value)
    return value


class CheckpointWriter:
    """Writes a run's checkpoints through ``store`` on a background thread."""

    def __init__(self, store: CheckpointStore) -> None:
        self.store = store
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def snapshot(self, checkpoint: RunCheckpoint) -> RunCheckpoint:
        """``checkpoint`` with every tensor in host memory, consistent as of now."""
        host = replace(checkpoint, **{name: on_host(getattr(checkpoint, name)) for name in (
            "model_state_dict", "optimizer_state_dict", "ema_state_dict", "scaler_state_dict", "rng_state",
            "loss_generator_state", "geometry")})
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
        return host

    def save(self, jobs: list[tuple[str, RunCheckpoint, int]]) -> None:
        """Write each ``(kind, host checkpoint, epoch)``: kind 'regular' (as model_epoch_<epoch>.pt), 'best'
        or 'final'. The checkpoints must be snapshots (``snapshot``); their weights are checked here."""
        self.wait()
        for kind, checkpoint, epoch in jobs:
            self.store.check_finite(checkpoint, self.store.name(kind, epoch))
        self._thread = threading.Thread(target=self._run, args=(jobs,), name="genesis-checkpoint-writer")
        self._thread.start()

    def wait(self) -> None:
        """Block until the write in flight is done; raise its error if it failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self, jobs: list[tuple[str, RunCheckpoint, int]]) -> None:
        try:
            for kind, checkpoint, epoch in jobs:
                self.store.write(kind, checkpoint, epoch)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the training thread by wait()
            self._error = exc
