#!/bin/bash
# Issue 11's CUDA checks in one device call (about 5-7 minutes on an H100/H200 once started), from the repo
# root with .gpu/ carried (benchmarks/gpu_prepare.sh fills it). Every stage has its own time limit and log under
# $OUT, so one that hangs or fails leaves the others' results:
#   env.txt            GPU, driver, torch / lightning versions
#   pytest_cuda.log    the CUDA-only tests: sync-debug mode "error" around 13 steps of every model (ProGAN and
#                      BEGAN's lr decay on plateau included), and the in-memory loader's pixels on the device
#   throughput_*.txt   benchmarks/throughput.py --device cuda: plain loop, bare GANModule, as `gan-zoo fit`
#                      runs it, end to end, ms/step and ratios (DCGAN-MNIST paper size; WGAN-GP)
#   fit_*.log          a whole `gan-zoo fit --config configs/dcgan/mnist.yaml` epoch as a user runs it (the
#                      in-memory data path, then the DataLoader path): wall time in summary.txt, steps/s on
#                      the progress bar's last line
set -u
OUT=${OUT:-/tmp/gpu_checks}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 WANDB_MODE=disabled GAN_ZOO_DATA=/tmp/data
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl \
  || { echo "wheel install failed: run benchmarks/gpu_prepare.sh here and carry .gpu"; exit 2; }
export PYTHONPATH=/tmp/site:$PWD
stage() {  # stage NAME SECONDS CMD...: run CMD with a time limit, output to $OUT/NAME, status to the summary
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name" 2>&1
  echo "$name: exit $? in $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
}
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import torch, lightning; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'lightning', lightning.__version__)"
} > "$OUT/env.txt" 2>&1
stage data.log 120 python3 .gpu/datasets/prepare.py --out /tmp/data --only mnist
stage pytest_cuda.log 180 python3 -m pytest -q -p no:cacheprovider tests/test_no_sync.py tests/test_in_memory.py -k cuda
stage throughput_dcgan.txt 150 python3 benchmarks/throughput.py --device cuda --model dcgan --sizes paper --repeats 3
stage throughput_wgan_gp.txt 90 python3 benchmarks/throughput.py --device cuda --model wgan_gp --sizes paper --repeats 1
# A whole epoch (468 steps at batch 128) as a user runs it; the progress bar's last line gives steps/s.
FIT="python3 -m gan_zoo.cli fit --config configs/dcgan/mnist.yaml --trainer.max_epochs=1 --trainer.logger=false"
stage fit_in_memory.log 120 $FIT --trainer.default_root_dir=/tmp/e2e_in_memory
stage fit_dataloader.log 120 $FIT --trainer.default_root_dir=/tmp/e2e_dataloader --data.init_args.in_memory=false
cat "$OUT/summary.txt"
