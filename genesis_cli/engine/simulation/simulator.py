"""A vectorised toy IceCube simulator: events in the GENESIS format, deterministic by seed.

What the labels mean, per kind:
- cascade: a point-like EM cascade at (X, Y, Z) depositing Energy GeV; Zenith/Azimuth give the
  direction the particle came FROM (IceCube convention), which shapes the DOM acceptance only.
- track: a starting muon-neutrino interaction at the vertex (X, Y, Z) with neutrino Energy GeV:
  a hadronic cascade of y * E at the vertex (inelasticity y = u^2, u uniform: mean 1/3) and a
  muon of (1 - y) * E travelling away from (Zenith, Azimuth), losing energy continuously.
- mixed: each event is a cascade or a track with equal probability (info column 'kind').

Per DOM the mean photoelectron count is the yield times the diffusion-approximation fluence times
the DOM's area, relative efficiency and angular acceptance; the count is Poisson, smeared by the
charge resolution and saturated smoothly at ``saturation_pe`` (a PMT's linear range); the first-hit
time is the direct-light time plus the Pandel delay of the first photon plus jitter; dark-noise
hits fall uniformly over the readout window. No trigger is applied. Figures: light.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from genesis_cli.engine.detector import Geometry, propagation
from genesis_cli.engine.detector.directions import travel_direction
from genesis_cli.engine.simulation import light
from genesis_cli.settings.simulation import SimulationConfig

INFO_COLUMNS = ("kind", "inelasticity", "cascade_energy_gev", "muon_energy_gev", "muon_range_m",
                "interaction_time_ns", "signal_doms", "noise_doms", "total_npe")
KIND_CODES = {"cascade": 0, "track": 1}
#: Mean photoelectrons below which a DOM is not sampled at all (P(hit) < 1e-7).
NEGLIGIBLE_PE = 1e-7
MIN_DISTANCE_M = 1.0
MIN_CHARGE_PE = 0.1


@dataclass
class SimulatedEvents:
    """One batch: signals (B, 2, L) float32 [npe, time ns; inf = no hit], labels (B, 6), info (B, 9)."""

    signals: np.ndarray
    labels: np.ndarray
    info: np.ndarray


class EventSimulator:
    """Draws events for a detector. ``batches()`` yields the file's events in order."""

    def __init__(self, geometry: Geometry, config: SimulationConfig,
                 ice: light.IceModel | None = None) -> None:
        self.geometry = geometry
        self.config = config
        self.ice = ice or light.IceModel()
        self.rng = np.random.default_rng(config.seed)
        self.dom_xyz = geometry.positions.astype(np.float32)[:, None, :]  # (3, 1, L)
        eff = geometry.relative_efficiency
        self.dom_gain = (config.efficiency * light.DOM_EFFECTIVE_AREA_M2 * eff).astype(np.float32)
        self.dom_scattering, self.dom_absorption = self.ice.lengths_at(geometry.z.astype(np.float32))
        extent = geometry.extent
        self.centre = np.array([(lo + hi) / 2 for lo, hi in extent.values()])
        # Dark noise: per-DOM probability of a noise hit within the readout window.
        hqe = np.clip((eff - 1.0) / 0.35, 0.0, 1.0)
        rate = config.noise_rate_hz + hqe * (config.hqe_noise_rate_hz - config.noise_rate_hz)
        self.window = (config.trigger_time_ns - config.window_before_ns,
                       config.trigger_time_ns + config.window_after_ns)
        expected = rate * (self.window[1] - self.window[0]) * 1e-9
        self.noise_mean = float(expected.sum()) if config.noise else 0.0
        self.noise_cdf = np.cumsum(expected) / max(float(expected.sum()), 1e-300)

    # -- sampling the conditions ----------------------------------------------------------------
    def sample_labels(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, 6) labels [E GeV, zenith, azimuth, x, y, z] and (n,) kind codes."""
        c, rng = self.config, self.rng
        log_e = rng.uniform(np.log10(c.energy_min_gev), np.log10(c.energy_max_gev), n)
        zenith = np.arccos(rng.uniform(-1.0, 1.0, n))
        azimuth = rng.uniform(0.0, 2 * np.pi, n)
        radius = c.vertex_radius_m * np.sqrt(rng.uniform(0.0, 1.0, n))
        phi = rng.uniform(0.0, 2 * np.pi, n)
        x = self.centre[0] + radius * np.cos(phi)
        y = self.centre[1] + radius * np.sin(phi)
        z = self.centre[2] + rng.uniform(-c.vertex_half_height_m, c.vertex_half_height_m, n)
        return np.stack([10.0 ** log_e, zenith, azimuth, x, y, z], axis=1), self.draw_kinds(n)

    def draw_kinds(self, n: int) -> np.ndarray:
        """(n,) kind codes of the configured kind (``mixed``: cascade or track with equal probability)."""
        if self.config.kind == "mixed":
            return self.rng.integers(0, 2, n)
        return np.full(n, KIND_CODES[self.config.kind])

    # -- light ----------------------------------------------------------------------------------
    def simulate(self, labels: np.ndarray, kinds: np.ndarray) -> SimulatedEvents:
        """Detector response to events with the given labels (B, 6) and kinds (B,)."""
        c, rng = self.config, self.rng
        n_events, n_doms = labels.shape[0], self.geometry.n_doms
        energy, zenith, azimuth = labels[:, 0], labels[:, 1], labels[:, 2]
        vertex = labels[:, 3:6].T.astype(np.float32)[:, :, None]  # (3, B, 1)
        # The particle travels opposite to the direction it comes from.
        travel = travel_direction(zenith, azimuth).T.astype(np.float32)[:, :, None]  # (3, B, 1)
        is_track = kinds == KIND_CODES["track"]
        inelasticity = np.where(is_track, rng.uniform(0.0, 1.0, n_events) ** 2, 1.0)
        cascade_energy = inelasticity * energy
        cascade_light = np.where(is_track, light.hadronic_light_fraction(cascade_energy), 1.0) * cascade_energy
        muon_energy = np.where(is_track, energy - cascade_energy, 0.0)
        muon_range = light.muon_range_m(muon_energy)

        rel = self.dom_xyz - vertex  # (3, B, L)
        dist = np.maximum(np.sqrt((rel * rel).sum(axis=0)), MIN_DISTANCE_M)
        vtx_scat, vtx_abs = self.ice.lengths_at(vertex[2])
        scat = 2.0 / (1.0 / vtx_scat + 1.0 / self.dom_scattering)
        absorb = 2.0 / (1.0 / vtx_abs + 1.0 / self.dom_absorption)
        cos_up_cascade = rel[2] / dist
        mu_cascade = (self.dom_gain * (light.PHOTONS_PER_GEV * cascade_light)[:, None].astype(np.float32)
                      * light.point_fluence(dist, scat, absorb)
                      * _scattered_acceptance(cos_up_cascade, dist, scat))

        along = np.zeros_like(dist)
        rho = dist
        cos_up_track = cos_up_cascade
        mu_track = np.zeros_like(dist)
        if is_track.any():
            t = np.flatnonzero(is_track)
            along_t = (rel[:, t] * travel[:, t]).sum(axis=0)  # (T, L)
            perp = rel[:, t] - along_t * travel[:, t]
            rho_t = np.maximum(np.sqrt((perp * perp).sum(axis=0)), MIN_DISTANCE_M)
            length = muon_range[t, None].astype(np.float32)
            closest = np.clip(along_t, 0.0, length)
            e_closest = light.muon_energy_after(muon_energy[t, None], closest)
            photons_per_m = light.PHOTONS_PER_GEV * (light.MUON_DEDX_A_GEV_PER_M
                                                     + light.MUON_DEDX_B_PER_M * e_closest)
            track_scat, track_abs = self.ice.path_lengths(vertex[2, t] + closest * travel[2, t],
                                                          self.dom_xyz[2])
            cos_up_t = perp[2] / rho_t
            mu_track[t] = (self.dom_gain * photons_per_m.astype(np.float32)
                           * light.track_fluence_factor(rho_t, along_t, length, track_scat, track_abs)
                           * _scattered_acceptance(cos_up_t, rho_t, track_scat))
            along = along.copy()
            along[t] = along_t
            rho = rho.copy()
            rho[t] = rho_t
            cos_up_track = cos_up_track.copy()
            cos_up_track[t] = cos_up_t

        mu = mu_cascade + mu_track
        candidates = np.flatnonzero(mu > NEGLIGIBLE_PE)
        counts = rng.poisson(mu.ravel()[candidates])
        hit = candidates[counts > 0]
        n_pe = counts[counts > 0].astype(np.float64)
        ev = hit // n_doms

        # First-hit time of each hit DOM from its dominant light source.
        flat = lambda a: a.ravel()[hit]  # noqa: E731
        d_h, along_h, rho_h = flat(dist), flat(along), flat(rho)
        from_track = flat(mu_track) > flat(mu_cascade)
        emit = along_h - rho_h / np.tan(propagation.CHERENKOV_ANGLE_RAD)
        length_h = muon_range[ev]
        on_track = from_track & (emit >= 0) & (emit <= length_h)
        beyond_end = from_track & (emit > length_h)
        end_dist = np.sqrt(np.maximum(rho_h ** 2 + (along_h - length_h) ** 2, MIN_DISTANCE_M ** 2))
        t0 = c.trigger_time_ns
        t_geo = np.where(on_track, t0 + (along_h + propagation.TRACK_DELAY_COEFF * rho_h) / propagation.C_VACUUM_M_PER_NS,
                         np.where(beyond_end, t0 + length_h / propagation.C_VACUUM_M_PER_NS + end_dist / propagation.C_ICE_M_PER_NS,
                                  t0 + d_h / propagation.C_ICE_M_PER_NS))
        path = np.where(on_track, rho_h / np.sin(propagation.CHERENKOV_ANGLE_RAD), np.where(beyond_end, end_dist, d_h))
        cos_eta = np.where(from_track, flat(cos_up_track), flat(cos_up_cascade))
        delay = light.pandel_first_delay(path, cos_eta, n_pe, rng.uniform(size=hit.size))
        times = t_geo + delay + c.time_jitter_ns * rng.standard_normal(hit.size)
        charge = np.maximum(n_pe + c.charge_resolution * np.sqrt(n_pe) * rng.standard_normal(hit.size),
                            MIN_CHARGE_PE)
        charge = c.saturation_pe * -np.expm1(-charge / c.saturation_pe)
        inside = times <= self.window[1]
        hit, times, charge, ev = hit[inside], times[inside], charge[inside], ev[inside]

        npe = np.zeros(n_events * n_doms, dtype=np.float64)
        first = np.full(n_events * n_doms, np.inf)
        npe[hit] = charge
        first[hit] = times
        signal_doms = np.bincount(ev, minlength=n_events)
        noise_doms = self._add_noise(npe, first, n_events)

        signals = np.stack([npe.reshape(n_events, n_doms), first.reshape(n_events, n_doms)], axis=1)
        info = np.stack([
            kinds.astype(np.float64), np.where(is_track, inelasticity, 1.0), cascade_energy, muon_energy,
            muon_range, np.full(n_events, t0), signal_doms, noise_doms,
            signals[:, 0].sum(axis=1),
        ], axis=1)
        return SimulatedEvents(signals.astype(np.float32), labels, info)

    def _add_noise(self, npe: np.ndarray, first: np.ndarray, n_events: int) -> np.ndarray:
        """Add dark-noise hits in place; return the per-event count of noise-only DOMs."""
        n_doms = self.geometry.n_doms
        if self.noise_mean <= 0:
            return np.zeros(n_events)
        counts = self.rng.poisson(self.noise_mean, n_events)
        total = int(counts.sum())
        doms = np.minimum(np.searchsorted(self.noise_cdf, self.rng.uniform(size=total)), n_doms - 1)
        flat = np.repeat(np.arange(n_events), counts) * n_doms + doms
        times = self.rng.uniform(*self.window, size=total)
        charge = np.maximum(1.0 + self.config.charge_resolution * self.rng.standard_normal(total), MIN_CHARGE_PE)
        noise_only = npe[flat] == 0
        np.add.at(npe, flat, charge)
        np.minimum.at(first, flat, times)
        unique_noise_only = np.unique(flat[noise_only])
        return np.bincount(unique_noise_only // n_doms, minlength=n_events).astype(np.float64)

    def batches(self, n_events: int, progress: Callable[[int], None] | None = None) -> Iterator[SimulatedEvents]:
        """Simulate ``n_events`` in batches of ``config.batch_events``, calling ``progress(done)``."""
        done = 0
        while done < n_events:
            size = min(self.config.batch_events, n_events - done)
            labels, kinds = self.sample_labels(size)
            yield self.simulate(labels, kinds)
            done += size
            if progress is not None:
                progress(done)

    def batches_for(self, labels: np.ndarray, progress: Callable[[int], None] | None = None) -> Iterator[SimulatedEvents]:
        """Simulate one event for each row of ``labels`` (N, 6), in order, of kinds drawn by
        ``config.kind``, in batches of ``config.batch_events``, calling ``progress(done)``."""
        for start in range(0, len(labels), self.config.batch_events):
            stop = min(start + self.config.batch_events, len(labels))
            yield self.simulate(np.asarray(labels[start:stop], dtype=np.float64), self.draw_kinds(stop - start))
            if progress is not None:
                progress(stop)


def _scattered_acceptance(cos_up: np.ndarray, distance: np.ndarray, scattering: np.ndarray) -> np.ndarray:
    """Directional acceptance for direct light, fading to isotropic (1) as light scatters."""
    directness = np.exp(-distance / scattering)
    return 1.0 + (light.acceptance(cos_up) - 1.0) * directness
