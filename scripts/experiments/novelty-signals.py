#!/usr/bin/env python3
"""Compares candidate novelty signals on the rehearsal's rows, as a workload-risk frontier.

Input: the CSV files `arbiter train --rehearsal-signals DIR` writes (one per left-out attack
family F: F's rows and the benign conformal / risk-control rows, all scored by the plain model
trained without F). Usage: novelty-signals.py DIR [DIR...]

For every signal (higher = more unusual) the level is a percentile among benign conformal rows
called benign (p < 0.2). At each level, benign coverage is the mean over family models of the
share of benign risk-control rows called benign and under the level, and the risk is the worst
family's share of rows passing (called benign and under the level). A signal's figure is the
best benign coverage at which every family passes at most 1 %, 2 %, 5 % or 10 %, and the
lowest worst-family pass any level reaches.

Signals: knn5 / knn1 (distance to the 5 / 1 nearest benign training rows, Arbiter's current
detector), lof (knn5 over the neighbours' own 5-NN distance), mondrian (knn5 percentile within
the row's first categorical value), leaf_* (benign training rows reaching the row's leaf in each
tree: mean ln(1+count), 10th percentile, minimum; negated), lc_* (the same from LightGBM's
leaf_count of all training rows), p (the model's probability itself); "a|b" flags when either
exceeds one shared level; "w*a+(1-w)*b" blends the two percentiles.
"""
import csv
import glob
import sys

import numpy as np

TAU = 0.2
TARGETS = (0.01, 0.02, 0.05, 0.10)
LEVELS = np.concatenate([np.linspace(0.3, 0.95, 131), np.linspace(0.951, 0.999, 49)])


def load(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    col = {k: i for i, k in enumerate(head)}
    kind = np.array([r[0] for r in body])
    num = {k: np.array([float(r[col[k]]) for r in body]) for k in head[2:]}
    return kind, num


def pct(reference, x):
    return np.searchsorted(np.sort(reference), x, side="left") / len(reference)


def percentiles(kind, num):
    cal = (kind == "cal") & (num["p"] < TAU)
    raw = {
        "knn5": num["d5"],
        "knn1": num["d1"],
        "lof": num["d5"] / np.maximum(num["lrd_ref"], 1e-6),
        "leaf_logmean": -num["leaf_logmean"],
        "leaf_q10": -num["leaf_q10"],
        "leaf_min": -num["leaf_min"],
        "lc_logmean": -num["lc_logmean"],
        "lc_q10": -num["lc_q10"],
        "p": num["p"],
    }
    out = {k: pct(v[cal], v) for k, v in raw.items()}
    mond = np.zeros(len(kind))
    for c in np.unique(num["code"]):
        g = num["code"] == c
        base = num["d5"][cal & g] if (cal & g).sum() >= 30 else num["d5"][cal]
        mond[g] = pct(base, num["d5"][g])
    out["mondrian"] = mond
    return out, cal


def combine(name, P, cal):
    if "|" in name:
        return np.max([P[k] for k in name.split("|")], axis=0)
    if "+" in name:
        (w, a), b = name.split("+")[0].split("*"), name.split("+")[1].split("*")[1]
        s = float(w) * P[a] + (1 - float(w)) * P[b]
        return pct(s[cal], s)
    return P[name]


SIGNALS = ["knn5", "knn1", "lof", "mondrian", "leaf_logmean", "leaf_q10", "leaf_min",
           "lc_logmean", "lc_q10", "p", "knn5|p", "knn5|leaf_q10", "knn5|leaf_logmean"]
for w in (0.25, 0.5, 0.75):
    SIGNALS += [f"{w}*knn5+{1 - w}*leaf_q10", f"{w}*knn5+{1 - w}*leaf_logmean",
                f"{w}*knn5+{1 - w}*p"]


def frontier(directory):
    families = [load(f) for f in sorted(glob.glob(f"{directory}/*.csv"))]
    if not families:
        sys.exit(f"no rehearsal CSV files in {directory}")
    prepared = [(kind, num, *percentiles(kind, num)) for kind, num in families]
    rows = []
    for name in SIGNALS:
        cover, worst = np.zeros(len(LEVELS)), np.zeros(len(LEVELS))
        for kind, num, P, cal in prepared:
            s = combine(name, P, cal)
            low = num["p"] < TAU
            test, novel = kind == "test", kind == "novel"
            kept = [(s < lv) & low for lv in LEVELS]
            cover += np.array([(k & test).sum() / test.sum() for k in kept]) / len(prepared)
            worst = np.maximum(worst, [(k & novel).sum() / novel.sum() for k in kept])
        best = [cover[worst <= t].max() if (worst <= t).any() else None for t in TARGETS]
        rows.append((name, best, worst.min()))
    return rows


def main():
    for directory in sys.argv[1:] or sys.exit(__doc__):
        print(f"## {directory}\n")
        print("| signal | " + " | ".join(f"coverage, every family ≤ {t:.0%}" for t in TARGETS)
              + " | lowest worst-family pass |")
        print("|---|" + "---:|" * (len(TARGETS) + 1))
        for name, best, least in frontier(directory):
            cells = ["—" if b is None else f"{b:.3f}" for b in best]
            print(f"| {name} | " + " | ".join(cells) + f" | {least:.4f} |")
        print()


if __name__ == "__main__":
    main()
