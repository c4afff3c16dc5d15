"""Checkpoints: atomic files of plain data, with the guide's names.

Names in the run directory (checkpoint_dir/experiment_name): ``model_epoch_<N>.pt`` (regular,
N = the epoch in progress or just completed; the last ``training.keep_checkpoints`` are kept),
``model_best.pt`` (best monitored loss) and ``model_final.pt`` (end of training).

Contents: the guide's keys (epoch, global_step, model_state_dict, optimizer_state_dict,
scheduler_state_dict, best_loss, config) plus ema_state_dict, scaler_state_dict,
early_stopping_state, rng_state, batch_in_epoch, normalizer, split, geometry, genesis_version and
schema_version. Everything is tensors, numbers, strings, lists and dicts, so the files load with
``torch.load(weights_only=True)``.

A save writes ``.<name>.tmp`` in the same directory, flushes, fsyncs, then renames over the final
name: a crash or kill at any moment leaves either the previous file or the new one, never half of
one. Stale temporary files from a killed save are removed at the next save.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

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
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise GenesisError(f"{path}: cannot write checkpoint ({exc.strerror or exc})",
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


def latest_checkpoint(run_dir: Path) -> Path:
    """The checkpoint to resume a run from: the one with the highest global step."""
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: run directory not found")
    candidates = regular_checkpoints(run_dir) + [p for p in (run_dir / FINAL,) if p.exists()]
    if not candidates:
        raise UsageError(f"{run_dir}: holds no checkpoint to resume from")
    # mmap: only the step is read, not every tensor of every candidate
    steps = {p: int(torch.load(p, map_location="cpu", weights_only=True, mmap=True)["global_step"]) for p in candidates}
    return max(candidates, key=lambda p: (steps[p], p.name != FINAL))


def sampling_checkpoint(path: Path) -> Path:
    """The checkpoint to generate with: a file as given; for a run directory its model_best.pt,
    else its newest checkpoint."""
    if not path.is_dir():
        return path
    best = path / BEST
    return best if best.exists() else latest_checkpoint(path)


class CheckpointManager:
    """Writes a run's checkpoints and prunes old regular ones."""

    def __init__(self, run_dir: Path, keep_last: int) -> None:
        self.run_dir = run_dir
        self.keep_last = keep_last

    def _save(self, payload: dict[str, Any], name: str) -> Path:
        for stale in self.run_dir.glob(".*.pt.tmp"):
            stale.unlink(missing_ok=True)
        return save_atomic(payload, self.run_dir / name)

    def save_regular(self, payload: dict[str, Any], epoch: int) -> Path:
        path = self._save(payload, f"model_epoch_{epoch}.pt")
        for old in regular_checkpoints(self.run_dir)[:-self.keep_last]:
            old.unlink(missing_ok=True)
        return path

    def save_best(self, payload: dict[str, Any]) -> Path:
        return self._save(payload, BEST)

    def save_final(self, payload: dict[str, Any]) -> Path:
        return self._save(payload, FINAL)
