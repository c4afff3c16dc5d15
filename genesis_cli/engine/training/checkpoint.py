"""Checkpoints: atomic files of plain data, with the guide's names.

Names in the run directory (checkpoint_dir/experiment_name): ``model_epoch_<N>.pt`` (regular,
N = the epoch in progress or just completed; the last ``training.keep_checkpoints`` are kept),
``model_best.pt`` (best monitored loss) and ``model_final.pt`` (end of training).

Contents: the guide's keys (epoch, global_step, model_state_dict, optimizer_state_dict,
scheduler_state_dict, best_loss, config) plus ema_state_dict, scaler_state_dict,
early_stopping_state, rng_state, batch_in_epoch, normalizer, split, geometry, genesis_version and
schema_version. Everything is tensors, numbers, strings, lists and dicts, so the files load with
``torch.load(weights_only=True)``.

No checkpoint holds non-finite weights: the manager refuses to write one (a diverged run stops
with its last good checkpoint intact) and loading refuses one written before that rule.

A save writes ``.<name>.tmp`` in the same directory, flushes, fsyncs, then renames over the final
name: a crash or kill at any moment leaves either the previous file or the new one, never half of
one. Stale temporary files from a killed save are removed at the next save.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from genesis_cli.engine.atomic_files import write_failure
from genesis_cli.errors import GenesisError, UsageError

SCHEMA_VERSION = 2
#: Settings that schema 2 added, with the values that reproduce a schema-1 checkpoint's model:
#: the original representation (no hit channel, thresholded npe, times from the file's earliest hit)
#: and no per-DOM conditioning. A schema-1 checkpoint's config gets them where it lacks them.
SCHEMA_1_SETTINGS = {"diffusion": {"hit_channel": False, "mask_empty_doms": False, "empty_dom_values": "zero",
                                   "hit_parametrization": "value"},
                     "model": {"dom_conditioning": False, "dom_head": 0}, "data": {"time_origin": "file", "time_scale_ns": 1.0}}
REGULAR = re.compile(r"^model_epoch_(\d+)\.pt$")
BEST, FINAL = "model_best.pt", "model_final.pt"
REQUIRED_KEYS = ("epoch", "global_step", "model_state_dict", "optimizer_state_dict", "config", "schema_version")


#: What a checkpoint needs beyond REQUIRED_KEYS to generate events, and to resume training.
FOR_SAMPLING = ("model_state_dict", "ema_state_dict", "normalizer", "geometry")
FOR_RESUMING = (*FOR_SAMPLING, "split", "rng_state", "loss_generator_state", "epoch_loss", "scheduler_state_dict",
                "scaler_state_dict", "batch_in_epoch")


class CheckpointMismatch(UsageError):
    """A checkpoint whose weights do not fit the model its own config describes, or that lacks a part."""


def require(payload: dict[str, Any], path: Path, keys: tuple[str, ...], purpose: str) -> None:
    """Refuse a checkpoint that lacks one of ``keys`` (one line naming the first missing key)."""
    missing = [key for key in keys if key not in payload]
    if missing:
        raise CheckpointMismatch(f"{path}: lacks {missing[0]!r}; it cannot be used to {purpose}",
                                 hint="use a checkpoint written by `genesis train`")


def fitting(path: Path, action: Callable[[], object]) -> None:
    """Run ``action`` (loading state into a model, EMA or optimizer); a mismatch becomes one line naming ``path``."""
    try:
        action()
    except (RuntimeError, ValueError, KeyError) as exc:
        detail = str(exc).strip().splitlines()
        raise CheckpointMismatch(f"{path}: its weights do not fit the model its config describes "
                                 f"({detail[-1].strip() if detail else type(exc).__name__})",
                                 hint="the checkpoint was edited or assembled from two runs; use an intact one") from exc


class NonFiniteWeights(GenesisError):
    """Weights became NaN or infinite: the checkpoint is not written."""


def first_nonfinite(payload: dict[str, Any]) -> str | None:
    """The name of the first model or EMA tensor holding NaN or inf, or None when all are finite."""
    tensors = {f"model_state_dict.{k}": v for k, v in payload.get("model_state_dict", {}).items()}
    ema = payload.get("ema_state_dict") or {}
    tensors.update({f"ema_state_dict.shadow.{k}": v for k, v in ema.get("shadow", {}).items()})
    for name, tensor in tensors.items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def save_atomic(payload: dict[str, Any], path: Path) -> Path:
    """torch.save ``payload`` to ``path`` atomically (temporary file, fsync, rename)."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as RuntimeError
        temporary.unlink(missing_ok=True)
        raise GenesisError(f"{path}: cannot write checkpoint ({write_failure(exc, path.parent)})",
                           hint="free disk space or choose a writable checkpoint_dir; earlier checkpoints are intact") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A checkpoint's contents, validated; UsageError with one clear line otherwise."""
    if not path.exists():
        raise UsageError(f"{path}: checkpoint not found")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory", hint="pass a .pt file, or use `genesis resume RUN_DIR`")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for foreign/corrupt files
        raise UsageError(f"{path}: not a readable GENESIS checkpoint ({type(exc).__name__})",
                         hint="the file is corrupt, truncated or not a checkpoint") from exc
    if not isinstance(payload, dict) or any(key not in payload for key in REQUIRED_KEYS):
        raise UsageError(f"{path}: not a GENESIS checkpoint (required keys missing)")
    if payload["schema_version"] > SCHEMA_VERSION:
        raise UsageError(f"{path}: written by a newer GENESIS (schema {payload['schema_version']})",
                         hint="upgrade genesis to read it")
    bad = first_nonfinite(payload)
    if bad is not None:
        raise UsageError(f"{path}: {bad} holds NaN or infinite weights; this checkpoint cannot be used",
                         hint="the run had diverged when it was written; use an earlier checkpoint of the run")
    return upgrade(payload)


