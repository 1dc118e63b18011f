#!/usr/bin/env python3
"""How optimistic is choosing the OOD blend weight and level on the rehearsal that reports them?

Leave-one-family-out over the rehearsal's families (the CSV files of `arbiter train
--rehearsal-signals DIR`): for each family F, the k-NN weight (1, .75, .5, .25, 0) and the flag
level (the bundle's grid, 0.99 … 0.5) are chosen on the other families exactly as the bundle
chooses them (least sensitive level at which every family passes ≤ 1 %, the weight with the
least sensitive level, ties to more k-NN), then F's share passing and the benign coverage (F's
family model, risk-control rows) are measured. Compared with the k-NN score alone chosen the
same way. Usage: novelty-choice-check.py [--without-leaf-only] DIR [DIR...]
(--without-leaf-only: weights 1, .75, .5, .25, as `arbiter train` now tries).
"""
import glob
import importlib.util
import pathlib
import sys

import numpy as np

here = pathlib.Path(__file__).parent
spec = importlib.util.spec_from_file_location("ns", here / "novelty-signals.py")
ns = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ns)

GRID = [0.99, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5]
WEIGHTS = [1.0, 0.75, 0.5, 0.25, 0.0]
CAP, TARGET = 0.999, 0.01


def scores(P, cal, w):
    s = w * P["knn5"] + (1 - w) * P["leaf_q10"]
    s = ns.pct(s[cal], s)
    return np.where(P["knn5"] >= CAP, np.maximum(s, P["knn5"]), s)


def main():
    args = sys.argv[1:]
    if "--without-leaf-only" in args:
        args.remove("--without-leaf-only")
        WEIGHTS.remove(0.0)
    for d in args or sys.exit(__doc__):
        fams = sorted(glob.glob(f"{d}/*.csv"))
        prep = []
        for f in fams:
            kind, num = ns.load(f)
            P, cal = ns.percentiles(kind, num)
            prep.append((pathlib.Path(f).stem, kind, num, {w: scores(P, cal, w) for w in WEIGHTS}))

        def passing(entry, w, level):
            _, kind, num, S = entry
            nov = kind == "novel"
            return ((S[w] < level) & (num["p"] < ns.TAU) & nov).sum() / nov.sum()

        def coverage(entry, w, level):
            _, kind, num, S = entry
            test = kind == "test"
            return ((S[w] < level) & (num["p"] < ns.TAU) & test).sum() / test.sum()

        def choose(others, weights):
            best = None
            for w in weights:
                level = next((l for l in GRID if all(passing(e, w, l) <= TARGET for e in others)), None)
                met = level is not None
                level = GRID[-1] if level is None else level
                key = (met, level)
                if best is None or key > best[0]:
                    best = (key, w, level)
            return best[1], best[2]

        print(f"## {d}\n")
        print("| family held out | blend chosen without it: weight, level | its rows passing | benign coverage | k-NN alone: level | passing | coverage |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for i, e in enumerate(prep):
            others = prep[:i] + prep[i + 1:]
            w, l = choose(others, WEIGHTS)
            _, lk = choose(others, [1.0])
            print(f"| {e[0]} | {w}, {l} | {passing(e, w, l):.4f} | {coverage(e, w, l):.3f} | {lk} | {passing(e, 1.0, lk):.4f} | {coverage(e, 1.0, lk):.3f} |")
        print()


if __name__ == "__main__":
    main()
