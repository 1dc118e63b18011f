#!/usr/bin/env bash
# Sensitivity of Arbiter's auto-close rule on KDDTest+ to the OOD flag level. For reading only:
# the level Arbiter uses is chosen on KDDTrain+ by the novelty rehearsal, never from this table.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-out/kddtest-sensitivity}
d=${ARBITER_DATA:-../shared/data}/nsl-kdd
bin=${ARBITER_BIN:-target/release/arbiter}
printf '| OOD flag level | benign_coverage | attack_rate | attacks_closed | attacks closed, by label |\n|---:|---:|---:|---:|---|\n'
for level in 0.9 0.75 0.65 0.6 0.55 0.5; do
  "$bin" train --schema schemas/nsl-kdd.yaml --data "$d/KDDTrain+.txt.xz" --out "$out/bundle-$level" --ood-quantile "$level" --ood-knn-weight 1 >/dev/null 2>&1
  "$bin" eval --model "$out/bundle-$level" --data "$d/KDDTest+.txt.xz" --out "$out/eval-$level" >/dev/null 2>&1
  python3 - "$out/eval-$level/report.json" "$level" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); a = r["auto_close"]["arbiter"]
by = ", ".join(f"{k} {v}" for k, v in r["auto_close"]["arbiter_missed_by_label"].items())
print(f'| {sys.argv[2]} | {a["benign_coverage"]:.4f} | {a["attack_rate"]:.4f} | {a["attacks_closed"]} | {by} |')
PY
done
