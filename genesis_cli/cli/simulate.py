"""``genesis simulate``: write a toy IceCube event file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from genesis_cli.cli.options import overwrite_option
from genesis_cli.cli.output import print_success, progress_callback
from genesis_cli.cli.prompts import confirm_replacing
from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.settings.messages import validate
from genesis_cli.settings.simulation import SimulationConfig

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis simulate toy.h5 --events 20000 --seed 1\n\n"
    "  genesis simulate tracks.h5 --events 5000 --kind track --energy-range 1e5 1e7\n\n"
    "  genesis simulate real_geo.h5 --events 1000 --geometry icecube_geometry.csv"
)

_DEFAULTS = SimulationConfig.model_fields
_ENERGY_HELP = (f"Energy range in GeV, log-uniform \\[default: {_DEFAULTS['energy_min_gev'].default:g} "
                f"{_DEFAULTS['energy_max_gev'].default:g}].")
FLAGS = {"events": "--events", "seed": "--seed", "kind": "--kind", "energy_min_gev": "--energy-range",
         "energy_max_gev": "--energy-range", "compression": "--compression"}


def simulate_command(
    output: Annotated[Path, typer.Argument(metavar="OUT.h5", help="Event file to write.")],
    events: Annotated[int, typer.Option("--events", "-n", help="Number of events.")] = _DEFAULTS["events"].default,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = _DEFAULTS["seed"].default,
    kind: Annotated[str, typer.Option(help="cascade, track or mixed.")] = _DEFAULTS["kind"].default,
    energy_range: Annotated[Optional[tuple[float, float]], typer.Option(
        "--energy-range", metavar="LO HI", help=_ENERGY_HELP)] = None,
    geometry: Annotated[Optional[Path], typer.Option(
        metavar="FILE.csv", help="DOM positions (CSV with x, y, z columns) instead of the built-in IceCube.")] = None,
    compression: Annotated[str, typer.Option(help="gzip (portable), lzf (fast) or none.")] = _DEFAULTS["compression"].default,
    overwrite: Annotated[bool, overwrite_option("OUT.h5 if it exists")] = False,
) -> None:
    """Simulate IceCube-like events with the built-in toy simulator and write them as an event file.

    Physics: light yield proportional to energy, scattering and absorption in ice (with the dust
    layer), Poisson photoelectrons, Pandel-delayed first-hit times, dark noise, HQE DeepCore DOMs.
    Deterministic by seed. Nothing is left behind if it is interrupted.
    """
    from genesis_cli.engine.detector import icecube_like_geometry, load_geometry_csv
    from genesis_cli.engine.simulation.runner import simulate_to_file

    values = {"events": events, "seed": seed, "kind": kind, "compression": compression}
    if energy_range is not None:
        values["energy_min_gev"], values["energy_max_gev"] = energy_range
    config = validate(SimulationConfig, values, origins=FLAGS, hint="see genesis simulate --help")
    check_outputs([Output(output, "OUT.h5")], {"--geometry": geometry}, overwrite=overwrite)
    confirm_replacing([output], overwrite)
    detector = load_geometry_csv(geometry) if geometry else icecube_like_geometry()
    with progress_callback(config.events, f"simulating {output.name}") as advance:
        summary = simulate_to_file(output, config, detector, overwrite=overwrite, progress=advance)
    size_mb = summary.path.stat().st_size / 1e6
    print_success(f"wrote {summary.events:,} events to {summary.path} ({size_mb:.1f} MB) in "
                  f"{summary.seconds:.1f} s, {summary.events_per_second:,.0f} events/s; "
                  f"mean {summary.mean_hit_doms:.0f} hit DOMs and {summary.mean_total_npe:,.0f} PE per event")
