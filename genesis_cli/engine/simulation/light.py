"""Light in ice: yields, propagation, DOM acceptance and photon arrival times.

Every figure is taken from shared/notes/physics.md with its source:
- The speed of light in ice and the Cherenkov angle: detector/propagation.py.
- Photon yields: 1.28e4 DOM-acceptance-weighted photons per GeV of EM cascade; hadronic
  cascades a fraction F(E); muon tracks 1.28e4 photons per GeV lost, dE/dx = a + b E.
- Point-source fluence in the diffusion approximation,
  Phi(d) = (1 + 3 d / lambda_e) exp(-d / L) / (4 pi d^2), L = sqrt(lambda_a lambda_e / 3).
- DOM angular acceptance a(x), x the z-component of the photon's travel direction (ppc as.dat).
- Scattering delays: the Pandel gamma distribution (AMANDA, astro-ph/0407044); the first of n
  photons is the minimum of n draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genesis_cli.engine.detector.propagation import C_ICE_M_PER_NS

PHOTONS_PER_GEV = 1.28e4
MUON_DEDX_A_GEV_PER_M = 0.26
MUON_DEDX_B_PER_M = 3.6e-4
DOM_EFFECTIVE_AREA_M2 = 0.029
ISOTROPIC_ACCEPTANCE = 0.34

PANDEL_LAMBDA_M = 33.29
PANDEL_TAU_NS = 556.7
PANDEL_ABSORPTION_M = 98.0
#: Scale of the Pandel gamma distribution, 1 / (1/tau + c_ice / lambda_a) = 246.8 ns.
PANDEL_SCALE_NS = 1.0 / (1.0 / PANDEL_TAU_NS + C_ICE_M_PER_NS / PANDEL_ABSORPTION_M)


@dataclass(frozen=True)
class IceModel:
    """Bulk ice plus the dust layer, as effective scattering and absorption lengths (metres).

    Medians over the instrumented depths: lambda_e 33 m, lambda_a 113 m; the dust layer at
    z = -152..-52 m: ~5 m and ~18 m (IceCube SPICE tables, shared/data/icecube_ice_properties.csv).
    """

    scattering_m: float = 33.0
    absorption_m: float = 113.0
    dust_top_z_m: float = -52.0
    dust_bottom_z_m: float = -152.0
    dust_scattering_m: float = 5.0
    dust_absorption_m: float = 18.0

    def lengths_at(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lambda_e, lambda_a) at depth coordinate z (same shape as z)."""
        dust = (z <= self.dust_top_z_m) & (z >= self.dust_bottom_z_m)
        scattering = np.where(dust, self.dust_scattering_m, self.scattering_m).astype(np.float32)
        absorption = np.where(dust, self.dust_absorption_m, self.absorption_m).astype(np.float32)
        return scattering, absorption

    def path_lengths(self, z_source: np.ndarray, z_dom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lengths averaged (in inverse, i.e. in attenuation) over the two ends of a path."""
        se, sa = self.lengths_at(z_source)
        de, da = self.lengths_at(z_dom)
        return 2.0 / (1.0 / se + 1.0 / de), 2.0 / (1.0 / sa + 1.0 / da)


def hadronic_light_fraction(energy_gev: np.ndarray) -> np.ndarray:
    """Light of a hadronic cascade relative to an EM cascade of the same energy."""
    e = np.maximum(energy_gev, 0.2)
    return np.clip(1.0 - 0.69 * (e / 0.188) ** -0.163, 0.0, 1.0)


def muon_range_m(energy_gev: np.ndarray) -> np.ndarray:
    """Mean range of a muon with continuous losses dE/dx = a + b E."""
    a, b = MUON_DEDX_A_GEV_PER_M, MUON_DEDX_B_PER_M
    return np.log1p(b * np.maximum(energy_gev, 0.0) / a) / b


def muon_energy_after(energy_gev: np.ndarray, distance_m: np.ndarray) -> np.ndarray:
    """Muon energy after travelling ``distance_m`` (>= 0)."""
    a, b = MUON_DEDX_A_GEV_PER_M, MUON_DEDX_B_PER_M
    return np.maximum((energy_gev + a / b) * np.exp(-b * distance_m) - a / b, 0.0)


def point_fluence(d: np.ndarray, scattering: np.ndarray, absorption: np.ndarray) -> np.ndarray:
    """Photons per m^2 at distance d (m) from an isotropic point source of one photon."""
    length = np.sqrt(absorption * scattering / 3.0)
    return (1.0 + 3.0 * d / scattering) * np.exp(-d / length) / (4.0 * np.pi * d * d)


def track_fluence_factor(rho: np.ndarray, along: np.ndarray, length: np.ndarray,
                         scattering: np.ndarray, absorption: np.ndarray) -> np.ndarray:
    """Integral over a track segment [0, length] of the point fluence, per photon per metre.

    The DOM is at perpendicular distance ``rho`` from the track line and ``along`` metres along
    it from the start. The integrand f(sqrt(rho^2 + x^2)) is approximated by f(rho) times a
    Gaussian in x whose width combines the geometric 1/r^2 fall-off (exact integral pi/rho) and
    the attenuation (saddle point sqrt(2 pi rho L)); the finite segment enters through erf.
    """
    att_length = np.sqrt(absorption * scattering / 3.0)
    inv_var = 1.0 / (rho * att_length) + 2.0 / (np.pi * rho * rho)
    sigma = 1.0 / np.sqrt(inv_var)
    scale = 1.0 / (np.sqrt(2.0) * sigma)
    window = 0.5 * (erf((length - along) * scale) - erf(-along * scale))
    return point_fluence(rho, scattering, absorption) * sigma * np.sqrt(2.0 * np.pi) * window


def acceptance(cos_up: np.ndarray) -> np.ndarray:
    """Relative DOM acceptance for light travelling with z-direction cosine ``cos_up``.

    Normalised so that isotropic light has acceptance 1 (the yields are already
    acceptance-weighted): a(x) / 0.34, maximum 2 for light straight up into the PMT.
    """
    x = np.clip(cos_up, -1.0, 1.0)
    x2 = x * x
    a = 0.34 + x * (0.16 + x2 * (0.88 + x2 * (-1.05 + 0.35 * x2)))
    return np.maximum(a, 0.0) / ISOTROPIC_ACCEPTANCE


def pandel_first_delay(d: np.ndarray, cos_eta: np.ndarray, n_photons: np.ndarray,
                       uniform: np.ndarray) -> np.ndarray:
    """Delay (ns) of the first of ``n_photons`` scattered photons after travelling ``d`` metres.

    The delay of one photon is Gamma(shape = d_eff / lambda, scale = 246.8 ns); the minimum of n
    has CDF 1 - (1 - F)^n, sampled by inversion at p = 1 - uniform^(1/n) with the Wilson-Hilferty
    gamma quantile (Wilson & Hilferty 1931).
    """
    d_eff = 0.8395 * d + 3.094 - 3.946 * cos_eta + 4.636 * cos_eta * cos_eta
    shape = np.maximum(d_eff, 0.5) / PANDEL_LAMBDA_M
    p = -np.expm1(np.log(np.clip(uniform, 1e-12, 1.0)) / np.maximum(n_photons, 1))
    z = ndtri(np.clip(p, 1e-12, 1 - 1e-12))
    c = 1.0 / (9.0 * shape)
    return shape * PANDEL_SCALE_NS * np.maximum(1.0 - c + z * np.sqrt(c), 0.0) ** 3


def erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz & Stegun 7.1.26; |error| < 1.5e-7)."""
    sign = np.sign(x)
    ax = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * ax)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-ax * ax))


def ndtri(p: np.ndarray) -> np.ndarray:
    """Inverse of the standard normal CDF (P. J. Acklam's rational approximation; rel. error 1e-9)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    p = np.asarray(p, dtype=np.float64)
    out = np.empty_like(p)
    low, high = p < 0.02425, p > 1 - 0.02425
    mid = ~(low | high)
    q = p[mid] - 0.5
    r = q * q
    out[mid] = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
               (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    for mask, sign in ((low, 1.0), (high, -1.0)):
        tail = p[mask] if sign > 0 else 1 - p[mask]
        q = np.sqrt(-2 * np.log(tail))
        out[mask] = sign * (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
                    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    return out
