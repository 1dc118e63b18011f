#!/usr/bin/env python3
"""Node visits per row of a bundle's trees: the physical bound on tree traversal.

For every tree of every LightGBM model text in a bundle (members/*.txt, category.txt), the
depth of each leaf weighted by the training rows that reached it (leaf_count), i.e. the mean
number of internal nodes a training row visits in that tree; and the tree's full depth, which
a block walk that runs every row for the tree's depth pays. Prints per model and in total.

    python3 scripts/bench/tree-depth.py out/nsl
"""

import glob
import os
import sys


def trees(path):
    block = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Tree="):
                if block:
                    yield block
                block = {}
            elif line == "end of trees":
                break
            elif "=" in line and block is not None:
                k, v = line.split("=", 1)
                block[k] = v
    if block:
        yield block


def depths(t):
    n = int(t.get("num_leaves", "1"))
    if n <= 1:
        return [0], [1.0]
    left = [int(x) for x in t["left_child"].split()]
    right = [int(x) for x in t["right_child"].split()]
    counts = [float(x) for x in t["leaf_count"].split()]
    depth = [0] * n
    stack = [(0, 0)]
    while stack:
        node, d = stack.pop()
        for child in (left[node], right[node]):
            if child < 0:
                depth[~child] = d + 1
            else:
                stack.append((child, d + 1))
    return depth, counts


def main():
    bundle = sys.argv[1]
    files = sorted(glob.glob(os.path.join(bundle, "members", "*.txt")))
    files.append(os.path.join(bundle, "category.txt"))
    total_mean, total_max, total_trees = 0.0, 0, 0
    print("| model | trees | mean node visits per row (training-weighted) | full depth summed |")
    print("|---|---:|---:|---:|")
    for path in files:
        mean_sum, max_sum, k = 0.0, 0, 0
        for t in trees(path):
            if "num_leaves" not in t:
                continue
            depth, counts = depths(t)
            w = sum(counts) or 1.0
            mean_sum += sum(d * c for d, c in zip(depth, counts)) / w
            max_sum += max(depth)
            k += 1
        print(f"| {os.path.relpath(path, bundle)} | {k} | {mean_sum:.0f} | {max_sum} |")
        total_mean += mean_sum
        total_max += max_sum
        total_trees += k
    print(f"| all | {total_trees} | {total_mean:.0f} | {total_max} |")


if __name__ == "__main__":
    main()
