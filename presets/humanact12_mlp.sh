#!/usr/bin/env bash
# MotionINR's official HumanAct12 MLP settings as a DVC experiment (REFERENCE.md section 1;
# official configs/HumanAct_MLP/config.yaml). An epoch is one code pass plus one decoder pass, as
# the official trainer's: 10,000 epochs of 1,191 sequences in batches of 512 are 30,000 code steps
# (every row of the whole-table Adam steps at each) and, with aggregate_per_epoch, 10,000 decoder
# steps (tests/test_fidelity.py checks these counts). Codes start at mean 0, log-variance 1.
# As the official model it decodes rot6d (root + local 6D rotations), so it reads ACTOR's
# humanact12poses.pkl, which has the SMPL poses (the Action2Motion .npy folder has positions only).
#
#   bash presets/humanact12_mlp.sh -S data.path=data/raw/HumanAct12Poses/humanact12poses.pkl
#
# Arguments go to `dvc exp run` after the preset, so they win over it, e.g.
#   bash presets/humanact12_mlp.sh -S data.path=... -S train.epochs=2000 -n mlp-2k --queue
# The settings end up in params.yaml (as with any `dvc exp run -S`); `git checkout params.yaml` undoes that.
set -euo pipefail
exec dvc exp run \
  -S data.source=humanact12poses \
  -S data.test_fraction=0 \
  -S model.output=rot6d \
  -S model.decoder=mlp \
  -S model.seq_code_dim=128 \
  -S model.act_code_dim=128 \
  -S model.seq_variational=true \
  -S model.act_variational=true \
  -S model.action_code=concat \
  -S model.time_dim=256 \
  -S model.time_base=10000.0 \
  -S model.code_init_std=0.0 \
  -S model.logvar_init=1.0 \
  -S 'model.mlp.layers=[1000,500,500,200,100]' \
  -S model.mlp.activation=elu \
  -S train.epochs=10000 \
  -S train.batch_size=512 \
  -S train.schedule=alternating \
  -S train.code_epochs=1 \
  -S train.decoder_epochs=1 \
  -S train.frames=random \
  -S train.frames_per_sequence=5 \
  -S train.frames_replacement=false \
  -S train.loss_reduction=mean \
  -S train.code_optimizer=table \
  -S train.aggregate_per_epoch=true \
  -S train.lr_decoder=0.001 \
  -S train.lr_codes=0.001 \
  -S train.kl_seq_weight=1.0e-5 \
  -S train.kl_act_weight=1.0e-5 \
  -S train.grad_clip=2.0 \
  -S train.threads=0 \
  -S train.checkpoint_every=100 \
  -S generate.time_start=1 \
  "$@"
