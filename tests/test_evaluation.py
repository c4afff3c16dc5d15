"""The judge: a perfect generator passes, copies and every distortion fail on the check that measures them.

The cases (genesis_cli.engine.evaluation.distortions.CASES) start from simulation: a reference file
of 2,000 events, its twin (the simulator on the reference's labels with another seed: the perfect
generator, paired with the reference event by event as in the fidelity benchmark) and an
independent simulation. Each case must get its verdict: PASS for the perfect generator and smaller
samples of it; FAIL as memorised for copies, as low diversity for repeats, and on the physics
shift or check that measures each distortion. The reference is computed once and shared, as
`genesis compare` shares it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from genesis_cli.engine.detector import icecube86_geometry
from genesis_cli.engine.evaluation import metrics
from genesis_cli.engine.evaluation.classifier import auc_null_sigma, classifier_auc, quantile_transform
from genesis_cli.engine.evaluation.copies import near_copy
from genesis_cli.engine.evaluation.distortions import CASES, Events, JudgeInputs, simulated_inputs
from genesis_cli.engine.evaluation.features import dom_rows
from genesis_cli.engine.evaluation.observables import Observables, collect
from genesis_cli.engine.evaluation.pairing import Pairing
from genesis_cli.engine.evaluation.reference import RealReference
from genesis_cli.engine.evaluation.report import EvaluationReport, compare_observables
from genesis_cli.engine.evaluation.verdicts import PASS, TOO_FEW, significance_verdict, verdict
from genesis_cli.settings.evaluation import EvaluationConfig

EVENTS = 2000


def observe(events: Events) -> Observables:
    signals, labels = events
    blocks = ((signals[i:i + 256], labels[i:i + 256]) for i in range(0, len(signals), 256))
    with np.errstate(all="ignore"):
        return collect(blocks, icecube86_geometry(), dom_limit=EVENTS)


@pytest.fixture(scope="module")
def inputs() -> JudgeInputs:
    return simulated_inputs(EVENTS, 1, icecube86_geometry())


@pytest.fixture(scope="module")
def reference(inputs: JudgeInputs) -> RealReference:
    """The reference file's observables and real-vs-real references (computed once per size)."""
    return RealReference.of(observe(inputs.real))


def judge(reference: RealReference, events: Events) -> EvaluationReport:
    with np.errstate(all="ignore"):
        return compare_observables(reference, observe(events))


@pytest.fixture(scope="module")
def judged(reference: RealReference, inputs: JudgeInputs) -> Callable[[str], EvaluationReport]:
    """The report on a case by name, judged once for every test that reads it."""
    reports: dict[str, EvaluationReport] = {}

    def report(name: str) -> EvaluationReport:
        if name not in reports:
            case = next(c for c in CASES if c.name == name)
            signals, labels = case.make(inputs)
            reports[name] = judge(reference, (signals[:case.events], labels[:case.events]))
        return reports[name]
    return report


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_gets_its_verdict(judged: Callable[[str], EvaluationReport], case) -> None:  # type: ignore[no-untyped-def]
    report = judged(case.name)
    assert case.met_by(report.overall), f"{case.name}: must be {case.expect} {case.check}; {report.overall.line}"


def test_the_perfect_generator_is_paired_and_its_classifiers_sit_at_chance(
        judged: Callable[[str], EvaluationReport]) -> None:
    report = judged("perfect generator (same labels)")
    assert report.pairs == EVENTS and report.conditional is not None
    for row in report.summary[:2]:  # both AUCs within 3 sigma of 0.5, the sigma at this size
        assert abs(row.value - 0.5) < 3 * row.error, (row.metric, row.value, row.error)
    assert all(abs(s.z) < 3 for s in report.shifts), [(s.name, s.text()) for s in report.shifts]


@pytest.mark.slow
def test_the_perfect_generator_passes_at_3000_events() -> None:
    big = simulated_inputs(3000, 7, icecube86_geometry())
    report = judge(RealReference.of(observe(big.real)), big.twin)
    assert report.overall.verdict == PASS, report.overall.line


