"""The core engine: data, models, diffusion, training, sampling and evaluation.

Everything here is importable and testable without the CLI. The command modules in
:mod:`genesis_cli.cli` only parse arguments, call into this package and render results.
"""
