"""The five architectures: interface, shapes, gradients, determinism, overfitting, zero-init."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genesis_cli import GaussianDiffusion, ModelFactory
from genesis_cli.engine.detector import icecube86_geometry
from genesis_cli.engine.models import build_model, count_parameters, model_cost
from genesis_cli.engine.models.attention import AdaLNBlock
from genesis_cli.engine.models.layout import build_layout, resolve_patch
from genesis_cli.settings import resolve_config

ARCHITECTURES = ["dit", "cnn", "mlp", "hybrid", "resnet"]


def small_geometry(strings: int = 6, doms: int = 10) -> torch.Tensor:
    """(3, L) normalised positions of a small stringed detector."""
    angle = torch.arange(strings) * 2 * np.pi / strings
    x = torch.cos(angle).repeat_interleave(doms) * 0.5
    y = torch.sin(angle).repeat_interleave(doms) * 0.5
    z = torch.linspace(0.9, -0.9, doms).repeat(strings)
    return torch.stack([x, y, z]).float()


def tiny(architecture: str, *overrides: str):  # type: ignore[no-untyped-def]
    return resolve_config(overrides=[f"model.architecture={architecture}", "model.hidden=32", "model.depth=2",
                                     "model.heads=2", "model.kernel_sizes=[3, 5]", "model.patch_size=2",
                                     "diffusion.timesteps=50", *overrides]).config


def make(architecture: str, *overrides: str, seed: int = 0):  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    config = tiny(architecture, *overrides)
    return ModelFactory.create_model_and_diffusion(config.model, config.diffusion, geometry=small_geometry())


CHANNELS = 3  # npe, time and the hit channel (the default representation)


def batch(n: int = 3, length: int = 60, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Noisy-looking events (B, 3, L) with a +-1 hit channel, timesteps and normalised labels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, CHANNELS, length, generator=g)
    x[:, 2] = torch.where(torch.rand(n, length, generator=g) < 0.2, 1.0, -1.0)
    return x, torch.randint(0, 50, (n,), generator=g), torch.rand(n, 6, generator=g) * 2 - 1


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_output_shape_and_geometry_forms(architecture: str) -> None:
    model, _ = make(architecture)
    x, t, label = batch()
    geometry = small_geometry()
    out = model(x, t, label, geometry)
    assert out.shape == (3, CHANNELS, 60)
    assert torch.allclose(out, model(x, t, label, geometry.expand(3, -1, -1)))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_model_predicts_zero_at_initialisation(architecture: str) -> None:
    model, _ = make(architecture)
    x, t, label = batch()
    assert torch.count_nonzero(model(x, t, label, small_geometry())) == 0


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_gradients_reach_every_parameter(architecture: str) -> None:
    model, _ = make(architecture)
    with torch.no_grad():  # leave the zero-initialised start, where gradients are blocked by design
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x, t, label = batch(4)
    drop = torch.tensor([True, False, True, False])
    model(x, t, label, small_geometry(), drop_label=drop).square().mean().backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert dead == []


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_deterministic_under_a_seed(architecture: str) -> None:
    a, _ = make(architecture, seed=5)
    b, _ = make(architecture, seed=5)
    x, t, label = batch()
    for model in (a, b):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.sin(torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape)) * 0.05)
    assert torch.equal(a(x, t, label, small_geometry()), b(x, t, label, small_geometry()))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_tiny_model_overfits_a_four_event_batch(architecture: str) -> None:
    """The training objective with frozen randomness: the loss must fall by more than 90%."""
    model, diffusion = make(architecture)
    x0, _, label = batch(4)
    x0 = x0 * 0.5
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        loss = diffusion.loss(x0, small_geometry(), label, generator=torch.Generator().manual_seed(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])


def test_dit_blocks_start_as_the_identity() -> None:
    torch.manual_seed(0)
    block = AdaLNBlock(32, 4, 4.0)
    x, c = torch.randn(2, 7, 32), torch.randn(2, 32)
    assert torch.equal(block(x, c), x)


@pytest.mark.parametrize("fusion", ["FiLM", "SUM"])
def test_label_fusions_and_learned_null_label(fusion: str) -> None:
    model, _ = make("dit", f"model.fusion={fusion}")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x, t, label = batch()
    conditional = model(x, t, label, small_geometry())
    dropped = model(x, t, label, small_geometry(), drop_label=torch.ones(3, dtype=torch.bool))
    other_labels = model(x, t, -label, small_geometry(), drop_label=torch.ones(3, dtype=torch.bool))
    assert not torch.allclose(conditional, dropped)
    assert torch.equal(dropped, other_labels)  # the null embedding ignores the label entirely


def test_layout_round_trip_and_string_order() -> None:
    geometry = icecube86_geometry().positions
    layout = build_layout(geometry, resolve_patch("string", geometry), neighbours=6)
    assert (layout.n_strings, layout.n_positions, layout.patch) == (86, 1, 60)
    x = torch.randn(2, 5, 5160)
    grid = layout.to_grid(x)
    assert grid.shape == (2, 5, 86, 60)
    assert torch.equal(layout.from_grid(grid), x)
    assert torch.equal(grid[0, 0, 3], x[0, 0, 180:240])  # string 3, top to bottom
    assert torch.allclose(layout.adjacency.sum(dim=1), torch.ones(86))


def test_layout_without_strings_uses_file_order_segments() -> None:
    rng = np.random.default_rng(0)
    geometry = rng.uniform(-1, 1, (3, 130))
    layout = build_layout(geometry, 4, neighbours=2)
    assert layout.n_strings == 3  # 60 + 60 + 10 DOMs
    assert layout.index[0, :60].tolist() == list(range(60))
    assert (layout.index[2, 10:] == -1).all()  # padding
    x = torch.randn(1, 2, 130)
    assert torch.equal(layout.from_grid(layout.to_grid(x)), x)


def test_model_on_a_detector_without_strings() -> None:
    config = tiny("cnn")
    model = build_model(config.model, geometry=np.random.default_rng(0).uniform(-1, 1, (3, 70)))
    geometry = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (3, 70))).float()
    x, t, label = batch(2, 70)
    assert model(x, t, label, geometry).shape == (2, CHANNELS, 70)


def test_factory_on_real_icecube_shapes() -> None:
    config = resolve_config("debug").config
    model, diffusion = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device="cpu")
    assert isinstance(diffusion, GaussianDiffusion) and diffusion.model is model
    geometry = torch.from_numpy(icecube86_geometry().positions).float() / 541.0
    x, t, label = batch(2, 5160)
    assert model(x, t, label, geometry).shape == (2, CHANNELS, 5160)


def test_model_cost_reports_parameters_and_flops() -> None:
    config = resolve_config("debug").config
    cost = model_cost(config.model)
    assert cost.parameters == count_parameters(build_model(config.model))
    assert cost.forward_flops_per_event > 0 and cost.training_flops_per_event == 3 * cost.forward_flops_per_event


def test_one_token_per_dom_costs_far_more_than_one_per_string() -> None:
    per_string = model_cost(resolve_config("debug").config.model).forward_flops_per_event
    per_dom = model_cost(resolve_config("debug", overrides=["model.patch_size=1"]).config.model).forward_flops_per_event
    assert per_dom > 30 * per_string


def test_patch_embedding_split_equals_one_linear_over_all_features() -> None:
    """Embedding the shared geometry features once and broadcasting is the same Linear over [signal, static]."""
    from genesis_cli.engine.models.embeddings import STATIC_FEATURES, PatchEmbed

    torch.manual_seed(0)
    embed = PatchEmbed(patch=4, hidden=16, dynamic=3)
    features = 3 + STATIC_FEATURES
    signal = torch.randn(3, 3, 5, 8)
    static = torch.randn(1, STATIC_FEATURES, 5, 8)
    grid = torch.cat([signal, static.expand(3, -1, -1, -1)], dim=1)  # (B, F, S, D)
    patches = grid.reshape(3, features, 5, 2, 4).permute(0, 2, 3, 4, 1).reshape(3, 5, 2, 4 * features)
    torch.testing.assert_close(embed(signal, static), embed.proj(patches), rtol=1e-5, atol=1e-5)


def test_flops_per_event_leave_out_work_shared_by_the_batch() -> None:
    from genesis_cli.engine.models.profile import batch_flops, forward_flops

    config = resolve_config("debug").config.model
    model = build_model(config).eval()
    positions = torch.from_numpy(icecube86_geometry().positions).float()
    geometry = positions / positions.abs().max()
    one, per_event = batch_flops(model, geometry, 1), forward_flops(model, geometry)
    assert 0 < per_event < one  # the geometry embedding is paid once per batch
    assert batch_flops(model, geometry, 3) == one + 2 * per_event  # linear in the batch beyond that


def test_label_relative_features_are_the_physics() -> None:
    """Distances, angles and the track's light delay agree with detector/propagation.py (numpy, metres)."""
    from genesis_cli.engine.detector.propagation import C_ICE_M_PER_NS, C_VACUUM_M_PER_NS, track_geometry
    from genesis_cli.engine.models.dom_condition import label_relative_features

    scale = 500.0
    geometry = small_geometry()
    label = torch.tensor([[0.3, -0.2, 0.4, 0.1, -0.2, 0.3]])
    features = label_relative_features(label, geometry, scale)[0].double().numpy()
    physical = np.array([[0.0, (-0.2 + 1) * np.pi / 2, (0.4 + 1) * np.pi, 0.1 * scale, -0.2 * scale, 0.3 * scale]])
    positions = geometry.double().numpy() * scale
    along, perp = track_geometry(physical, positions)
    distance = np.linalg.norm(positions - physical[0, 3:6, None], axis=0)
    np.testing.assert_allclose(features[1], distance / 500.0, rtol=1e-4)
    np.testing.assert_allclose(features[2], along[0] / distance, atol=1e-4)
    np.testing.assert_allclose(features[3], (positions[2] - physical[0, 5]) / distance, atol=1e-4)
    cone = along[0] * np.tan(np.deg2rad(40.72)) >= perp[0]
    delay = np.where(cone, (along[0] + 0.9173 * perp[0]) / C_VACUUM_M_PER_NS - distance / C_ICE_M_PER_NS, 0.0)
    np.testing.assert_allclose(features[6], delay / 300.0, atol=1e-3)
    assert (features[6] <= 1e-6).all()  # a muon's light never arrives after the vertex's own light
    dropped = label_relative_features(label, geometry, scale, drop_label=torch.tensor([True]))
    assert torch.count_nonzero(dropped) == 0  # the null label carries no per-DOM label information


