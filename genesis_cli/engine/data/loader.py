"""Fast, bounded-memory batches of normalised events: ``make_dataloader``.

Reading random single events from a chunked (compressed) HDF5 file decompresses a whole chunk per
event: ~30x slower than reading whole chunks. So events are only ever read in whole contiguous
blocks, and shuffling happens in memory:

- **memory mode** (the split fits ``data.memory_budget_gb``): the split is read, checked and
  normalised once; each epoch is a seeded permutation, and a batch is one gather from RAM.
- **stream mode** (larger than the budget): each epoch visits the file's blocks in a seeded random
  order, mixing events through a shuffle buffer of ``data.shuffle_buffer_events``; memory stays
  bounded for files larger than RAM. Workers (``data.num_workers``) each read their own blocks
  through their own HDF5 handle.

Batches are ``(x_sig (B,C,L), geom (B,3,L), label (B,6), idx (B,))`` torch tensors, normalised
(:mod:`genesis_cli.engine.data.normalization`); ``geom`` is a broadcast view of one (3, L) tensor.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from genesis_cli.engine.data.eventfile import EventFile, check_labels, check_signals
from genesis_cli.engine.data.normalization import Normalizer, time_offsets
from genesis_cli.engine.data.splits import DataSplit, split_of
from genesis_cli.engine.detector.dark_noise import DarkNoise, light_only
from genesis_cli.engine.detector.noise import NoiseAccumulator
from genesis_cli.engine.detector.propagation import light_onset
from genesis_cli.engine.memory import reuse_freed_batch_memory
from genesis_cli.errors import DataError
from genesis_cli.settings import ExperimentConfig

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def read_blocks(file: EventFile, rows: np.ndarray, blocks: np.ndarray | None = None
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(event indices, raw signals)`` for sorted ``rows``, reading whole blocks only.

    ``blocks`` (block start offsets) chooses and orders the blocks visited; default: all, in order.
    """
    block = file.reading_block()
    if blocks is None:
        blocks = np.arange(0, file.n_events, block)
    for start in blocks:
        stop = min(int(start) + block, file.n_events)
        lo, hi = np.searchsorted(rows, [start, stop])
        if lo == hi:
            continue
        wanted = rows[lo:hi]
        raw = file.signals(int(start), stop)
        check_signals(file.path, raw, int(start))
        yield wanted, raw[wanted - start]


def _fit_sample(split: DataSplit, config: ExperimentConfig) -> np.ndarray:
    """The seeded sample of up to data.normalization_events training events the statistics are fitted on."""
    rng = np.random.default_rng(config.seed)
    train = split.train
    return np.sort(rng.choice(train, size=min(len(train), config.data.normalization_events), replace=False))


def fit_statistics(file: EventFile, split: DataSplit, config: ExperimentConfig, normalizer: Normalizer | None,
                   dark_noise: DarkNoise | None) -> tuple[Normalizer, DarkNoise | None]:
    """The normalisation and (data.dark_noise: measured) the dark noise of the training events, each fitted
    on the normalisation's sample unless given (a resumed run's), in one pass over it. The dark noise is
    None when it is not wanted or cannot be measured (no event with a bright hit)."""
    accumulator = NoiseAccumulator(file.geometry) if config.data.dark_noise == "measured" and dark_noise is None else None
    if normalizer is None:
        normalizer = fit_normalizer(file, split, config, noise=accumulator)
    elif accumulator is not None:
        labels = file.labels()
        for rows, raw in read_blocks(file, _fit_sample(split, config)):
            accumulator.add(raw, labels[rows])
    if accumulator is not None:
        estimate = accumulator.result()
        dark_noise = DarkNoise.measured(estimate, accumulator.noise_charges()) if estimate is not None else None
    return normalizer, dark_noise


