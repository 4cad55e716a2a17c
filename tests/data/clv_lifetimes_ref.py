#!/usr/bin/env python3
"""Reference CLV values from lifetimes 0.11.3 on the CDNOW summary, for
tests/integration/clv_lifetimes.rs. Run once; the output is committed:

    python3 -m venv ~/peers-venv && ~/peers-venv/bin/pip install lifetimes==0.11.3
    ~/peers-venv/bin/python tests/data/clv_lifetimes_ref.py > tests/data/clv_lifetimes_cdnow.json

Input: datasets/cdnow/cdnow_customers_summary_with_transactions.csv (lifetimes' own
CDNOW summary: 2,357 customers, x, t_x, T in weeks, zbar the mean repeat spend).
Job: `GammaGammaFitter.customer_lifetime_value(bgf, x, t_x, T, zbar, time=12,
discount_rate=0.01, freq="W")`, i.e. 12 monthly steps of 4.345 weeks discounted at 1% a
month, with Gamma-Gamma's conditional expected spend.

Two sets of values:
  at_published  BG/NBD and Gamma-Gamma at the published parameters (Fader, Hardie & Lee
                2005; lifetimes' documentation) set by hand: checks the CLV formula alone.
  lifetimes_fit lifetimes' own fits (BetaGeoFitter, GammaGammaFitter on x > 0, no
                penalizer) and the CLV at them: checks fit and formula together.
"""
import json
import sys

import lifetimes
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

PATH = "datasets/cdnow/cdnow_customers_summary_with_transactions.csv"
BG = {"r": 0.2425982, "alpha": 4.4136842, "a": 0.7929899, "b": 2.4261667}
GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def clv(bgf, ggf, d):
    return ggf.customer_lifetime_value(
        bgf, d["x"], d["t_x"], d["T"], d["zbar"], time=12, discount_rate=0.01, freq="W"
    )


def main():
    d = pd.read_csv(PATH)
    bgf, ggf = BetaGeoFitter(), GammaGammaFitter()
    bgf.params_ = pd.Series(BG)
    # fit() binds `predict`; parameters set by hand need it bound the same way.
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    ggf.params_ = pd.Series(GG)
    published = clv(bgf, ggf, d)

    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(d["x"], d["t_x"], d["T"])
    rep = d[d["x"] > 0]
    ggf = GammaGammaFitter(penalizer_coef=0.0).fit(rep["x"], rep["zbar"])
    fitted = clv(bgf, ggf, d)

    out = {
        "source": "lifetimes " + lifetimes.__version__ + ", pandas " + pd.__version__,
        "input": PATH,
        "job": "customer_lifetime_value(time=12, discount_rate=0.01, freq='W')",
        "ids": d["ID"].tolist(),
        "at_published": {
            "bgnbd": BG,
            "gamma_gamma": GG,
            "clv": [float(f"{v:.12g}") for v in published],
        },
        "lifetimes_fit": {
            "bgnbd": {k: float(v) for k, v in bgf.params_.items()},
            "gamma_gamma": {k: float(v) for k, v in ggf.params_.items()},
            "clv": [float(f"{v:.12g}") for v in fitted],
        },
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
