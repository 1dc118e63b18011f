#!/usr/bin/env bash
# Split versus cross-fitted certification of the auto-close table (issue 12 item 2).
# For each dataset: train once with the default (the 10 % risk-control split certifies the
# table) and once with --cross-fit 5 (out-of-fold scores of every labelled row certify it, each
# threshold checked on the deployed model's held-out split), then evaluate both bundles on
# the same held-out test file at every α of the table. The test file is what the guarantee is
# about: the attack rate among rows each rule auto-closes there.
#   UNSW-NB15  stratified 70/30 split (seed 1) of the 82,332-row training-set file
#   UNSW-NB15 small: a stratified 10 % (seed 2) of that training part, same test file — the
#              data-starved case cross-fitting is for
#   TON_IoT    stratified 70/30 split (seed 1) of each of the seven device files
#   NSL-KDD    KDDTrain+ → KDDTest+ (novel families in the test set)
# Writes out/cross-fit/summary.md (and the bundles and reports beside it).
# Usage: scripts/experiments/cross-fit.sh [unsw-nb15|unsw-nb15-small|ton_iot|nsl-kdd ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${ARBITER_DATA:-../shared/data}
[ -d "$data" ] || { echo "no datasets at $data (set ARBITER_DATA)" >&2; exit 1; }
cargo build --release --locked -p arbiter-cli
bin=target/release/arbiter
work=out/cross-fit
mkdir -p "$work"
summary=$work/summary.md
alphas="0.001 0.005 0.01 0.02 0.05"

row() { # name method alpha eval-output
  # "| arbiter: ... | coverage | attack_rate | attacks | closed |"
  local line
  line=$(grep '^| arbiter:' "$4" || true)
  if [ -z "$line" ]; then
    echo "| $1 | $2 | $3 | — | — | — | — |" >> "$summary"
  elif echo "$line" | grep -q 'no threshold'; then
    echo "| $1 | $2 | $3 | off | 0 | — | 0 |" >> "$summary"
  else
    echo "$line" | awk -F'|' -v n="$1" -v m="$2" -v a="$3" \
      '{ gsub(/ /, "", $3); gsub(/ /, "", $4); gsub(/ /, "", $5); gsub(/ /, "", $6);
         print "| " n " | " m " | " a " | " $3 " | " $5 " | " $4 " | " $6 " |" }' >> "$summary"
  fi
}

one() { # name schema train test
  local name=$1 schema=$2 train=$3 test=$4
  for method in split cross-fit; do
    local out=$work/$name/$method extra=()
    [ "$method" = cross-fit ] && extra=(--cross-fit 5)
    mkdir -p "$out"
    echo "+ train $name $method" >&2
    /usr/bin/time -f "%e s" -o "$out/train-time" \
      $bin train --schema "$schema" --data "$train" --out "$out/bundle" "${extra[@]}" > "$out/train.txt"
    for a in $alphas; do
      $bin eval --model "$out/bundle" --data "$test" --out "$out/eval-$a" --alpha "$a" > "$out/eval-$a.txt" 2>&1 || true
      row "$name" "$method ($(cat "$out/train-time"))" "$a" "$out/eval-$a.txt"
    done
  done
}

echo "| data | certification (train time) | α | benign closed on test | attacks closed | attack rate | closed |" > "$summary"
echo "|---|---|---:|---:|---:|---:|---:|" >> "$summary"
for ds in "${@:-unsw-nb15 unsw-nb15-small ton_iot nsl-kdd}"; do
  for d in $ds; do
    case $d in
      unsw-nb15)
        $bin split --schema schemas/unsw-nb15.yaml --data "$data/unsw-nb15/UNSW_NB15_training-set.csv.xz" \
          --out "$work/unsw-split" --fractions 0.7,0.3 --seed 1 >&2
        one unsw-nb15 schemas/unsw-nb15.yaml "$work/unsw-split/train.csv" "$work/unsw-split/test.csv" ;;
      unsw-nb15-small)
        $bin split --schema schemas/unsw-nb15.yaml --data "$data/unsw-nb15/UNSW_NB15_training-set.csv.xz" \
          --out "$work/unsw-split" --fractions 0.7,0.3 --seed 1 >&2
        $bin split --schema schemas/unsw-nb15.yaml --data "$work/unsw-split/train.csv" \
          --out "$work/unsw-small" --fractions 0.1,0.9 --seed 2 >&2
        one unsw-nb15-small schemas/unsw-nb15.yaml "$work/unsw-small/train.csv" "$work/unsw-split/test.csv" ;;
      ton_iot)
        for dev in fridge gps_tracker garage_door modbus motion_light thermostat weather; do
          file=$(ls "$data"/ton_iot/Train_Test_IoT_*.csv.xz | grep -i "_${dev}.csv.xz" | head -n1)
          $bin split --schema "schemas/ton_iot-$dev.yaml" --data "$file" \
            --out "$work/ton_iot-$dev-split" --fractions 0.7,0.3 --seed 1 >&2
          one "ton_iot/$dev" "schemas/ton_iot-$dev.yaml" "$work/ton_iot-$dev-split/train.csv" \
            "$work/ton_iot-$dev-split/test.csv"
        done ;;
      nsl-kdd)
        one nsl-kdd schemas/nsl-kdd.yaml "$data/nsl-kdd/KDDTrain+.txt.xz" "$data/nsl-kdd/KDDTest+.txt.xz" ;;
      *) echo "unknown dataset $d" >&2; exit 2 ;;
    esac
  done
done
cat "$summary"
