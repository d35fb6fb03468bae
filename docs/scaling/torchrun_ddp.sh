#!/bin/bash
# Multi-node DDP without SLURM: run this on every node, with NODE_RANK = 0..NNODES-1 and MASTER_ADDR the
# first node's address (Lightning reads torchrun's RANK / LOCAL_RANK / WORLD_SIZE). Repository root as cwd.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash docs/scaling/torchrun_ddp.sh
set -euo pipefail
NNODES=${NNODES:-1}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}

torchrun --nnodes "$NNODES" --nproc-per-node "$GPUS_PER_NODE" --node-rank "${NODE_RANK:-0}" \
    --master-addr "${MASTER_ADDR:-127.0.0.1}" --master-port "${MASTER_PORT:-29500}" \
    --no-python gan-zoo fit \
    --config configs/dcgan/celeba.yaml \
    --config configs/trainer/ddp.yaml \
    --trainer.num_nodes "$NNODES" \
    --trainer.devices "$GPUS_PER_NODE" \
    --trainer.default_root_dir runs/torchrun/dcgan_celeba