def upgrade(payload: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's contents in the current schema: a schema-1 config states the representation and
    model it was trained with (SCHEMA_1_SETTINGS), so it loads, samples and resumes as it was."""
    if payload["schema_version"] >= SCHEMA_VERSION or not isinstance(payload["config"], dict):
        return payload
    config = {**payload["config"]}
    for section, values in SCHEMA_1_SETTINGS.items():
        config[section] = {**values, **config.get(section, {})}
    return {**payload, "config": config, "schema_version": SCHEMA_VERSION}


def regular_checkpoints(run_dir: Path) -> list[Path]:
    """model_epoch_<N>.pt files, oldest epoch first."""
    found = [(int(m.group(1)), p) for p in run_dir.glob("model_epoch_*.pt") if (m := REGULAR.match(p.name))]
    return [p for _, p in sorted(found)]


def newest_checkpoint(run_dir: Path, skipped: list[str] | None = None) -> tuple[Path, dict[str, Any]]:
    """The checkpoint to resume a run from, loaded: the readable one with the highest global step.

    A truncated, foreign or diverged candidate is skipped (a line in ``skipped`` says which and why)
    so that a crash during the newest save never hides the intact older ones.
    """
    skipped = skipped if skipped is not None else []
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: run directory not found")
    candidates = regular_checkpoints(run_dir) + [p for p in (run_dir / FINAL,) if p.exists()]
    if not candidates:
        raise UsageError(f"{run_dir}: holds no checkpoint to resume from")
    steps: dict[Path, int] = {}
    for path in candidates:  # mmap: only the step is read, not every tensor of every candidate
        try:
            steps[path] = int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["global_step"])
        except Exception as exc:  # noqa: BLE001 - torch raises many types for foreign/corrupt files
            skipped.append(f"skipped {path}: not a readable GENESIS checkpoint ({type(exc).__name__})")
    for path in sorted(steps, key=lambda p: (steps[p], p.name != FINAL), reverse=True):
        payload = _readable(path, skipped)
        if payload is not None:
            return path, payload
    raise UsageError(f"{run_dir}: holds no readable checkpoint ({len(candidates)} unreadable)",
                     hint="the files are corrupt or truncated; start a new run")


def _readable(path: Path, skipped: list[str]) -> dict[str, Any] | None:
    try:
        return load_checkpoint(path)
    except UsageError as exc:
        skipped.append(f"skipped {exc.message}")
        return None


def sampling_checkpoint(path: Path, skipped: list[str] | None = None) -> Path:
    """The checkpoint to generate with: a file as given; for a run directory its model_best.pt when
    readable, else its newest readable checkpoint (what was skipped is added to ``skipped``)."""
    if not path.is_dir():
        return path
    skipped = skipped if skipped is not None else []
    best = path / BEST
    if best.exists() and _readable(best, skipped) is not None:
        return best
    return newest_checkpoint(path, skipped)[0]


class CheckpointManager:
    """Writes a run's checkpoints and prunes old regular ones."""

    def __init__(self, run_dir: Path, keep_last: int) -> None:
        self.run_dir = run_dir
        self.keep_last = keep_last
        self.on_saved: Callable[[], None] | None = None  # called after every successful save

    def _save(self, payload: dict[str, Any], name: str) -> Path:
        bad = first_nonfinite(payload)
        if bad is not None:
            kept = self.newest()
            raise NonFiniteWeights(
                f"the weights became NaN or infinite by step {payload['global_step']} ({bad}); training stopped "
                f"and {name} was not written",
                hint=f"the last good checkpoint is {kept}" if kept else "no good checkpoint was written; lower the "
                     "learning rate or check the data with `genesis inspect-data`")
        for stale in self.run_dir.glob(".*.pt.tmp"):
            stale.unlink(missing_ok=True)
        path = save_atomic(payload, self.run_dir / name)
        if self.on_saved is not None:
            self.on_saved()
        return path

    def newest(self) -> Path | None:
        """The run's most recently written checkpoint, or None."""
        files = [p for p in (*regular_checkpoints(self.run_dir), self.run_dir / BEST, self.run_dir / FINAL) if p.exists()]
        return max(files, key=lambda p: p.stat().st_mtime_ns) if files else None

    def save_regular(self, payload: dict[str, Any], epoch: int) -> Path:
        path = self._save(payload, f"model_epoch_{epoch}.pt")
        for old in regular_checkpoints(self.run_dir)[:-self.keep_last]:
            old.unlink(missing_ok=True)
        return path

    def save_best(self, payload: dict[str, Any]) -> Path:
        return self._save(payload, BEST)

    def save_final(self, payload: dict[str, Any]) -> Path:
        return self._save(payload, FINAL)
