#!/usr/bin/env bash
# The GPU checks in one run, sized for a device lease (~15 minutes in all, this script well under 8):
# the CUDA tests, then the GPU benchmark (`bench/bench_gpu.py`). Run it on a lent machine with
#   bash bench/gpu.sh            (reports land in $OUT, else bench/results/)
# The device's image has torch, transformers, tokenizers, safetensors, numpy, scipy, pandas and pytest; the
# tests here need no more (tiny models built on the spot). Without CUDA it says so and exits 2.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
REPORTS=${OUT:-bench/results}
export PYTHONUNBUFFERED=1 PYTHONPATH=.
mkdir -p "$REPORTS"
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__,
'cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0))" || exit 2
$PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 2)" || { echo "no CUDA device"; exit 2; }
status=0
# -o addopts= : no doctests of the whole tree (they need the embedded model and the corpus, not packaged here)
timeout 240 $PY -m pytest -q -p no:cacheprovider -o addopts= tests/test_cuda.py \
  "tests/test_sampling.py::test_warp_and_draw_run_on_the_gpu" 2>&1 | tee "$REPORTS/gpu_tests.log" || status=1
timeout 300 $PY -m bench.bench_gpu --device cuda --out "$REPORTS" 2>&1 | tee "$REPORTS/gpu_bench.log" || status=1
exit $status
