"""A user's own diffusion loss: ``diffusion.loss_class: mypkg.losses:CustomDiffusion``.

The guide's Custom Loss pattern subclasses :class:`GaussianDiffusion` and overrides ``loss``.
``genesis train`` imports the class named by the setting and trains with it; sampling always uses
the model's weights with the standard denoiser, so a checkpoint samples without the user's
package. A subclass written as in the guide, ``loss(self, x0_sig, geom, label)``, is adapted to
the trainer's call (which also passes the checkpointed noise ``generator``); such a loss draws
its noise from torch's global RNG, so its resumes are not bit-exact.
"""

from __future__ import annotations

import importlib
import inspect

from genesis_cli.engine.diffusion.gaussian import GaussianDiffusion
from genesis_cli.errors import UsageError
from genesis_cli.settings import DiffusionConfig

SETTING = "diffusion.loss_class"


def diffusion_class(config: DiffusionConfig) -> type[GaussianDiffusion]:
    """The diffusion class training uses: GaussianDiffusion, or the subclass ``loss_class`` names."""
    if config.loss_class is None:
        return GaussianDiffusion
    module_name, _, class_name = config.loss_class.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        raise UsageError(f"{SETTING} {config.loss_class!r}: cannot import {module_name} ({exc})",
                         hint="install the package, or put its folder on PYTHONPATH") from exc
    except AttributeError:
        raise UsageError(f"{SETTING} {config.loss_class!r}: {module_name} has no {class_name}",
                         hint="name the class as module:Class") from None
    if not (isinstance(found, type) and issubclass(found, GaussianDiffusion)):
        raise UsageError(f"{SETTING} {config.loss_class!r}: not a subclass of GaussianDiffusion",
                         hint="subclass genesis_cli.GaussianDiffusion and override loss()")
    return found if _takes_generator(found) else _adapted(found)


def _takes_generator(cls: type[GaussianDiffusion]) -> bool:
    parameters = inspect.signature(cls.loss).parameters.values()
    return any(p.name == "generator" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _adapted(cls: type[GaussianDiffusion]) -> type[GaussianDiffusion]:
    """``cls`` with a loss that accepts (and ignores) the trainer's ``generator`` keyword."""
    def loss(self, x0_sig, geom, label, *, generator=None):  # type: ignore[no-untyped-def]
        return cls.loss(self, x0_sig, geom, label)

    return type(cls.__name__, (cls,), {"loss": loss, "__module__": cls.__module__, "__doc__": cls.__doc__})
