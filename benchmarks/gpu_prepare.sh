#!/bin/bash
# Fill .gpu/ (ignored by git) with what benchmarks/gpu_checks.sh needs on a device machine that has torch,
# lightning and torchmetrics but no internet: the wheels of jsonargparse and its signature extras, and MNIST
# packed (about 11 MB; unpacked and verified there by the shared prepare.py). Run here, from the repo root:
#     bash benchmarks/gpu_prepare.sh [SHARED_DATASETS_DIR]      (default ../shared/datasets)
# then, in one device call (see benchmarks/gpu_checks.sh for what it runs and how long):
#     run(command="bash benchmarks/gpu_checks.sh", carry=[".gpu"], timeout_s=540)
set -euo pipefail
DATASETS=${1:-../shared/datasets}
rm -rf .gpu && mkdir -p .gpu/whl .gpu/datasets/packed
for spec in "jsonargparse==$(python -c 'import jsonargparse; print(jsonargparse.__version__)')" \
            docstring-parser typeshed-client importlib-resources; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d .gpu/whl "$spec"
done
cp "$DATASETS/prepare.py" .gpu/datasets/
cp -r "$DATASETS/packed/MNIST" .gpu/datasets/packed/
du -sh .gpu
