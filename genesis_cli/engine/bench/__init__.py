"""`genesis bench`: training, sampling and data-loading throughput, MFU, the original-configuration
baseline and profiles. measure.py times, workloads.py says what is timed, baseline.py re-creates the
original GENESIS configuration, profiling.py explains where the time goes, accounting.py sets the
training loop beside the benchmark's step, suite.py runs a plan."""

from genesis_cli.engine.bench.accounting import LoopComparison, compare_loop
from genesis_cli.engine.bench.baseline import original_configuration
from genesis_cli.engine.bench.measure import PEAK_BF16_TFLOPS, BenchResult, Workload, measure, peak_flops
from genesis_cli.engine.bench.profiling import Profile, profile_workload
from genesis_cli.engine.bench.suite import ALL, STUDENT_STEPS, BenchPlan, BenchReport, run_bench, try_measure
from genesis_cli.engine.bench.workloads import bench_data, sample_workload, train_workload

__all__ = [
    "ALL",
    "STUDENT_STEPS",
    "LoopComparison",
    "compare_loop",
    "PEAK_BF16_TFLOPS",
    "BenchPlan",
    "BenchReport",
    "BenchResult",
    "Profile",
    "Workload",
    "bench_data",
    "measure",
    "original_configuration",
    "peak_flops",
    "profile_workload",
    "run_bench",
    "sample_workload",
    "train_workload",
    "try_measure",
]
