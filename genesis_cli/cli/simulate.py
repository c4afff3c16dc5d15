"""``genesis simulate``: write a toy IceCube event file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from genesis_cli.cli.options import geometry_option, overwrite_option
from genesis_cli.cli.output import print_success, progress_callback
from genesis_cli.cli.prompts import confirm_replacing
from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.errors import UsageError
from genesis_cli.settings.messages import validate
from genesis_cli.settings.simulation import SimulationConfig

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis simulate toy.h5 --events 20000 --seed 1\n\n"
    "  genesis simulate tracks.h5 --events 5000 --kind track --energy-range 1e5 1e7\n\n"
    "  genesis simulate real_geo.h5 --events 1000 --geometry icecube_geometry.csv\n\n"
    "  genesis simulate perfect.h5 --labels-from test.h5 --seed 12"
)

_DEFAULTS = SimulationConfig.model_fields
_ENERGY_HELP = (f"Energy range in GeV, log-uniform \\[default: {_DEFAULTS['energy_min_gev'].default:g} "
                f"{_DEFAULTS['energy_max_gev'].default:g}].")
FLAGS = {"events": "--events", "seed": "--seed", "kind": "--kind", "energy_min_gev": "--energy-range",
         "energy_max_gev": "--energy-range", "compression": "--compression"}


def simulate_command(
    output: Annotated[Path, typer.Argument(metavar="OUT.h5", help="Event file to write.")],
    events: Annotated[Optional[int], typer.Option(
        "--events", "-n", help=f"Number of events \\[default: {_DEFAULTS['events'].default:,}; with --labels-from: "
                               "every label of the file].", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = _DEFAULTS["seed"].default,
    kind: Annotated[Optional[str], typer.Option(
        help=f"cascade, track or mixed \\[default: {_DEFAULTS['kind'].default}; with --labels-from: the file's "
             "kind, when genesis simulate wrote it].", show_default=False)] = None,
    energy_range: Annotated[Optional[tuple[float, float]], typer.Option(
        "--energy-range", metavar="LO HI", help=_ENERGY_HELP)] = None,
    labels_from: Annotated[Optional[Path], typer.Option(
        "--labels-from", metavar="FILE.h5", help="Simulate one event for each label of this event file, in order, "
                                                "with its detector: the perfect generator for `genesis evaluate`.")] = None,
    geometry: Annotated[Optional[Path], geometry_option()] = None,
    compression: Annotated[str, typer.Option(help="gzip (portable), lzf (fast) or none.")] = _DEFAULTS["compression"].default,
    overwrite: Annotated[bool, overwrite_option("OUT.h5 if it exists")] = False,
) -> None:
    """Simulate IceCube events with the built-in toy simulator and write them as an event file.

    Physics: light yield proportional to energy, scattering and absorption in ice (with the dust
    layer), Poisson photoelectrons, Pandel-delayed first-hit times, dark noise, HQE DeepCore DOMs.
    Deterministic by seed. Nothing is left behind if it is interrupted. With --labels-from, the
    events are simulated for another file's labels (and its detector and detector response, when
    `genesis simulate` wrote it): simulation for the labels of generated events, or the perfect
    generator that `genesis evaluate` must pass.
    """
    from genesis_cli.engine.detector import icecube86_geometry, load_geometry
    from genesis_cli.engine.simulation.from_labels import read_conditions
    from genesis_cli.engine.simulation.runner import simulate_to_file

    if labels_from is not None and energy_range is not None:
        raise UsageError("--energy-range: the energies come from --labels-from; give one or the other")
    values: dict[str, object] = {"seed": seed, "compression": compression}
    values.update({key: value for key, value in (("events", events), ("kind", kind)) if value is not None})
    if energy_range is not None:
        values["energy_min_gev"], values["energy_max_gev"] = energy_range
    config = validate(SimulationConfig, values, origins=FLAGS, hint="see genesis simulate --help")
    inputs = {"--geometry": geometry, "--labels-from": labels_from}
    check_outputs([Output(output, "OUT.h5")], inputs, overwrite=overwrite)
    detector = load_geometry(geometry) if geometry else None
    conditions = None
    if labels_from is not None:
        conditions = read_conditions(labels_from, limit=events, geometry=detector)
        if events is not None and events > conditions.events:
            raise UsageError(f"--events {events:,}: {labels_from} holds {conditions.events:,} labels",
                             hint="omit --events to simulate one event for each of them")
        recorded = {k: v for k, v in conditions.settings.items() if not (k == "kind" and kind is not None)}
        config = validate(SimulationConfig, {**config.model_dump(), **recorded, "events": conditions.events},
                          hint=f"{labels_from}: its simulation_config attribute is not valid")
        detector = conditions.geometry
    confirm_replacing([output], overwrite)
    detector = detector or icecube86_geometry()
    with progress_callback(config.events, f"simulating {output.name}") as advance:
        summary = simulate_to_file(output, config, detector, overwrite=overwrite, progress=advance,
                                   conditions=conditions)
    size_mb = summary.path.stat().st_size / 1e6
    print_success(f"wrote {summary.events:,} events to {summary.path} ({size_mb:.1f} MB) in "
                  f"{summary.seconds:.1f} s, {summary.events_per_second:,.0f} events/s; "
                  f"mean {summary.mean_hit_doms:.0f} hit DOMs and {summary.mean_total_npe:,.0f} PE per event")
