"""lifetimes 0.11.3 timings (BG/NBD + Gamma-Gamma fit and scoring) on the synthetic summaries.

usage: timings.py TAG REPEATS        e.g. timings.py 1e6 3
Writes $OUT/timings_<TAG>.json (OUT defaults to the current directory); the medians of
all sizes are in benches/peers/results/lifetimes_clv_timings.json.

Timed steps (time.perf_counter wall-clock, each repeated REPEATS times, median reported, all runs listed):
  load            pd.read_parquet(path)
  fit_full        BetaGeoFitter().fit(df.frequency, df.recency, df.T)                 (no weights)
  compress        df.groupby(['frequency','recency','T']).size().reset_index(name='w')
  fit_weighted    BetaGeoFitter().fit(c.frequency, c.recency, c.T, weights=c.w)      (compressed triples)
  gg_fit          GammaGammaFitter().fit(rep.frequency, rep.monetary_value)           (rep = frequency>0 rows)
  score_palive    bgf.conditional_probability_alive(f, r, T)                         (all customers, numpy arrays)
  score_condexp   bgf.conditional_expected_number_of_purchases_up_to_time(52, f, r, T)
  score_clv       ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=0.01, freq='W')
                  (pandas Series inputs, all customers; non-repeaters get m=0 -> GG-adjusted population mean)
  score_total     sum of the three scoring steps (measured as one block)
bgf used for scoring = the fit_full model of the last repeat; ggf = the gg_fit model of the last repeat.
"""
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

warnings.filterwarnings("ignore")
tag, reps = sys.argv[1], int(sys.argv[2])
skip = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else set()
path = os.path.expanduser(f"~/peerdata/bgnbd_summary_{tag}.parquet")
res = {"tag": tag, "path": path, "repeats": reps, "steps": {}, "params": {}}


def rec(name, secs, extra=None):
    st = res["steps"].setdefault(name, {"runs_s": [], "loadavg_1m_before": []})
    st["runs_s"].append(secs)
    st["median_s"] = statistics.median(st["runs_s"])
    if extra:
        st.update(extra)
    print(f"{tag} {name}: {secs:.3f}s  (load {os.getloadavg()[0]:.2f})", flush=True)
    json.dump(res, open(os.path.join(os.environ.get("OUT", "."), f"timings_{tag}.json"), "w"), indent=1)


def timed(name, fn):
    res["steps"].setdefault(name, {"runs_s": [], "loadavg_1m_before": []})["loadavg_1m_before"].append(os.getloadavg()[0])
    t0 = time.perf_counter()
    out = fn()
    rec(name, time.perf_counter() - t0)
    return out


for i in range(reps):
    df = timed("load", lambda: pd.read_parquet(path))
res["n_customers"] = len(df)
f, r, T, m = df["frequency"], df["recency"], df["T"], df["monetary_value"]
fa, ra, Ta = f.values, r.values, T.values

bgf = None
if "fit_full" not in skip:
    for i in range(reps):
        bgf = timed("fit_full", lambda: BetaGeoFitter().fit(f, r, T))
    res["params"]["fit_full"] = {k: float(v) for k, v in bgf.params_.items()}
    res["params"]["fit_full_negative_log_likelihood_(mean,scaled)"] = float(bgf._negative_log_likelihood_)

for i in range(reps):
    c = timed("compress", lambda: df.groupby(["frequency", "recency", "T"], sort=False).size().reset_index(name="w"))
res["distinct_triples"] = len(c)
for i in range(reps):
    bgw = timed("fit_weighted", lambda: BetaGeoFitter().fit(c["frequency"], c["recency"], c["T"], weights=c["w"]))
res["params"]["fit_weighted"] = {k: float(v) for k, v in bgw.params_.items()}
res["params"]["fit_weighted_negative_log_likelihood_(mean,scaled)"] = float(bgw._negative_log_likelihood_)
if bgf is None:
    bgf = bgw
    res["scoring_model"] = "fit_weighted (fit_full skipped)"
else:
    res["scoring_model"] = "fit_full"

repm = df[df["frequency"] > 0]
for i in range(reps):
    ggf = timed("gg_fit", lambda: GammaGammaFitter().fit(repm["frequency"], repm["monetary_value"]))
res["params"]["gg_fit"] = {k: float(v) for k, v in ggf.params_.items()}
res["n_repeaters"] = len(repm)


def score():
    t0 = time.perf_counter()
    pa = bgf.conditional_probability_alive(fa, ra, Ta)
    t1 = time.perf_counter()
    ce = bgf.conditional_expected_number_of_purchases_up_to_time(52, fa, ra, Ta)
    t2 = time.perf_counter()
    clv = ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=0.01, freq="W")
    t3 = time.perf_counter()
    return (t1 - t0, t2 - t1, t3 - t2), (pa, ce, clv)


for i in range(reps):
    la = os.getloadavg()[0]
    t0 = time.perf_counter()
    (tp, tc, tl), (pa, ce, clv) = score()
    tt = time.perf_counter() - t0
    for nm, v in [("score_palive", tp), ("score_condexp", tc), ("score_clv", tl), ("score_total", tt)]:
        res["steps"].setdefault(nm, {"runs_s": [], "loadavg_1m_before": []})["loadavg_1m_before"].append(la)
        rec(nm, v)
res["score_checks"] = {"mean_palive": float(np.mean(pa)), "mean_condexp52": float(np.mean(ce)),
                       "sum_clv": float(np.sum(clv)), "nan_count_clv": int(np.isnan(clv).sum()),
                       "nan_count_condexp": int(np.isnan(ce).sum())}
print(json.dumps(res["params"]), json.dumps(res["score_checks"]))
json.dump(res, open(os.path.join(os.environ.get("OUT", "."), f"timings_{tag}.json"), "w"), indent=1)
