#!/usr/bin/env python3
"""Cut a regression suite and a file of incident labels from a triaged labelled file.

Reads the alerts `arbiter triage` stored (their source line and state) and the labelled file
they came from, then writes, from disjoint rows chosen with a fixed seed:
  --labels  a CSV for `arbiter teach import` (alert, label, ticket, time, responder): the
            ground-truth family of --teach alerts, one minute apart in file order;
  --suite   a regression suite: up to --per-family must-catch attack rows per family that
            the champion did not auto-close, and --benign must-not-act benign rows, by line.
The label column, the category column (when the schema has one) and the raw-label -> family map
come from the schema file; a file with a header (UNSW-NB15's: byte-order mark, CRLF) is read as
CSV with its header on line 1. When the triaged file is a split of a shared file (`arbiter
split`), --suite-data names the shared file and rows are found there by the schema's
identifier column, so the suite names lines of the file in $ARBITER_DATA."""
import argparse, csv, hashlib, io, lzma, random, re, sqlite3, datetime

ap = argparse.ArgumentParser()
ap.add_argument("--db", required=True)
ap.add_argument("--data", required=True, help="the labelled file that was triaged")
ap.add_argument("--rel", required=True, help="the suite file's path under $ARBITER_DATA")
ap.add_argument("--suite-data", help="the shared file the suite names (default: --data)")
ap.add_argument("--schema", required=True)
ap.add_argument("--labels", required=True)
ap.add_argument("--suite", required=True)
ap.add_argument("--teach", type=int, default=5000)
ap.add_argument("--per-family", type=int, default=50)
ap.add_argument("--benign", type=int, default=100)
ap.add_argument("--seed", type=int, default=7)
a = ap.parse_args()

schema = open(a.schema).read()
name = re.search(r"^name: (\S+)", schema, re.M).group(1)
rev = re.search(r"^revision: (\d+)", schema, re.M).group(1)
benign = set(re.search(r"^  benign: \[([^\]]*)\]", schema, re.M).group(1).replace(" ", "").split(","))
cats = dict(re.findall(r"^    ([A-Za-z0-9_.+-]+): ([A-Za-z0-9_.+-]+)\s*$",
                       schema.split("categories:", 1)[1].split("\nfields:", 1)[0], re.M))
fields = re.findall(r"^  - name: (\S+)\n\s+role: (\S+)", schema, re.M)
col = lambda want: next((i for i, (_, role) in enumerate(fields) if role == want), None)
label_col, cat_col, id_col = col("label"), col("category"), col("identifier")
header = re.search(r"^  header: true", schema, re.M) is not None

def read(path):
    """Rows by physical line number (the header, when there is one, is line 1)."""
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    first = 2 if header else 1
    return {first + i: r for i, r in enumerate(rows[1:] if header else rows)}

rows = read(a.data)
suite_data = a.suite_data or a.data
sha = hashlib.sha256(open(suite_data, "rb").read()).hexdigest()
if a.suite_data:
    assert id_col is not None, "mapping to --suite-data needs an identifier column"
    where = {r[id_col]: line for line, r in read(a.suite_data).items()}
    to_suite = lambda line: where[rows[line][id_col]]
else:
    to_suite = lambda line: line

def family(line):
    r = rows[line]
    if r[label_col] in benign:
        return "benign"
    raw = r[cat_col] if cat_col is not None else r[label_col]
    return cats.get(raw, raw)

db = sqlite3.connect(a.db)
alerts = db.execute("SELECT key, source_line, state FROM alerts ORDER BY source_line").fetchall()
rng = random.Random(a.seed)
order = list(range(len(alerts)))
rng.shuffle(order)
teach = sorted(order[: a.teach], key=lambda i: alerts[i][1])
rest = order[a.teach:]

t0 = datetime.datetime(2026, 11, 2, 8, 0, tzinfo=datetime.timezone.utc)
with open(a.labels, "w") as out:
    out.write("alert,label,ticket,time,responder\n")
    for n, i in enumerate(teach):
        key, line, _ = alerts[i]
        t = (t0 + datetime.timedelta(minutes=n)).isoformat().replace("+00:00", "Z")
        out.write(f"{key},{family(line)},INC-{line},{t},ir-team\n")

by_family, calm = {}, []
for i in rest:
    key, line, state = alerts[i]
    fam = family(line)
    if fam == "benign":
        if state != "auto_acted":
            calm.append(to_suite(line))
    elif state != "auto_closed":
        by_family.setdefault(fam, []).append(to_suite(line))
with open(a.suite, "w") as out:
    out.write(f"# Cut by scripts/experiments/cut-suite.py --seed {a.seed} from {a.rel}: attack rows the\n"
              f"# champion did not auto-close (must stay caught) and benign rows it did not act on.\n")
    if a.suite_data:
        out.write(f"# The champion was trained without these rows: they are rows of the held-out split\n"
                  f"# it triaged, found here by the schema's identifier column.\n")
    out.write(f"version: 1\nname: {name}-regression\nschema: {name}@{rev}\nroot: data\ncases:\n")
    for fam in sorted(by_family):
        lines = sorted(by_family[fam][: a.per_family])
        out.write(f"  - file: {a.rel}\n    sha256: {sha}\n    expect: must_catch\n"
                  f"    note: {fam}\n    lines: {lines}\n")
    out.write(f"  - file: {a.rel}\n    sha256: {sha}\n    expect: must_not_act\n"
              f"    note: benign\n    lines: {sorted(calm[: a.benign])}\n")
print(f"{len(teach)} labels -> {a.labels}; suite {sum(min(len(v), a.per_family) for v in by_family.values())} "
      f"must-catch, {min(len(calm), a.benign)} must-not-act -> {a.suite}")
