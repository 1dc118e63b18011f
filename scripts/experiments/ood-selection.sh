#!/usr/bin/env bash
# Chooses the OOD method by measurement on KDDTrain+ only: leave-one-family-out runs
# (scripts/experiments/loco-nsl-kdd.sh) for each method at fixed flag levels, and with the
# level the novelty rehearsal picks by itself. Writes the tables to stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-out/ood-selection}
for method in knn-global knn-verdict; do
  for level in 0.99 0.9 0.75 0.65 0.5; do
    echo "### $method, flag level $level"
    scripts/experiments/loco-nsl-kdd.sh "$out/$method-$level" --ood-method "$method" --ood-quantile "$level" 2>/dev/null
    echo
  done
done
echo "### knn-verdict, level chosen by the novelty rehearsal (the default)"
scripts/experiments/loco-nsl-kdd.sh "$out/default" 2>/dev/null
