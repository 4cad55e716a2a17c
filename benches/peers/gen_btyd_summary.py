"""Synthetic BG/NBD customer summaries (+ Gamma-Gamma monetary values).

usage: gen_synth.py N [N ...]      writes ~/peerdata/bgnbd_summary_<1eK>.parquet

Model (vectorised, numpy Generator PCG64, seed = 20240601 for every N):
  lambda_i ~ Gamma(shape=r, rate=alpha)        r=0.243, alpha=4.414   (per week)
  p_i      ~ Beta(a, b)                        a=0.793, b=2.426
  T_days_i ~ UniformInteger{7..546}            T_i = T_days_i / 7  (1..78 weeks, whole days)
  J_i      ~ Geometric(p_i) on {1,2,..}        customer becomes inactive right after its J-th repeat purchase
  N_i      ~ Poisson(lambda_i T_i)             # repeat-purchase events of the (never-dying) process in (0,T]
  x_i      = min(J_i, N_i)                     frequency
  t_x      = T * Beta(x, N-x+1) for x>0        (= x-th order statistic of N uniform arrival times), else 0
  recency  = ceil(t_x*7)/7, clipped to [1/7, T]   for x>0 (whole days; a repeat purchase is >= 1 day after
                                                 the first one), 0 for x=0
  monetary_value (x>0): nu ~ Gamma(q, rate=gamma), zbar ~ Gamma(p*x, rate=nu*x)  (mean of x Gamma(p, nu)
                 spends), p=6.25, q=3.74, gamma=15.44;  0 for x=0
Columns: customer_id int64, frequency int64, recency float64 (weeks), T float64 (weeks), monetary_value float64
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd

R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426
GP, GQ, GG = 6.25, 3.74, 15.44
SEED = 20240601
OUT = os.path.expanduser("~/peerdata")


def generate(n, seed=SEED):
    rng = np.random.default_rng(seed)
    lam = rng.gamma(R, 1.0 / ALPHA, n)
    p = rng.beta(A, B, n)
    T_days = rng.integers(7, 546, n, endpoint=True)
    T = T_days / 7.0
    J = rng.geometric(p)
    N = rng.poisson(lam * T)
    x = np.minimum(J, N).astype(np.int64)
    rep = x > 0
    tx = np.zeros(n)
    u = rng.beta(x[rep], (N[rep] - x[rep] + 1))
    tx_days = np.clip(np.ceil(u * T_days[rep]), 1, T_days[rep])
    tx[rep] = tx_days / 7.0
    mv = np.zeros(n)
    nu = rng.gamma(GQ, 1.0 / GG, rep.sum())
    mv[rep] = rng.gamma(GP * x[rep], 1.0 / (nu * x[rep]))
    return pd.DataFrame({"customer_id": np.arange(1, n + 1, dtype=np.int64), "frequency": x,
                         "recency": tx, "T": T, "monetary_value": mv})


def tag(n):
    k = int(round(np.log10(n)))
    return f"1e{k}" if 10 ** k == n else str(n)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    stats = {}
    for n in map(int, sys.argv[1:]):
        t0 = time.time()
        df = generate(n)
        tg = time.time() - t0
        path = f"{OUT}/bgnbd_summary_{tag(n)}.parquet"
        df.to_parquet(path, index=False)
        ntrip = len(df.groupby(["frequency", "recency", "T"], sort=False).size())
        s = dict(path=path, n=n, seed=SEED, gen_seconds=tg, distinct_triples=int(ntrip),
                 repeaters=int((df.frequency > 0).sum()), mean_frequency=float(df.frequency.mean()),
                 max_frequency=int(df.frequency.max()), sum_frequency=int(df.frequency.sum()),
                 distinct_T=int(df["T"].nunique()), file_bytes=os.path.getsize(path))
        print(json.dumps(s))
        stats[tag(n)] = s
        del df
    p = os.path.join(os.environ.get("OUT", "."), "synth_stats.json")
    old = json.load(open(p)) if os.path.exists(p) else {}
    old.update(stats)
    json.dump(old, open(p, "w"), indent=1)
