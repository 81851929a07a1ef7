#!/usr/bin/env bash
# Rebuilds the bundled demo checkpoints with rnnviz's own train command (deterministic: fixed seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
common="--seed 0 --compact"
python -m rnnviz train --task code_lm --arch lstm --hidden 128 --steps 2000 --probe-every 250 --max-traces 2 \
    --probe-samples 1 $common --out demos/char_lstm_code.safetensors
python -m rnnviz train --task adding --arch gru --hidden 32 --steps 2000 --probe-every 250 --max-traces 4 \
    --probe-samples 2 $common --out demos/gru_adding.safetensors
python -m rnnviz train --task adding --arch rnn_tanh --hidden 32 --steps 2000 --probe-every 250 --max-traces 4 \
    --probe-samples 2 $common --out demos/rnn_adding.safetensors
python -m rnnviz train --task reverse --arch gru --attention additive --hidden 64 --steps 400 --probe-every 50 \
    --max-traces 3 --probe-samples 2 $common --out demos/gru_reverse_attention.safetensors
ls -l demos/*.safetensors
