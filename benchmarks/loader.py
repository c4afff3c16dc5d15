"""Data-loader throughput from an HDF5 event file (page cache), one core unless --workers.

    python benchmarks/loader.py toy.h5 [--batch-size 256] [--workers 0] [--threads 1]

Make a file first with `genesis simulate toy.h5 --events 20000 --seed 1`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from genesis_cli.engine.data.benchmark import benchmark_loader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: one core)")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for stream in (False, True):
        r = benchmark_loader(args.path, batch_size=args.batch_size, epochs=args.epochs,
                             num_workers=args.workers if stream else 0, stream=stream)
        print(f"{r.mode:>6} mode  batch {r.batch_size:>4}  workers {r.num_workers}  "
              f"{r.events_per_second:>10,.0f} events/s  (setup {r.setup_seconds:.1f} s)")


if __name__ == "__main__":
    main()
