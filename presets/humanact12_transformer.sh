#!/usr/bin/env bash
# MotionINR's official HumanAct12 Transformer settings as a DVC experiment (REFERENCE.md section 1):
# code 256 with the action code added (not concatenated) and not variational, 8 layers, 4 heads,
# ff 1024, dropout 0.1, lr 1e-4, 60-frame crops (official configs/HumanAct_Transformer/config.yaml).
# The official run trains on 4 GPUs with batches of 64 each, so one step sees 4 x 64 = 256
# sequences: here train.batch_size is that global batch (add -S train.nproc=4 to spread it over 4
# processes; the result is the same). 10,000 epochs of one code pass plus one decoder pass over
# 1,191 sequences are 50,000 steps of each kind (tests/test_fidelity.py checks these counts).
#
#   bash presets/humanact12_transformer.sh -S data.path=data/raw/HumanAct12Poses/humanact12poses.pkl
#
# Arguments go to `dvc exp run` after the preset, so they win over it (e.g. -S train.epochs=2000).
# The settings end up in params.yaml (as with any `dvc exp run -S`); `git checkout params.yaml` undoes that.
set -euo pipefail
exec dvc exp run \
  -S data.source=humanact12poses \
  -S data.test_fraction=0 \
  -S model.output=rot6d \
  -S model.decoder=transformer \
  -S model.seq_code_dim=256 \
  -S model.act_code_dim=256 \
  -S model.seq_variational=true \
  -S model.act_variational=false \
  -S model.action_code=add \
  -S model.time_dim=256 \
  -S model.time_base=10000.0 \
  -S model.code_init_std=0.0 \
  -S model.logvar_init=1.0 \
  -S model.transformer.layers=8 \
  -S model.transformer.heads=4 \
  -S model.transformer.ff=1024 \
  -S model.transformer.dropout=0.1 \
  -S model.transformer.activation=gelu \
  -S train.epochs=10000 \
  -S train.batch_size=256 \
  -S train.schedule=alternating \
  -S train.code_epochs=1 \
  -S train.decoder_epochs=1 \
  -S train.frames=crop \
  -S train.crop_length=60 \
  -S train.loss_reduction=mean \
  -S train.code_optimizer=table \
  -S train.aggregate_per_epoch=false \
  -S train.lr_decoder=0.0001 \
  -S train.lr_codes=0.0001 \
  -S train.kl_seq_weight=1.0e-5 \
  -S train.kl_act_weight=0 \
  -S train.grad_clip=2.0 \
  -S train.threads=0 \
  -S train.checkpoint_every=100 \
  -S generate.time_start=1 \
  -S generate.crop_times=60 \
  "$@"
