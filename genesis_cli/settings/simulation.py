"""Settings of the built-in toy simulator (`genesis simulate`): the defaults live here."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from genesis_cli.settings.base import Seed, StrictModel
from genesis_cli.settings.choices import choice

SIMULATION_KINDS = ("cascade", "track", "mixed")
COMPRESSIONS = ("gzip", "lzf", "none")
#: The settings that make up the detector's response (not what is simulated, nor how it is written):
#: `genesis simulate --labels-from` carries them over from a file `genesis simulate` wrote.
RESPONSE_FIELDS = ("efficiency", "noise", "noise_rate_hz", "hqe_noise_rate_hz", "trigger_time_ns",
                   "window_before_ns", "window_after_ns", "time_jitter_ns", "charge_resolution", "saturation_pe")


class SimulationConfig(StrictModel):
    """What to simulate and how to write it."""

    events: int = Field(10_000, gt=0, description="Number of events.")
    seed: Seed = Field(42, description="Random seed; the same seed gives the same file.")
    kind: choice(*SIMULATION_KINDS, noun="kind") = Field(  # type: ignore[valid-type]
        "mixed", description="cascade, track (starting muon track) or mixed (half each).")
    energy_min_gev: float = Field(1e3, gt=0, description="Lowest energy (log-uniform spectrum).")
    energy_max_gev: float = Field(1e6, gt=0, description="Highest energy.")
    vertex_radius_m: float = Field(500.0, gt=0, description="Vertices: radius of the cylinder around the detector axis.")
    vertex_half_height_m: float = Field(500.0, gt=0, description="Vertices: half height of that cylinder.")
    efficiency: float = Field(
        1.0, gt=0, description="Global light-collection factor; 1.0 gives ~170 PE per TeV for "
                               "contained cascades (IceCube: 100-200).")
    noise: bool = Field(True, description="Add dark-noise hits.")
    noise_rate_hz: float = Field(560.0, ge=0, description="Dark-noise rate of a standard DOM.")
    hqe_noise_rate_hz: float = Field(780.0, ge=0, description="Dark-noise rate of an HQE DOM (efficiency 1.35).")
    trigger_time_ns: float = Field(10_000.0, ge=0, description="Interaction time within the readout.")
    window_before_ns: float = Field(4_000.0, ge=0, description="Readout starts this long before the trigger.")
    window_after_ns: float = Field(6_000.0, gt=0, description="Readout ends this long after the trigger.")
    time_jitter_ns: float = Field(2.0, ge=0, description="Gaussian timing jitter of a hit.")
    charge_resolution: float = Field(0.3, ge=0, description="Relative Gaussian width of one photoelectron's charge.")
    saturation_pe: float = Field(
        3000.0, gt=0, description="PMT saturation: recorded charge S (1 - exp(-q / S)) for q photoelectrons.")
    batch_events: int = Field(128, gt=0, description="Events simulated per vectorised batch.")
    chunk_events: int = Field(32, gt=0, description="Events per HDF5 chunk of the output file.")
    compression: choice(*COMPRESSIONS) = Field(  # type: ignore[valid-type]
        "gzip", description="HDF5 compression of the output: gzip (portable), lzf (fast) or none.")

    @model_validator(mode="after")
    def _energy_range(self) -> SimulationConfig:
        if self.energy_min_gev > self.energy_max_gev:
            raise PydanticCustomError(
                "genesis_energy_range", "{lo} must not exceed energy_max_gev ({hi})",
                {"lo": self.energy_min_gev, "hi": self.energy_max_gev, "at": "energy_min_gev"})
        return self