def fit_normalizer(file: EventFile, split: DataSplit, config: ExperimentConfig,
                   noise: NoiseAccumulator | None = None) -> Normalizer:
    """Fit the normalisation on (a seeded sample of up to data.normalization_events of) the training split,
    as the network sees it (without the noise before any light, for data.dark_noise: measured); ``noise``
    measures the dark noise of the same events on the way."""
    data = config.data
    train = split.train
    sample = _fit_sample(split, config)
    all_labels = file.labels()
    clean = data.dark_noise == "measured"
    origin = data.resolved_time_origin
    positions = file.geometry.positions
    npe_parts, time_parts, written_parts, no_hit_times, onsets = [], [], [], [], []
    for rows, raw in read_blocks(file, sample):
        if noise is not None:
            noise.add(raw, all_labels[rows])
        if clean:
            raw = light_only(raw, all_labels[rows], positions)
        npe, time = raw[:, 0], raw[:, 1]
        time = np.where(np.isfinite(time), time, data.replace_time_inf_with).astype(np.float64)
        hit = npe > 0
        offsets = time_offsets(origin, time, hit, all_labels[rows], positions)
        npe_parts.append(npe[hit])
        time_parts.append((time - offsets)[hit])
        onsets.append(light_onset(npe, time - offsets, hit))
        written_parts.append((time - offsets)[hit] if origin == "first_hit" else time[hit])  # as the inverse writes them
        no_hit_times.append(raw[:, 1][~hit][:1000])
    labels = all_labels[train]
    check_labels(file.path, labels, train)
    if not any(part.size for part in npe_parts):
        raise DataError(f"{file.path}: the training events hold no hit DOM (npe > 0); there is nothing to learn from",
                        hint="check the file with `genesis inspect-data`")
    return Normalizer.fit(
        np.concatenate(npe_parts), np.concatenate(time_parts), labels, file.geometry,
        time_origin=origin, hit_channel=config.diffusion.hit_channel,
        no_hit_time=_no_hit_convention(no_hit_times), replace_time_inf_with=data.replace_time_inf_with,
        time_scale=data.time_scale_ns, output_time_range=_range(written_parts), onsets=np.concatenate(onsets),
        npe_transform=data.npe_transform, time_transform=data.time_transform,
        time_floor=data.time_quantile_floor)


def _range(parts: list[np.ndarray]) -> tuple[float, float]:
    values = [p for p in parts if p.size]
    return (float(min(p.min() for p in values)), float(max(p.max() for p in values))) if values else (0.0, 0.0)


def _no_hit_convention(samples: list[np.ndarray]) -> float:
    """The time a file writes for no-hit DOMs: inf in raw files, else its most common value."""
    values = np.concatenate(samples) if samples else np.array([np.inf])
    if values.size == 0 or not np.isfinite(values).any():
        return float("inf")
    uniques, counts = np.unique(values[np.isfinite(values)], return_counts=True)
    return float(uniques[np.argmax(counts)])


def targets(normalizer: Normalizer, raw: np.ndarray, labels: np.ndarray, positions: np.ndarray,
            light: bool) -> np.ndarray:
    """What the network learns for raw events (B, 2, L): normalised, without the noise before any light when ``light``."""
    return normalizer.signals(light_only(raw, labels, positions) if light else raw, labels, positions)


