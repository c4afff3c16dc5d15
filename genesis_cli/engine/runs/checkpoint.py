"""A run's checkpoint: the typed state the trainer writes and sampling, compare and the CLI read.

On disk a checkpoint stays plain data (tensors, numbers, strings, lists and dicts under the guide's
keys: epoch, global_step, model_state_dict, optimizer_state_dict, scheduler_state_dict, best_loss,
config, plus the ones below), so it loads with ``torch.load(weights_only=True)`` in any tool. In
code it is a :class:`RunCheckpoint`, read by attribute: its fields are the file's keys, so this
module is the only place that knows them. Older schemas are upgraded on loading.

No checkpoint holds non-finite weights: the store refuses to write one (a diverged run stops with
its last good checkpoint intact) and loading refuses one written before that rule. Writes are
atomic and durable (engine/atomic_files.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from genesis_cli.engine.atomic_files import write_atomic
from genesis_cli.errors import GenesisError, UsageError
from genesis_cli.settings import ExperimentConfig
from genesis_cli.settings.evaluation import drop_retired
from genesis_cli.settings.messages import validate

if TYPE_CHECKING:
    from genesis_cli.engine.data.normalization import Normalizer
    from genesis_cli.engine.detector.dark_noise import DarkNoise

SCHEMA_VERSION = 2
#: Settings that schema 2 added, with the values that reproduce a schema-1 checkpoint's model:
#: the original representation (no hit channel, thresholded npe, times from the file's earliest hit)
#: and no per-DOM conditioning. A schema-1 checkpoint's config gets them where it lacks them.
SCHEMA_1_SETTINGS = {"diffusion": {"hit_channel": False, "mask_empty_doms": False, "empty_dom_values": "zero",
                                   "hit_parametrization": "value"},
                     "model": {"dom_conditioning": False, "dom_head": 0},
                     "data": {"time_origin": "file", "time_scale_ns": 1.0}}
REQUIRED_KEYS = ("epoch", "global_step", "model_state_dict", "optimizer_state_dict", "config", "schema_version")
#: What a checkpoint needs beyond REQUIRED_KEYS to generate events, and to resume training.
FOR_SAMPLING = ("model_state_dict", "ema_state_dict", "normalizer", "geometry")
FOR_RESUMING = (*FOR_SAMPLING, "split", "rng_state", "loss_generator_state", "epoch_loss", "scheduler_state_dict",
                "scaler_state_dict", "batch_in_epoch")
SAVE_HINT = "free disk space or choose a writable checkpoint_dir; earlier checkpoints are intact"


class CheckpointMismatch(UsageError):
    """A checkpoint whose weights do not fit the model its own config describes, or that lacks a part."""


class NonFiniteWeights(GenesisError):
    """Weights became NaN or infinite: the checkpoint is not written."""


@dataclass
class RunCheckpoint:
    """A training run at one step. Field names are the file's keys; None means the file lacks that part."""

    epoch: int  # epochs completed (an interrupted epoch is resumed at batch_in_epoch)
    global_step: int
    model_state_dict: dict[str, torch.Tensor]
    optimizer_state_dict: dict[str, Any] | None  # None: left out (training.save_optimizer_in_best: false)
    config: dict[str, Any]  # the run's settings as plain data (see :meth:`settings`)
    schema_version: int = SCHEMA_VERSION
    genesis_version: str | None = None
    batch_in_epoch: int | None = None
    scheduler_state_dict: dict[str, Any] | None = None  # {"name", "plateau", "total_steps", "steps_per_epoch"}
    best_loss: float | None = None
    ema_state_dict: dict[str, Any] | None = None
    scaler_state_dict: dict[str, Any] | None = None
    early_stopping_state: dict[str, Any] | None = None
    rng_state: dict[str, Any] | None = None
    loss_generator_state: torch.Tensor | None = None
    epoch_loss: list[float] | None = None  # [sum of the open epoch's losses, its batches]
    training_seconds: float = 0.0  # training time of the whole run, across resumes
    normalizer: dict[str, Any] | None = None
    split: dict[str, Any] | None = None  # DataSplit.record(): sizes, fingerprint
    geometry: torch.Tensor | None = None  # (3, L) physical DOM positions in metres
    records: dict[str, Any] | None = None  # positions in the run's log files (runs/records.py)
    dark_noise: dict[str, Any] | None = None  # DarkNoise.state_dict(): data.dark_noise measured

    # -- plain data, both ways --------------------------------------------------------------------
    def to_payload(self) -> dict[str, Any]:
        """The file's contents (no copies: tensors are shared with this object)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any], path: Path) -> RunCheckpoint:
        """A loaded file's contents, validated and upgraded to the current schema."""
        if not isinstance(payload, dict) or any(key not in payload for key in REQUIRED_KEYS):
            raise UsageError(f"{path}: not a GENESIS checkpoint (required keys missing)")
        if payload["schema_version"] > SCHEMA_VERSION:
            raise UsageError(f"{path}: written by a newer GENESIS (schema {payload['schema_version']})",
                             hint="upgrade genesis to read it")
        known = {f.name for f in fields(cls)}
        checkpoint = cls(**{key: value for key, value in _upgrade(payload).items() if key in known})
        bad = checkpoint.first_nonfinite()
        if bad is not None:
            raise UsageError(f"{path}: {bad} holds NaN or infinite weights; this checkpoint cannot be used",
                             hint="the run had diverged when it was written; use an earlier checkpoint of the run")
        return checkpoint

    # -- what it can be used for --------------------------------------------------------------------
    def require(self, keys: tuple[str, ...], path: Path, purpose: str) -> None:
        """Refuse a checkpoint that lacks one of ``keys`` (FOR_SAMPLING, FOR_RESUMING): one line naming it."""
        missing = [key for key in keys if getattr(self, key) is None]
        if missing:
            raise CheckpointMismatch(f"{path}: lacks {missing[0]!r}; it cannot be used to {purpose}",
                                     hint="use a checkpoint written by `genesis train`")

    def settings(self) -> ExperimentConfig:
        """The run's config, validated."""
        return validate(ExperimentConfig, self.config, hint="the checkpoint's config is not valid for this GENESIS version")

    def normalization(self, path: Path) -> Normalizer:
        """The run's fitted normalisation (a checkpoint too old to carry a complete one is one clear line)."""
        from genesis_cli.engine.data.normalization import Normalizer

        try:
            return Normalizer.from_state_dict(self.normalizer or {})
        except (ValueError, KeyError) as exc:
            raise UsageError(f"{path}: {exc}", hint="the checkpoint predates this GENESIS version; retrain") from exc

    def measured_noise(self) -> DarkNoise | None:
        """The run's measured dark noise (data.dark_noise: measured), added to the events it generates."""
        from genesis_cli.engine.detector.dark_noise import DarkNoise

        return DarkNoise.from_state_dict(self.dark_noise) if self.dark_noise else None

    def first_nonfinite(self) -> str | None:
        """The name of the first model or EMA tensor holding NaN or inf, or None when all are finite."""
        tensors = {f"model_state_dict.{k}": v for k, v in (self.model_state_dict or {}).items()}
        tensors.update({f"ema_state_dict.shadow.{k}": v for k, v in (self.ema_state_dict or {}).get("shadow", {}).items()})
        floats = {name: t for name, t in tensors.items() if isinstance(t, torch.Tensor) and t.is_floating_point()}
        if not floats:
            return None
        flags = [torch.isfinite(t).all() for t in floats.values()]
        read = {device: iter(torch.stack([f for f in flags if f.device == device]).tolist())  # one read per device
                for device in {f.device for f in flags}}
        return next((name for name, flag in zip(floats, flags) if not next(read[flag.device])), None)