def test_an_independent_simulation_passes(reference: RealReference, inputs: JudgeInputs) -> None:
    report = judge(reference, inputs.independent)
    assert report.pairs == 0 and report.overall.verdict == PASS, report.overall.line


def test_shifts_are_measured_in_physical_units(judged: Callable[[str], EvaluationReport]) -> None:
    """npe x1.1 is a +10% energy scale, +5 ns a 5 ns offset: the number a physicist quotes, within its error."""
    scaled, late = judged("npe x1.1"), judged("hit times +5 ns")
    energy = next(s for s in scaled.shifts if s.name == "energy scale")
    offset = next(s for s in late.shifts if s.name == "time offset")
    assert energy.value == pytest.approx(0.10, abs=max(3 * energy.error, 0.005)) and energy.verdict == "poor"
    assert offset.value == pytest.approx(5.0, abs=max(3 * offset.error, 0.3)) and offset.verdict == "poor"
    assert f"energy scale {energy.text()}" in scaled.overall.line  # the line quotes the scale, e.g. "+9.8 ± 0.2 %"


def test_grouped_folds_remove_the_pairing_leak(inputs: JudgeInputs) -> None:
    """Twins made for the same labels in opposite folds teach the classifier to call each the opposite class:
    near copies of the real events, cross-validated by event, score far below 0.5; grouped by pair, 0.5."""
    from genesis_cli.engine.evaluation.distortions import near_copy as disguised

    real = observe(inputs.real)
    twins = observe(disguised(*inputs.real, np.random.default_rng(0)))
    pairing = Pairing.of(real.labels, twins.labels)
    rows = dom_rows(real), dom_rows(twins)
    leaky = classifier_auc(*rows).auc
    grouped = classifier_auc(*rows, real_groups=pairing.real_groups[real.dom_event],
                             other_groups=pairing.generated_groups[twins.dom_event]).auc
    sigma = auc_null_sigma(EVENTS, EVENTS)
    assert leaky < 0.5 - 5 * sigma and abs(grouped - 0.5) < 3 * sigma, (leaky, grouped)


def test_pairing_finds_partners_by_label_in_any_order() -> None:
    rng = np.random.default_rng(0)
    labels = rng.uniform(1, 2, (6, 6)).astype(np.float32)
    order = np.array([3, 0, 5, 1])
    pairing = Pairing.of(labels, np.concatenate([labels[order], rng.uniform(3, 4, (2, 6))]))
    assert pairing.pairs == 4 and pairing.paired
    assert np.array_equal(pairing.real_index, order) and np.array_equal(pairing.generated_index, np.arange(4))
    assert np.array_equal(pairing.real_groups[order], pairing.generated_groups[:4])
    assert len(set(pairing.generated_groups[4:]) & set(pairing.real_groups)) == 0


def test_subset_keeps_exactly_the_hits_of_its_events(inputs: JudgeInputs) -> None:
    obs = observe((inputs.real[0][:300], inputs.real[1][:300]))
    first, second = obs.subset(np.arange(150)), obs.subset(np.arange(150, 300))
    assert len(first.npe_sample) + len(second.npe_sample) == len(obs.npe_sample)
    hits = (inputs.real[0][:150, 0] > 0).sum()
    assert len(first.npe_sample) == hits  # every hit of a small file is sampled
    assert first.images.shape[0] == 150 and len(second.hits) == 150
    picked = obs.subset(np.array([299, 7]))  # rows in the order asked; images and hits in file order, mapped
    assert np.array_equal(picked.hashes, obs.hashes[[299, 7]]) and np.array_equal(picked.dom_event, [1, 0])
    assert np.array_equal(picked.hits.event(1)[0], obs.hits.event(299)[0])


def test_references_are_drawn_at_the_test_sizes(reference: RealReference) -> None:
    equal, small = reference.at(EVENTS), reference.at(200)
    assert equal.draw_sizes == (1000, 1000) and equal.factor == pytest.approx(0.5)  # halves: twice the test's noise
    assert small.draw_sizes == (200, 1800) and small.factor == pytest.approx((1 / 2000 + 1 / 200) / (1 / 200 + 1 / 1800))
    assert small.observables["n_hit"][0] > 1.5 * equal.observables["n_hit"][0]  # fewer events, more noise allowed


