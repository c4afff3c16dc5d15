"""A run directory's checkpoint files: their names, which one to resume or sample from, and writing them.

Names in the run directory (checkpoint_dir/experiment_name), as the guide has them:
``model_epoch_<N>.pt`` (regular, N = the epoch in progress or just completed; the last
``training.keep_checkpoints`` are kept), ``model_best.pt`` (best monitored loss) and
``model_final.pt`` (end of training). A truncated, foreign or diverged file is skipped when a run
is resumed or sampled, with a line saying so, so that a crash during the newest save never hides
the intact older ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from genesis_cli.engine.atomic_files import partial_path
from genesis_cli.engine.runs.checkpoint import (
    NonFiniteWeights,
    RunCheckpoint,
    load_checkpoint,
    save_checkpoint,
    saved_step,
)
from genesis_cli.errors import UsageError

REGULAR = re.compile(r"^model_epoch_(\d+)\.pt$")
REGULAR_GLOB = "model_epoch_*.pt"
BEST, FINAL = "model_best.pt", "model_final.pt"


def regular_name(epoch: int) -> str:
    return f"model_epoch_{epoch}.pt"


def regular_checkpoints(run_dir: Path) -> list[Path]:
    """model_epoch_<N>.pt files, oldest epoch first."""
    found = [(int(m.group(1)), p) for p in run_dir.glob(REGULAR_GLOB) if (m := REGULAR.match(p.name))]
    return [p for _, p in sorted(found)]


def newest_checkpoint(run_dir: Path, skipped: list[str] | None = None) -> tuple[Path, RunCheckpoint]:
    """The checkpoint to resume a run from, loaded: the readable one with the highest global step
    (what was skipped, and why, is added to ``skipped``)."""
    skipped = skipped if skipped is not None else []
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: run directory not found")
    candidates = regular_checkpoints(run_dir) + [p for p in (run_dir / FINAL,) if p.exists()]
    if not candidates:
        raise UsageError(f"{run_dir}: holds no checkpoint to resume from")
    steps: dict[Path, int] = {}
    for path in candidates:  # only the step is read, not every tensor of every candidate
        try:
            steps[path] = saved_step(path)
        except Exception as exc:  # noqa: BLE001 - torch raises many types for foreign/corrupt files
            skipped.append(f"skipped {path}: not a readable GENESIS checkpoint ({type(exc).__name__})")
    for path in sorted(steps, key=lambda p: (steps[p], p.name != FINAL), reverse=True):
        checkpoint = _readable(path, skipped)
        if checkpoint is not None:
            return path, checkpoint
    raise UsageError(f"{run_dir}: holds no readable checkpoint ({len(candidates)} unreadable)",
                     hint="the files are corrupt or truncated; start a new run")


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


#: The guide's flat names for a run's files: checkpoints/cnn_best.pt, checkpoints/dit_final.pt, NAME_epoch_50.pt.
FLAT_NAME = re.compile(r"^(?P<run>.+)_(?P<kind>best|final|epoch_\d+)\.pt$")


def checkpoint_candidates(path: Path) -> list[Path]:
    """The files a missing checkpoint ``path`` may mean in the run layout, the most recently written first.

    ``checkpoints/model_epoch_50.pt`` may be ``checkpoints/<run>/model_epoch_50.pt`` of any run;
    ``checkpoints/cnn_best.pt`` is ``checkpoints/cnn/model_best.pt`` (else that of a run named ``cnn_*``).
    """
    folder = path.parent
    runs = sorted(d for d in folder.iterdir() if d.is_dir()) if folder.is_dir() else []
    flat = None if path.name in (BEST, FINAL) or REGULAR.match(path.name) else FLAT_NAME.match(path.name)
    if flat:
        wanted, name = flat["run"], f"model_{flat['kind']}.pt"
        exact = [d / name for d in runs if d.name == wanted and (d / name).exists()]
        found = exact or [d / name for d in runs if d.name.startswith(f"{wanted}_") and (d / name).exists()]
    else:
        found = [d / path.name for d in runs if (d / path.name).exists()]
    return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def locate_checkpoint(path: Path) -> tuple[Path, str | None]:
    """``path`` as given when it exists; else the guide's flat spelling resolved to the run layout
    when it is unambiguous (checkpoint_candidates). Returns (path, a notice saying how it was
    resolved, or None); an ambiguous or unknown path is a one-line error listing the candidates."""
    if path.exists():
        return path, None
    found = checkpoint_candidates(path)
    if len(found) == 1:
        return found[0], resolved_notice(path, found[0])
    if len(found) > 1:
        raise UsageError(f"{path}: checkpoint not found; {len(found)} runs hold one of that name",
                         hint="pass one of: " + ", ".join(map(str, found)))
    runs = sorted(d for d in path.parent.iterdir() if d.is_dir()) if path.parent.is_dir() else []
    held = [str(p) for d in runs for p in (*regular_checkpoints(d), d / BEST, d / FINAL) if p.exists()]
    raise UsageError(f"{path}: checkpoint not found",
                     hint=("checkpoints here: " + ", ".join(held[:8]) + (" ..." if len(held) > 8 else ""))
                     if held else "pass a checkpoint file or a run directory (checkpoint_dir/experiment_name)")


def resolved_notice(path: Path, found: Path) -> str:
    return f"{path} is {found} in the run layout (checkpoint_dir/experiment_name/)"


def _readable(path: Path, skipped: list[str]) -> RunCheckpoint | None:
    try:
        return load_checkpoint(path)
    except UsageError as exc:
        skipped.append(f"skipped {exc.message}")
        return None


class CheckpointStore:
    """Writes a run's checkpoints and prunes old regular ones (writer.py writes them off the training thread)."""

    def __init__(self, run_dir: Path, keep_last: int) -> None:
        self.run_dir = run_dir
        self.keep_last = keep_last
        self.on_saved: Callable[[], None] | None = None  # called after every successful save

    @staticmethod
    def name(kind: str, epoch: int) -> str:
        """The file a checkpoint of ``kind`` ('regular', 'best' or 'final') is written to."""
        return {"best": BEST, "final": FINAL}.get(kind) or regular_name(epoch)

    def check_finite(self, checkpoint: RunCheckpoint, name: str) -> None:
        """Refuse to write weights that are NaN or infinite (the run stops; the last good checkpoint is named)."""
        bad = checkpoint.first_nonfinite()
        if bad is not None:
            kept = self.newest()
            raise NonFiniteWeights(
                f"the weights became NaN or infinite by step {checkpoint.global_step} ({bad}); training stopped "
                f"and {name} was not written",
                hint=f"the last good checkpoint is {kept}" if kept else "no good checkpoint was written; lower the "
                     "learning rate or check the data with `genesis inspect-data`")

    def write(self, kind: str, checkpoint: RunCheckpoint, epoch: int) -> Path:
        """Write a checked checkpoint atomically; a regular one prunes all but the last ``keep_last``."""
        for stale in self.run_dir.glob(partial_path(Path("*.pt")).name):  # left by a killed save
            stale.unlink(missing_ok=True)
        path = save_checkpoint(checkpoint, self.run_dir / self.name(kind, epoch))
        if kind == "regular":
            for old in regular_checkpoints(self.run_dir)[:-self.keep_last]:
                old.unlink(missing_ok=True)
        if self.on_saved is not None:
            self.on_saved()
        return path

    def save(self, kind: str, checkpoint: RunCheckpoint, epoch: int = 0) -> Path:
        """Check and write at once (no background thread)."""
        self.check_finite(checkpoint, self.name(kind, epoch))
        return self.write(kind, checkpoint, epoch)

    def newest(self) -> Path | None:
        """The run's most recently written checkpoint, or None."""
        files = [p for p in (*regular_checkpoints(self.run_dir), self.run_dir / BEST, self.run_dir / FINAL) if p.exists()]
        return max(files, key=lambda p: p.stat().st_mtime_ns) if files else None
