#!/usr/bin/env python3
"""Does the package's epistemic/aleatoric split separate different failures?

Reads evidence packages written by `arbiter explain` (one JSON per line, with observed_label)
and the training file whose labels say which attack families the model has seen. Prints, per
level of each kind of uncertainty, how many alerts fall there, how often the verdict is wrong,
and what share of them belong to a family absent from training (a novel family: what epistemic
uncertainty is meant to catch), as Markdown tables.

    python3 scripts/experiments/uncertainty-split.py PACKAGES.ndjson KDDTrain+.txt.xz
"""

import collections
import json
import lzma
import sys

LEVELS = ["low", "moderate", "high"]


def training_labels(path):
    opener = lzma.open if path.endswith(".xz") else open
    seen = set()
    with opener(path, "rt") as f:
        for line in f:
            parts = line.rstrip("\n").split(",")
            if len(parts) > 41:
                seen.add(parts[41])
    return seen


def main():
    packages, train = sys.argv[1], sys.argv[2]
    seen = training_labels(train)
    rows = []
    with open(packages) as f:
        for line in f:
            p = json.loads(line)
            label = p.get("observed_label")
            if label is None:
                continue
            truth = "benign" if label == "normal" else "malicious"
            u = p["uncertainty"]
            rows.append(
                {
                    "wrong": p["verdict"]["label"] != truth,
                    "novel": truth == "malicious" and label not in seen,
                    "malicious": truth == "malicious",
                    "epistemic": u["epistemic"]["level"],
                    "aleatoric": u["aleatoric"]["level"],
                    "both": u["aleatoric"]["both_verdicts"],
                    "ood": "out_of_distribution" in u["flags"],
                }
            )
    n = len(rows)
    novel_total = sum(r["novel"] for r in rows)
    wrong_total = sum(r["wrong"] for r in rows)
    print(f"{n} alerts with a label; {wrong_total} verdicts wrong; {novel_total} from families "
          f"absent from training\n")

    for kind in ("epistemic", "aleatoric"):
        print(f"| {kind} level | alerts | share | verdict wrong | of them novel-family | "
              f"share of all novel-family alerts | share of all wrong verdicts |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for lv in LEVELS:
            sel = [r for r in rows if r[kind] == lv]
            k = len(sel)
            if k == 0:
                print(f"| {lv} | 0 | | | | | |")
                continue
            w = sum(r["wrong"] for r in sel)
            nv = sum(r["novel"] for r in sel)
            print(f"| {lv} | {k} | {k / n:.3f} | {w / k:.3f} | {nv / k:.3f} | "
                  f"{nv / max(novel_total, 1):.3f} | {w / max(wrong_total, 1):.3f} |")
        print()

    print("| epistemic \\ aleatoric | " + " | ".join(LEVELS) + " |")
    print("|---|" + "---:|" * len(LEVELS))
    cross = collections.Counter((r["epistemic"], r["aleatoric"]) for r in rows)
    wrong = collections.Counter((r["epistemic"], r["aleatoric"]) for r in rows if r["wrong"])
    for e in LEVELS:
        cells = []
        for a in LEVELS:
            c = cross[(e, a)]
            cells.append(f"{c} ({wrong[(e, a)] / c:.2f} wrong)" if c else "0")
        print(f"| {e} | " + " | ".join(cells) + " |")
    print()

    both = [r for r in rows if r["both"]]
    if both:
        print(f"conformal set holds both verdicts: {len(both)} alerts, "
              f"{sum(r['wrong'] for r in both) / len(both):.3f} wrong")
    low_a = [r for r in rows if r["wrong"] and r["aleatoric"] == "low"]
    print(f"wrong verdicts with low aleatoric uncertainty: {len(low_a)} "
          f"({sum(r['novel'] for r in low_a)} novel-family)")
    masked = [r for r in rows if r["wrong"] and r["aleatoric"] == "low"
              and r["epistemic"] == "high"]
    print(f"wrong verdicts with low aleatoric but high epistemic uncertainty: {len(masked)} "
          f"({len(masked) / max(wrong_total, 1):.3f} of all wrong verdicts)")
    wrong_low_low = [r for r in rows if r["wrong"] and r["epistemic"] == "low"
                     and r["aleatoric"] == "low"]
    print(f"wrong verdicts with both kinds low (confidently wrong): {len(wrong_low_low)} "
          f"({sum(r['novel'] for r in wrong_low_low)} novel-family, "
          f"{sum(r['ood'] for r in wrong_low_low)} still flagged out_of_distribution)")


if __name__ == "__main__":
    main()
