"""Provenance of a generated file: enough to know, months later, exactly how its events were made.

Written as file attributes by ``genesis sample`` (JSON text for structured values) and shown by
``genesis inspect-data``: the checkpoint (path and SHA-256), its training config and the record of
its training split (data file, seed, sizes, fingerprint), where the labels came from (a file and
its SHA-256, or the ranges asked for), the sampler, steps, guidance, seed, batch size, device and
precision, and the GENESIS, torch and h5py versions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import torch

from genesis_cli.settings.distill import DistillConfig
from genesis_cli.version import __version__

HASH_BLOCK = 1 << 20


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class LabelSource:
    """Where the labels of a generated file came from: a file, or ranges (name -> "LO:HI")."""

    file: Path | None = None
    ranges: dict[str, str] | None = None

    def describe(self) -> dict[str, Any]:
        if self.file is not None:
            return {"file": str(self.file), "sha256": sha256_of(self.file)}
        return {"ranges": dict(self.ranges or {}), "other labels": "drawn from the training distribution"}


def provenance(checkpoint: Path, state: dict[str, Any], labels: LabelSource, *, sampler: str, steps: int,
               guidance_scale: float, seed: int, batch_size: int, device: torch.device,
               precision: str | None) -> dict[str, Any]:
    """The attributes of a generated file (plain values; dicts are stored as JSON text)."""
    return {
        "generator": "genesis sample", "checkpoint": str(checkpoint), "checkpoint_sha256": sha256_of(checkpoint),
        "checkpoint_step": int(state.get("global_step", -1)), "training_config": json.dumps(state.get("config", {})),
        "training_split": json.dumps(state.get("split", {})),
        "training_data": str((state.get("config") or {}).get("data", {}).get("h5_path")),
        "labels_source": json.dumps(labels.describe()), "sampler": sampler, "steps": int(steps),
        "guidance_scale": float(guidance_scale), "seed": int(seed), "batch_size": int(batch_size),
        "device": str(device), "precision": precision or "float32", "genesis_version": __version__,
        "torch_version": str(torch.__version__), "h5py_version": h5py.version.version,
        "hdf5_version": h5py.version.hdf5_version,
    }


def distillation_provenance(distill: DistillConfig) -> dict[str, Any]:
    """A student's attributes: its teacher, the method, its default steps and the guidance folded into it
    (the effective guidance scale of its events; the student itself runs one conditional pass). {} otherwise."""
    if not distill.is_student:
        return {}
    return {"distilled_from": str(distill.teacher), "teacher_step": int(distill.teacher_step or 0),
            "distillation": distill.method, "distilled_steps": int(distill.steps),
            "guidance_scale": float(distill.guidance_scale), "guidance": "folded into the student"}
