#!/usr/bin/env bash
# Leave-one-category-out on KDDTrain+ only (KDDTest+ is never read): how many attacks of a
# family the detector has never seen would Arbiter auto-close, and at what benign coverage?
# Used to choose the OOD method and flag level by measurement without touching the test set.
#
#   scripts/experiments/loco-nsl-kdd.sh OUT_DIR [extra `arbiter train` flags...]
#
# Splits KDDTrain+ 80/20 (seed 11); for each family F in dos, probe, r2l, u2r it trains on the
# 80 % without F and evaluates on the 20 % plus every F row of the 80 %.
set -euo pipefail
out=${1:?usage: loco-nsl-kdd.sh OUT_DIR [train flags]}; shift
data=${ARBITER_DATA:-$(dirname "$0")/../../../shared/data}/nsl-kdd/KDDTrain+.txt.xz
bin=${ARBITER_BIN:-target/release/arbiter}
schema=schemas/nsl-kdd.yaml
mkdir -p "$out"
"$bin" split --schema "$schema" --data "$data" --out "$out" --fractions 0.8,0.2 --names a,b --seed 11 >/dev/null
declare -A fam=(
  [dos]="back land neptune pod smurf teardrop"
  [probe]="ipsweep nmap portsweep satan"
  [r2l]="ftp_write guess_passwd imap multihop phf spy warezclient warezmaster"
  [u2r]="buffer_overflow loadmodule perl rootkit"
)
printf '| held out | benign_coverage | attack_rate | attacks_closed | novel closed / novel rows | OOD AUROC |\n|---|---:|---:|---:|---:|---:|\n'
for f in dos probe r2l u2r; do
  pat=$(echo "${fam[$f]}" | sed 's/ /|/g')
  awk -F, -v p="^($pat)\$" '$42 !~ p' "$out/a.txt" > "$out/train-$f.txt"
  { cat "$out/b.txt"; awk -F, -v p="^($pat)\$" '$42 ~ p' "$out/a.txt"; } > "$out/test-$f.txt"
  "$bin" train --schema "$schema" --data "$out/train-$f.txt" --out "$out/bundle-$f" "$@" >/dev/null 2>&1
  "$bin" eval --model "$out/bundle-$f" --data "$out/test-$f.txt" --out "$out/eval-$f" >/dev/null 2>&1
  python3 - "$out/eval-$f/report.json" "$f" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); a = r["auto_close"]["arbiter"]
novel = sum(v for k, v in r["auto_close"]["arbiter_missed_by_label"].items() if k in r["ood"]["novel_labels"])
print(f'| {sys.argv[2]} | {a["benign_coverage"]:.4f} | {a["attack_rate"]:.4f} | {a["attacks_closed"]} | {novel} / {r["ood"]["novel_rows"]} | {r["ood"]["auroc"] or float("nan"):.4f} |')
PY
done