def test_too_few_events_is_not_a_verdict(reference: RealReference, inputs: JudgeInputs) -> None:
    report = judge(reference, (inputs.twin[0][:60], inputs.twin[1][:60]))
    assert report.overall.verdict == TOO_FEW
    assert "60 generated events; the judge needs at least 100 (evaluation.min_events)" in report.overall.line
    judged = [r.verdict for r in (*report.summary, *report.binned, *report.shifts, *report.copies)]
    judged += [v for o in report.observables for v in (o.w1_verdict, o.separation_verdict)]
    assert set(judged) == {"n/a"}  # figures, but nothing this small is called good or poor


def test_five_real_events_give_strict_json_and_no_verdict(cli, toy_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 23: with 5 real events the Frechet distance read 3.8e17 and --json wrote bare NaN tokens."""
    import json

    from genesis_cli.engine.data.subset import write_subset

    real, generated = (write_subset(toy_file, np.arange(a, a + 5), tmp_path / f"{a}.h5", overwrite=True) for a in (0, 5))
    result = cli("evaluate", "--real-data", str(real), "--generated-data", str(generated), "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    assert "TOO FEW EVENTS" in result.stdout and " good" not in result.stdout and " poor" not in result.stdout

    def refuse(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    report = json.loads((tmp_path / "r.json").read_text(), parse_constant=refuse)
    assert report["verdict"] == TOO_FEW
    frechet = next(r for r in report["summary"] if r["metric"].startswith("Frechet"))
    assert frechet["value"] is None or frechet["value"] < 1e4


def test_the_frechet_distance_leaves_out_features_constant_in_the_real_file() -> None:
    rng = np.random.default_rng(0)
    real, generated = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    real[:, 1] = 7.0  # constant in the real file (e.g. a label range of one value), varying in the generated one
    generated[:, 1] = 7.0 + rng.normal(size=5)
    mean, std = real.mean(axis=0), real.std(axis=0)
    value = metrics.standardised_frechet(real, generated, mean, std)
    kept = metrics.frechet_distance((real[:, [0, 2]] - mean[[0, 2]]) / std[[0, 2]],
                                    (generated[:, [0, 2]] - mean[[0, 2]]) / std[[0, 2]])
    assert value == pytest.approx(kept) and value < 100
    assert np.isnan(metrics.standardised_frechet(real[:, [1]], generated[:, [1]], mean[[1]], std[[1]]))


def test_near_copies_and_independent_events() -> None:
    dom = np.array([3, 8, 20, 41, 77], np.int32)
    npe, time = np.array([1.0, 2.5, 7.0, 1.2, 30.0], np.float32), np.array([10.0, 25.0, 31.0, 60.0, 90.0], np.float32)
    rule = EvaluationConfig().near_copy
    assert near_copy((dom, npe, time), (dom, npe * 1.01, time + 0.4), rule)
    assert not near_copy((dom, npe, time), (dom, npe, time + 12.0), rule)  # times tens of ns apart: another event
    assert not near_copy((dom, npe, time), (dom[:3], npe[:3], time[:3]), rule)  # other DOMs hit
    assert not near_copy((dom[:0], npe[:0], time[:0]), (dom[:0], npe[:0], time[:0]), rule)  # no hits: nothing to copy


def test_quantile_transform_is_rank_based_and_keeps_ties_and_nan() -> None:
    x = np.array([[1.0, 5.0], [1e9, 5.0], [-3.0, np.nan], [2.0, 5.0]])
    out = quantile_transform(x)
    assert np.array_equal(np.argsort(out[:, 0]), [2, 0, 3, 1]) and abs(out[:, 0].mean()) < 1e-6
    assert out[0, 1] == out[1, 1] == out[3, 1] > out[2, 1]  # ties share a value; NaN is lowest


def test_significance_verdicts() -> None:
    rule = (3.0, 5.0, 0.02, 0.05)
    assert significance_verdict(0.01, 10.0, rule) == "good"  # below the floor: too small to matter
    assert significance_verdict(0.04, 2.0, rule) == "good"  # within the noise
    assert significance_verdict(0.04, 8.0, rule) == "fair"  # real, but below the fair limit
    assert significance_verdict(0.10, 4.0, rule) == "fair"  # large, but not yet significant
    assert significance_verdict(-0.10, 8.0, rule) == "poor"  # two-sided
    assert significance_verdict(float("nan"), 1.0, rule) == "n/a"


def test_the_worst_of_many_bins_is_judged_as_one_test() -> None:
    from genesis_cli.engine.evaluation.shifts import family_z

    assert family_z(3.0, 1) == 3.0
    assert family_z(3.69, 12) == pytest.approx(3.0, abs=0.02)  # Sidak: 12 bins at 3.69 sigma ~ one at 3
    assert family_z(8.0, 12) > 7.0 and family_z(1.0, 12) < 0.1


def test_the_onset_is_judged_per_energy_and_zenith_bin(judged: Callable[[str], EvaluationReport]) -> None:
    """An onset right on average and 10 ns late above 2e5 GeV: every bin of the top energy quartile sees
    about 10 ns (paired: within its error), every other bin about 0, and the worst bin fails the run."""
    from genesis_cli.engine.evaluation.shifts import BINNED_TIME_OFFSET

    report = judged("hit times +10 ns above 2e5 GeV only")
    assert len(report.onset_bins) == 12  # 4 energy quartiles x up-going, horizontal, down-going
    top = [s for s in report.onset_bins if s.name.startswith("time offset, E 1.8e+05")]
    assert len(top) == 3 and all(abs(s.value - 10.0) < 2.0 and s.verdict == "poor" for s in top), top
    assert all(s.verdict == "good" for s in report.onset_bins if s not in top)
    assert BINNED_TIME_OFFSET in report.overall.poor and "onset_bins" in report.to_dict()
    perfect = judged("perfect generator (same labels)")
    assert all(s.verdict == "good" for s in perfect.onset_bins)


def test_probability_transform_w1() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 20000)
    assert metrics.pit_wasserstein1(a, rng.normal(0, 1, 20000)) < 0.01
    assert metrics.pit_wasserstein1(a, a + 100) == pytest.approx(0.5, abs=1e-3)  # disjoint: the maximum
    assert metrics.pit_wasserstein1(a, a * 1000 + 1e6) == pytest.approx(0.5, abs=1e-3)  # scale-free


def test_the_verdict_thresholds_are_settings() -> None:
    from genesis_cli.engine.evaluation.verdicts import DISTANCE_KINDS

    assert all(isinstance(getattr(EvaluationConfig(), kind), tuple) for kind in DISTANCE_KINDS)
    assert verdict("w1", 0.045, 0.01) == "fair"  # beyond 4x its reference, within the fair limit 0.05
    assert verdict("w1", 0.045, 0.01, settings=EvaluationConfig(w1=(3.0, 0.05, 0.1))) == "good"
    assert significance_verdict(0.04, 8.0, EvaluationConfig(auc=(3.0, 5.0, 0.01, 0.03)).auc) == "poor"


def test_evaluate_refuses_a_bad_evaluation_setting_before_reading_files(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("evaluate", "--real-data", str(tmp_path / "a.h5"), "--generated-data", str(tmp_path / "b.h5"),
                 "--set", "evaluation.classifier_folds=1")
    assert result.exit_code == 2
    assert "--set evaluation.classifier_folds=1: evaluation.classifier_folds: input should be greater than or equal to 3" \
        in result.stderr
    retired = cli("evaluate", "--real-data", str(tmp_path / "a.h5"), "--generated-data", str(tmp_path / "b.h5"),
                  "--set", "evaluation.classifier_epochs=8")
    assert retired.exit_code == 2
    assert "evaluation.classifier_epochs: retired; use classifier_max_epochs" in retired.stderr


def test_the_figures_are_ready_for_a_slide(toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Labelled axes with units, error bars, ratio panels, readable text; the compare figure says which AUC."""
    from genesis_cli.engine import comparison
    from genesis_cli.engine.evaluation import plots
    from genesis_cli.engine.evaluation.report import evaluate_files

    copy = tmp_path / "copy.h5"
    copy.write_bytes(toy_file.read_bytes())
    report = evaluate_files(toy_file, copy)
    figures: list = []  # type: ignore[type-arg]
    monkeypatch.setattr(plots, "save_figure_formats", lambda fig, stem, formats, dpi: figures.append(fig) or [stem])
    monkeypatch.setattr(comparison, "save_figure", lambda fig, out, dpi: figures.append(fig) or out)
    plots.write_figure_folder(report, tmp_path)
    panels = figures[1:-1]  # the summary first, the strings' map last
    axes = [ax for fig in panels for ax in fig.axes]
    histograms = [ax for ax in axes if ax.get_ylabel().startswith("fraction of ")]
    ratios = [ax for ax in axes if ax.get_ylabel() == "gen. / sim."]
    assert len(histograms) == len(ratios) == len(panels) >= 19
    assert all(ax.get_xlabel() for ax in ratios) and "first-hit time [ns]" in [ax.get_xlabel() for ax in ratios]
    assert all(ax.containers for ax in histograms)  # simulation drawn with statistical error bars
    assert any(ax.get_yscale() == "log" for ax in histograms)  # falling spectra on log axes
    assert min(label.get_fontsize() for ax in axes for label in ax.get_xticklabels()) >= 11
    assert "fraction of hits / bin" in [ax.get_ylabel() for ax in histograms]  # per-hit spectra count hits
    onset = [ax for ax in histograms if ax.get_title().startswith("light onset")][0]
    low, high = onset.get_xlim()
    assert low < 0 < high  # relative to the simulation's median, not the file's 10,000 ns clock
    figures.clear()
    result = comparison.ArchitectureResult("dit", "r", 1, 1.0, 10.0, 2.0, 0.1, 0.1, 0.99, 0.9, 3.0, "s")
    comparison.plot_tradeoff([result], tmp_path / "comparison.png")
    auc_axis = figures[0].axes[0]
    assert "AUC, high-level" in auc_axis.get_ylabel()
    low, high = auc_axis.get_ylim()
    assert low <= 0.5 and high >= 1.0  # chance to perfect: a 0.96-1.04 axis exaggerated tiny spreads


def test_evaluate_with_the_training_data_finds_memorised_events(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A generator that returns training events under held-out labels fails as memorised; a real file
    that overlaps the training file is named in a notice."""
    from genesis_cli.engine.data.eventfile import EventFile
    from tests.conftest import write_event_file

    assert cli("simulate", str(tmp_path / "train.h5"), "--events", "500", "--seed", "4").exit_code == 0
    assert cli("simulate", str(tmp_path / "r.h5"), "--events", "200", "--seed", "5").exit_code == 0
    with EventFile(tmp_path / "train.h5") as train, EventFile(tmp_path / "r.h5") as real:
        copied, labels, geometry = train.signals(0, 200), real.labels(), real.geometry
        overlap = (train.signals(0, 200), train.labels(0, 200))
    xyz = {"xpmt": geometry.x, "ypmt": geometry.y, "zpmt": geometry.z}
    write_event_file(tmp_path / "m.h5", input=copied, label=labels, **xyz)
    write_event_file(tmp_path / "seen.h5", input=overlap[0], label=overlap[1], **xyz)
    memorised = cli("evaluate", "--real-data", str(tmp_path / "r.h5"), "--generated-data", str(tmp_path / "m.h5"),
                    "--training-data", str(tmp_path / "train.h5"))
    assert memorised.exit_code == 0, memorised.output
    assert "Verdict: FAIL: memorised: 100.0% of the generated events copy training events" in memorised.stdout
    assert "closer to the training data than simulation" in memorised.stdout
    seen = cli("evaluate", "--real-data", str(tmp_path / "seen.h5"), "--generated-data", str(tmp_path / "r.h5"),
               "--training-data", str(tmp_path / "train.h5"))
    assert f"200 of its 200 events are also in the training file {tmp_path / 'train.h5'}" in seen.output
