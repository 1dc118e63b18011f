#!/usr/bin/env bash
# Writes the rehearsal's candidate novelty signals for NSL-KDD (KDDTrain+), UNSW-NB15 (the 70 %
# training part of the seed-1 split) and the built-in synthetic scenario, and compares them
# (scripts/experiments/novelty-signals.py). Results: docs/results/novelty-signals.md.
# Usage: scripts/experiments/novelty-signals.sh [WORK_DIR]   (default: out/novelty-signals)
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${ARBITER_DATA:-../shared/data}
work=${1:-out/novelty-signals}
cargo build --release --locked -p arbiter-cli
bin=target/release/arbiter
mkdir -p "$work/nsl-kdd" "$work/unsw-nb15" "$work/synthetic"
$bin train --schema schemas/nsl-kdd.yaml --data "$data/nsl-kdd/KDDTrain+.txt.xz" \
  --out "$work/nsl-kdd/bundle" --rehearsal-signals "$work/nsl-kdd/signals" > "$work/nsl-kdd/train.txt"
$bin split --schema schemas/unsw-nb15.yaml --data "$data/unsw-nb15/UNSW_NB15_training-set.csv.xz" \
  --out "$work/unsw-split" --fractions 0.7,0.3 --seed 1
$bin train --schema schemas/unsw-nb15.yaml --data "$work/unsw-split/train.csv" \
  --out "$work/unsw-nb15/bundle" --rehearsal-signals "$work/unsw-nb15/signals" > "$work/unsw-nb15/train.txt"
$bin generate --out "$work/synthetic-data" > /dev/null
$bin train --schema "$work/synthetic-data/schema.yaml" --data "$work/synthetic-data/train.csv" \
  --out "$work/synthetic/bundle" --rehearsal-signals "$work/synthetic/signals" > "$work/synthetic/train.txt"
python3 scripts/experiments/novelty-signals.py "$work/nsl-kdd/signals" "$work/unsw-nb15/signals" \
  "$work/synthetic/signals"