class EventLoader:
    """Iterable of batches over one split of an event file (see the module docstring)."""

    def __init__(self, file: EventFile, split: DataSplit, split_name: str, normalizer: Normalizer,
                 batch_size: int, *, shuffle: bool, seed: int, drop_last: bool = False,
                 memory_budget_bytes: float, num_workers: int = 0, shuffle_buffer: int = 4096,
                 pin_memory: bool = False, shard: tuple[int, int] = (0, 1), light: bool = False) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        self.file, self.split, self.split_name, self.normalizer = file, split, split_name, normalizer
        self.light = light  # targets without the noise before any light (data.dark_noise: measured)
        rank, world = shard
        self.indices = split.indices(split_name)[rank::world]  # each distributed rank reads its shard
        self.start_batch = 0
        self.batch_size, self.shuffle, self.seed, self.drop_last = batch_size, shuffle, seed, drop_last
        self.num_workers, self.shuffle_buffer, self.pin_memory = num_workers, shuffle_buffer, pin_memory
        self.epoch = 0
        labels = file.labels()[self.indices]
        check_labels(file.path, labels, self.indices)
        self.raw_labels = labels  # (n, 6) physical: the time origin may depend on them
        self.labels = torch.from_numpy(normalizer.labels(labels))  # (n, 6)
        self.geometry = torch.from_numpy(normalizer.geometry(file.geometry.positions))  # (3, L)
        needed = len(self.indices) * normalizer.channels * file.n_doms * 4
        self.mode = "memory" if needed <= memory_budget_bytes else "stream"
        if self.mode == "memory":
            reuse_freed_batch_memory()
        self._signals: torch.Tensor | None = self._load_all() if self.mode == "memory" else None

    def _load_all(self) -> torch.Tensor:
        shape = (len(self.indices), self.normalizer.channels, self.file.n_doms)
        out = torch.empty(shape, device="cpu", dtype=torch.float32)  # host memory: batches are gathered here, then copied
        position = 0
        for rows, raw in read_blocks(self.file, self.indices):
            labels = self.raw_labels[position:position + len(rows)]  # rows come in the order of self.indices
            out[position:position + len(rows)] = torch.from_numpy(targets(self.normalizer, raw, labels,
                                                                          self.file.geometry.positions, self.light))
            position += len(rows)
        return out

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Choose the epoch whose (seeded) order the next iteration follows, and the batch it
        starts at (resuming mid-epoch yields exactly the batches an uninterrupted run would)."""
        self.epoch, self.start_batch = epoch, start_batch

    def __len__(self) -> int:
        n = len(self.indices)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        source = self._memory_batches() if self.mode == "memory" else self._stream_batches()
        if self.mode == "stream" and self.start_batch:  # streamed batches must be read to be skipped
            source = itertools.islice(source, self.start_batch, None)
        for x_sig, label, idx in source:
            geom = self.geometry.unsqueeze(0).expand(x_sig.shape[0], -1, -1)  # a view, no copy
            yield x_sig, geom, label, idx

    def _memory_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        assert self._signals is not None
        n = len(self.indices)
        if self.shuffle:
            order = torch.from_numpy(np.random.default_rng([self.seed, self.epoch]).permutation(n))
        else:
            order = torch.arange(n, device="cpu")
        for start in range(self.start_batch * self.batch_size, len(self) * self.batch_size, self.batch_size):
            take = order[start:start + self.batch_size]
            x_sig = self._signals.index_select(0, take)
            yield (x_sig.pin_memory() if self.pin_memory else x_sig, self.labels.index_select(0, take),
                   torch.from_numpy(self.indices[take.numpy()]))

    def _stream_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        dataset = _BlockStream(self.file, self.indices, self.labels, self.raw_labels, self.normalizer, self.batch_size,
                               shuffle=self.shuffle, seed=self.seed, epoch=self.epoch,
                               buffer=self.shuffle_buffer, drop_last=self.drop_last, light=self.light)
        loader = DataLoader(dataset, batch_size=None, num_workers=self.num_workers,
                            pin_memory=self.pin_memory)
        yield from loader


class _BlockStream(IterableDataset):  # type: ignore[type-arg]
    """Whole-block reads in seeded random order, mixed through a shuffle buffer; worker-sharded."""

    def __init__(self, file: EventFile, indices: np.ndarray, labels: torch.Tensor, raw_labels: np.ndarray,
                 normalizer: Normalizer, batch_size: int, *, shuffle: bool, seed: int, epoch: int, buffer: int,
                 drop_last: bool, light: bool = False) -> None:
        self.file, self.indices, self.labels, self.normalizer = file, indices, labels, normalizer
        self.light = light
        self.raw_labels = raw_labels
        self.batch_size, self.shuffle, self.seed, self.epoch = batch_size, shuffle, seed, epoch
        self.buffer, self.drop_last = max(buffer, batch_size), drop_last

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        worker = get_worker_info()
        worker_id, n_workers = (worker.id, worker.num_workers) if worker else (0, 1)
        rng = np.random.default_rng([self.seed, self.epoch, worker_id])
        blocks = np.arange(0, self.file.n_events, self.file.reading_block())
        if self.shuffle:
            blocks = np.random.default_rng([self.seed, self.epoch]).permutation(blocks)
        pending_x: list[np.ndarray] = []
        pending_i: list[np.ndarray] = []
        held = 0
        for rows, raw in read_blocks(self.file, self.indices, blocks[worker_id::n_workers]):
            raw_labels = self.raw_labels[np.searchsorted(self.indices, rows)]
            pending_x.append(targets(self.normalizer, raw, raw_labels, self.file.geometry.positions, self.light))
            pending_i.append(rows)
            held += len(rows)
            if held >= self.buffer:
                x, i = np.concatenate(pending_x), np.concatenate(pending_i)
                if self.shuffle:
                    perm = rng.permutation(len(i))
                    x, i = x[perm], i[perm]
                keep = len(i) - self.buffer // 2  # emit down to half a buffer, keep mixing the rest
                keep -= keep % self.batch_size
                for start in range(0, keep, self.batch_size):
                    yield self._batch(x[start:start + self.batch_size], i[start:start + self.batch_size])
                pending_x, pending_i, held = [x[keep:]], [i[keep:]], len(i) - keep
        if held:
            x, i = np.concatenate(pending_x), np.concatenate(pending_i)
            if self.shuffle:
                perm = rng.permutation(len(i))
                x, i = x[perm], i[perm]
            for start in range(0, len(i), self.batch_size):
                if self.drop_last and start + self.batch_size > len(i):
                    break
                yield self._batch(x[start:start + self.batch_size], i[start:start + self.batch_size])

    def _batch(self, x: np.ndarray, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        positions = torch.from_numpy(np.searchsorted(self.indices, rows))
        return torch.from_numpy(np.ascontiguousarray(x)), self.labels.index_select(0, positions), torch.from_numpy(rows)


def default_memory_budget() -> float:
    """Half the machine's physical memory, in bytes."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def make_dataloader(path: str | os.PathLike[str] | None = None, batch_size: int | None = None, *,
                    split: str = "train", config: ExperimentConfig | None = None,
                    shuffle: bool | None = None, normalizer: Normalizer | None = None,
                    num_workers: int | None = None, drop_last: bool = False,
                    pin_memory: bool = False, shard: tuple[int, int] = (0, 1)) -> EventLoader:
    """Batches ``(x_sig, geom, label, idx)`` of one split of an event file (the guide's API).

    Args:
        path: the HDF5 file (default: ``config.data.h5_path``).
        batch_size: events per batch (default: ``config.training.batch_size``).
        split: "train", "val" or "test" (ratios and seed from the config).
        config: the experiment config (default: the built-in defaults).
        shuffle: default True for "train", False otherwise.
        normalizer: statistics to use; default: fitted on the training split.
        num_workers: stream-mode worker processes (default: ``config.data.num_workers``).
        shard: (rank, world size): this process reads every world-th event of the split.

    Example::

        from genesis_cli import make_dataloader
        loader = make_dataloader("data.h5", batch_size=16)
        x_sig, geom, label, idx = next(iter(loader))   # (16,C,L) (16,3,L) (16,6) (16,); C = 3 with the hit channel
    """
    config = config or ExperimentConfig()
    path = Path(path) if path is not None else config.data.h5_path
    if path is None:
        from genesis_cli.errors import UsageError

        raise UsageError("no event file given", hint="pass a path or set data.h5_path in the config")
    data = config.data
    file = EventFile(path)
    event_split = split_of(config, file.n_events)
    if normalizer is None:
        normalizer = fit_normalizer(file, event_split, config)
    budget = data.memory_budget_gb * 2**30 if data.memory_budget_gb is not None else default_memory_budget()
    return EventLoader(
        file, event_split, split, normalizer, batch_size or config.training.batch_size,
        shuffle=(split == "train") if shuffle is None else shuffle, seed=config.seed,
        drop_last=drop_last, memory_budget_bytes=budget,
        num_workers=data.num_workers if num_workers is None else num_workers,
        shuffle_buffer=data.shuffle_buffer_events, pin_memory=pin_memory, shard=shard,
        light=data.dark_noise == "measured")