def test_dom_head_split_equals_one_linear_over_all_features() -> None:
    from genesis_cli.engine.models.dom_condition import DomHead

    torch.manual_seed(0)
    head = DomHead(dynamic=5, static=4, width=8, channels=3)
    torch.nn.init.normal_(head.out.weight)
    dynamic, static = torch.randn(2, 5, 11), torch.randn(1, 4, 11)
    features = torch.cat([dynamic, static.expand(2, -1, -1)], dim=1).transpose(1, 2)
    expected = head.out(torch.nn.functional.silu(head.hidden(features))).transpose(1, 2)
    torch.testing.assert_close(head(dynamic, static), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("settings", [["model.dom_head=0"], ["model.dom_conditioning=false", "model.dom_head=0"],
                                      ["diffusion.hit_channel=false"]])
def test_representation_and_conditioning_switches(settings: list[str]) -> None:
    """Every combination of the representation and conditioning settings builds and runs."""
    config = tiny("cnn", *settings)
    model, _ = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, geometry=small_geometry())
    channels = config.diffusion.event_channels
    x, t, label = batch()
    assert model(x[:, :channels], t, label, small_geometry()).shape == (3, channels, 60)


@pytest.mark.parametrize("architecture", ["dit", "cnn"])
def test_the_file_order_of_doms_does_not_change_what_a_model_predicts(architecture: str) -> None:
    """A detector in grid order is read as a view (no gather); any other DOM order gives the same
    prediction for each DOM, permuted along: the layout, not the file order, defines the grid."""
    from genesis_cli.engine.models.layout import build_layout

    models = []
    for _ in range(2):  # a model derives its grid once, for its one detector: one model per DOM order
        model, _ = make(architecture)
        with torch.no_grad():  # away from the zero-initialised output
            for p in model.parameters():
                p.add_(torch.sin(torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape)) * 0.05)
        models.append(model)
    geometry = small_geometry()
    assert build_layout(geometry.numpy(), 2, 0).in_order
    order = torch.from_numpy(np.random.default_rng(3).permutation(geometry.shape[1]))
    shuffled_layout = build_layout(geometry[:, order].numpy(), 2, 0)
    assert shuffled_layout.dense and not shuffled_layout.in_order
    x, t, label = batch()
    with torch.no_grad():
        in_order, shuffled = models[0](x, t, label, geometry), models[1](x[:, :, order], t, label, geometry[:, order])
    assert in_order.abs().mean() > 1e-3
    torch.testing.assert_close(shuffled, in_order[:, :, order], rtol=1e-4, atol=1e-5)


def test_torch_compile_never_traces_the_detector_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The layout is host-side work done once; traced, TorchDynamo 2.11 did not finish within minutes."""
    from genesis_cli.engine.models import base

    traced: list[bool] = []

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        traced.append(torch.compiler.is_compiling())
        return build_layout(*args, **kwargs)

    monkeypatch.setattr(base, "build_layout", spy)
    model, _ = make("dit")
    x, t, label = batch()
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="eager")
    assert torch.allclose(compiled(x, t, label, small_geometry()), model(x, t, label, small_geometry()), atol=1e-5)
    assert traced == [False]
