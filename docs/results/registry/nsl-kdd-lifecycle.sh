set -euo pipefail
cd /work/main
A=target/release/arbiter; D=../shared/data/nsl-kdd; R=/tmp/nsl
rm -rf $R; mkdir -p $R/db
/usr/bin/time -f "%e s %M KB" $A train --schema schemas/nsl-kdd.yaml --data $D/KDDTrain+.txt.xz --out $R/champion > $R/train.log 2>&1
$A triage --model $R/champion --policy policies/default.yaml --data $D/KDDTest+.txt.xz --db $R/db/a.db > $R/triage.log 2>&1
python3 scripts/experiments/cut-suite.py --db $R/db/a.db --data $D/KDDTest+.txt.xz \
  --rel nsl-kdd/KDDTest+.txt.xz --schema schemas/nsl-kdd.yaml --labels $R/labels.csv --suite $R/suite.yaml > $R/cut.log 2>&1
cmp $R/suite.yaml suites/nsl-kdd.yaml && echo "suite identical to the shipped one"
$A teach --db $R/db/a.db import --file $R/labels.csv > $R/import.log 2>&1
/usr/bin/time -f "%e s %M KB" $A retrain --from $R/champion --db $R/db/a.db --data $D/KDDTrain+.txt.xz --out $R/candidate > $R/retrain.log 2>&1
$A model --db $R/db/a.db register $R/candidate
ANN=$($A token create --role admin --name ann --db $R/db/a.db | head -1)
BOB=$($A token create --role admin --name bob --db $R/db/a.db | head -1)
$A model --db $R/db/a.db gate --champion $R/champion --candidate $R/candidate --suite suites/nsl-kdd.yaml --out $R/gate --record --token $ANN > $R/gate.log 2>&1 || true
tail -3 $R/gate.log
CID=$(python3 -c "import json;print(json.load(open('$R/candidate/manifest.json'))['id'])")
HID=$(python3 -c "import json;print(json.load(open('$R/champion/manifest.json'))['id'])")
$A model --db $R/db/a.db promote $CID --token $ANN
$A model --db $R/db/a.db promote $CID --token $ANN || echo "(refused, as it must be)"
$A model --db $R/db/a.db promote $CID --token $BOB
$A model --db $R/db/a.db show $CID
$A model --db $R/db/a.db list
$A model --db $R/db/a.db rollback --token $BOB
$A model --db $R/db/a.db list
$A audit --audit $R/db/audit query --entity model:$CID
