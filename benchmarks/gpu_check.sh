#!/usr/bin/env bash
# The GPU check, self-contained on a bare GPU machine: GENESIS from this working tree, missing
# Python packages from carried wheels (.whl/), then benchmarks/gpu_check.py with these arguments.
#
#   bash benchmarks/gpu_check.sh [--tiny] [--stages train,sampling] [--out DIR]   # run the check
#   bash benchmarks/gpu_check.sh --wheels    # on the development machine: fetch the wheels the
#                                            # GPU image lacks into .whl/ (carry .whl with the run)
#
# Outputs go to $OUT (else ./gpu_check_out): gpu_check.md holds the table for docs/performance.md.
# A copy without .git cannot tell its commit: pass GENESIS_COMMIT=<sha>. See docs/performance.md,
# "GPU figures", for the device-tool command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"

# Packages GENESIS needs that the GPU image ('cuda', Python 3.12) does not hold, at our tested versions.
wheel_packages=(pydantic pydantic_core annotated_types typing_inspection typing_extensions)

if [ "${1:-}" = "--wheels" ]; then
    mkdir -p .whl
    for name in "${wheel_packages[@]}"; do
        version="$("$py" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")"
        "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
            -d .whl "${name}==${version}"
    done
    ls -1 .whl
    exit 0
fi

missing() {
    "$py" - <<'PY'
import importlib.util
needed = ["torch", "numpy", "h5py", "pydantic", "yaml", "rich", "typer", "matplotlib", "tensorboard"]
print(" ".join(name for name in needed if importlib.util.find_spec(name) is None))
PY
}

outer="${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH="$root$outer"
export PYTHONUNBUFFERED=1
if [ -n "$(missing)" ] && compgen -G ".whl/*.whl" >/dev/null; then
    site="${TMPDIR:-/tmp}/genesis_gpu_check_site"
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl
    export PYTHONPATH="$root:$site$outer"
fi
still_missing="$(missing)"
if [ -n "$still_missing" ]; then
    echo "gpu_check: missing Python packages: $still_missing. On the development machine run" \
         "'bash benchmarks/gpu_check.sh --wheels' and carry .whl with the run." >&2
    exit 2
fi
"$py" -c "import genesis_cli, torch; print('gpu_check: GENESIS', genesis_cli.__version__, 'from', genesis_cli.__file__.rsplit('/', 2)[0], '| torch', torch.__version__, '| CUDA available:', torch.cuda.is_available())"
exec "$py" benchmarks/gpu_check.py "$@"
