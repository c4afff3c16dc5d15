"""A training run as something that exists on disk: its directory and lock (directory.py), its
typed checkpoint (checkpoint.py) and checkpoint files (store.py), what may change when it is
resumed (resume.py), what it reports while it trains (reports.py) and its records: train.log,
metrics.jsonl, TensorBoard and W&B (records.py). Training writes runs; sampling, compare and the
CLI read them, without importing the training package."""
