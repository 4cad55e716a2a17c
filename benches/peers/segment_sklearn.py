"""scikit-learn side of benches/segment.rs: k selection over 2..8 on the same 1M x 5 matrix.

usage: segment_sklearn.py FILE.parquet [REPEATS]
(FILE written by `PATRONAGE_BENCH_SEGMENT_FILE=FILE cargo bench --bench segment`)

Same work as patronage: standardise the 5 columns; for k in 2..8: KMeans(k-means++,
n_init=5, max_iter=300), silhouette on a 10,000-customer sample, Calinski-Harabasz and
Davies-Bouldin on all customers; pick the k with the highest silhouette.
Prints the median wall time of REPEATS (default 3) whole runs and the chosen k.
"""
import statistics
import sys
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

path = sys.argv[1]
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
x = pd.read_parquet(path).to_numpy(dtype=np.float64)
x = (x - x.mean(axis=0)) / x.std(axis=0)


def run():
    table = []
    for k in range(2, 9):
        km = KMeans(n_clusters=k, init="k-means++", n_init=5, max_iter=300, random_state=42).fit(x)
        labels = km.labels_
        table.append((
            k,
            km.inertia_,
            silhouette_score(x, labels, sample_size=10_000, random_state=42),
            calinski_harabasz_score(x, labels),
            davies_bouldin_score(x, labels),
        ))
    return max(table, key=lambda r: r[2])[0], table


times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    best, table = run()
    times.append(time.perf_counter() - t0)
print(f"chosen k {best}")
for row in table:
    print("k=%d inertia=%.1f silhouette=%.4f CH=%.1f DB=%.4f" % row)
print(f"median of {repeats}: {statistics.median(times):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})")