def fitting(path: Path, action: Callable[[], object]) -> None:
    """Run ``action`` (loading state into a model, EMA or optimizer); a mismatch becomes one line naming ``path``."""
    try:
        action()
    except (RuntimeError, ValueError, KeyError) as exc:
        detail = str(exc).strip().splitlines()
        raise CheckpointMismatch(f"{path}: its weights do not fit the model its config describes "
                                 f"({detail[-1].strip() if detail else type(exc).__name__})",
                                 hint="the checkpoint was edited or assembled from two runs; use an intact one") from exc


def save_checkpoint(checkpoint: RunCheckpoint, path: Path) -> Path:
    """Write ``checkpoint`` to ``path`` atomically and durably."""
    payload = checkpoint.to_payload()
    return write_atomic(path, lambda temporary: torch.save(payload, temporary), what="checkpoint", hint=SAVE_HINT)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> RunCheckpoint:
    """A checkpoint file, validated and upgraded; UsageError with one clear line otherwise."""
    if not path.exists():
        raise UsageError(f"{path}: checkpoint not found")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory", hint="pass a .pt file, or use `genesis resume RUN_DIR`")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for foreign/corrupt files
        raise UsageError(f"{path}: not a readable GENESIS checkpoint ({type(exc).__name__})",
                         hint="the file is corrupt, truncated or not a checkpoint") from exc
    return RunCheckpoint.from_payload(payload, path)


def saved_step(path: Path) -> int:
    """A checkpoint file's global step, read without loading its tensors (mmap); errors propagate."""
    return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["global_step"])


def _upgrade(payload: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's contents in the current schema: a schema-1 config states the representation and
    model it was trained with (SCHEMA_1_SETTINGS), so it loads, samples and resumes as it was; the
    saved evaluation section loses the keys the judge retired (how events are judged is no part of
    training, so the current judge's defaults apply)."""
    if not isinstance(payload["config"], dict):
        return payload
    config = {**payload["config"]}
    if isinstance(config.get("evaluation"), dict):
        config["evaluation"] = drop_retired(config["evaluation"])
    if payload["schema_version"] < SCHEMA_VERSION:
        for section, values in SCHEMA_1_SETTINGS.items():
            config[section] = {**values, **config.get(section, {})}
    return {**payload, "config": config, "schema_version": SCHEMA_VERSION}
