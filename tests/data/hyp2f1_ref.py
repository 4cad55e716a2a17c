"""High-precision reference values of Gauss 2F1(a,b;c;z) with mpmath (mp.dps=50).

Output: hyp2f1.json in the current directory (tests/data/hyp2f1_mpmath.json keeps the
a, b, c, z, value, log_abs_value, group fields) -- list of {a,b,c,z,value,log_abs_value,group,note,scipy_value}
  value          : mpmath value, string with 17 significant digits
  log_abs_value  : float(log|value|) (python float repr)
  scipy_value    : scipy.special.hyp2f1 (float64) for comparison only (repr, may be inf/nan)
Inputs a,b,c,z are stored as python floats (repr); mpmath receives exactly those binary doubles
(mpf(float) is exact), so the reference is for the double inputs as written in the JSON.
"""
import json
import math

import mpmath as mp
from scipy.special import hyp2f1 as sp_hyp2f1

mp.mp.dps = 50

cases = []


def add(a, b, c, z, group, note=""):
    a, b, c, z = float(a), float(b), float(c), float(z)
    if c <= 0:
        print(f"SKIP c<=0: a={a} b={b} c={c} z={z} ({note})")
        return
    cases.append(dict(a=a, b=b, c=c, z=z, group=group, note=note))


# 1. small parameters, z in (-1, 1)
for (a, b, c, z) in [
    (1.0, 1.0, 2.0, 0.5),          # = -log(1-z)/z
    (0.5, 0.5, 1.5, 0.25),         # = asin(sqrt z)/sqrt z
    (0.3, 0.7, 1.9, -0.6),
    (1.5, 2.5, 3.7, 0.8),
    (0.2, 3.1, 2.2, -0.95),
    (2.0, 3.0, 4.0, 0.0),          # = 1
    (-2.0, 1.5, 3.0, 0.7),         # polynomial (a negative integer)
]:
    add(a, b, c, z, "small_params")

# 2. z negative, up to very large |z|
for z in [-0.5, -0.9, -5.0, -50.0, -1000.0]:
    add(1.159, 1.606, 2.159, z, "z_negative", "Pareto/NBD-like x=0: a=r+s, b=s+1, c=a+1")
    add(3.159, 2.553, 4.159, z, "z_negative", "Pareto/NBD-like x=2, b=r+x")
add(0.7, 1.3, 2.9, -1e6, "z_negative", "extreme |z|")

# 3. z close to 1 with c-a-b > 0, < 0, ~ 0
for z in [0.9, 0.99, 0.999, 0.9999]:
    add(0.5, 0.8, 2.3, z, "z_near_1", "c-a-b=+1.0")
    add(1.5, 2.0, 2.5, z, "z_near_1", "c-a-b=-1.0")
    add(1.2, 0.8, 2.0, z, "z_near_1", "c-a-b=0 (log singular at z=1)")
add(1.2, 0.8, 2.0 + 1e-8, 0.9999, "z_near_1", "c-a-b=1e-8")
add(1.2, 0.8, 2.0 - 1e-6, 0.999, "z_near_1", "c-a-b=-1e-6")

# 4. large a (customers with hundreds of purchases): b=s+1, c=a+1
for a in [50.0, 200.0, 500.0]:
    for z in [-0.5, 0.5, 0.9, -50.0]:
        add(a, 1.6, a + 1.0, z, "large_a", "b=s+1, c=a+1")
r_, s_, x_ = 0.55, 0.6, 300
add(r_ + s_ + x_, s_ + 1, r_ + s_ + x_ + 1, 0.99, "large_a", "a=r+s+x (r=.55,s=.6,x=300), b=s+1, c=a+1")
add(r_ + s_ + x_, s_ + 1, r_ + s_ + x_ + 1, -0.3, "large_a", "a=r+s+x (r=.55,s=.6,x=300), b=s+1, c=a+1")
add(r_ + s_ + x_, r_ + x_, r_ + s_ + x_ + 1, 0.05, "large_a", "a=r+s+x, b=r+x=300.55, c=a+1 (alpha<beta branch)")

# 5. Pareto/NBD likelihood with CDNOW published params
r, alpha, s, beta = 0.553, 10.578, 0.606, 11.669
for (x, tx, T) in [(0, 0.0, 38.86), (2, 30.43, 38.86), (26, 30.86, 31.0), (300, 38.0, 39.0)]:
    for lbl, t in [("t_x", tx), ("T", T)]:
        a = r + s + x
        # form 1 (Fader-Hardie 'alpha>=beta' form, used here although alpha<beta: z<0)
        add(a, s + 1, a + 1, (alpha - beta) / (alpha + t), "pareto_cdnow",
            f"form1 b=s+1, z=(alpha-beta)/(alpha+{lbl}); x={x},t_x={tx},T={T}")
        # form 2 (Fader-Hardie 'alpha<beta' form, what lifetimes uses for these params: z>0)
        add(a, r + x, a + 1, (beta - alpha) / (beta + t), "pareto_cdnow",
            f"form2 b=r+x, z=(beta-alpha)/(beta+{lbl}); x={x},t_x={tx},T={T}")

# 6. BG/NBD conditional expectation 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))
r, alpha, a_, b_ = 0.2425982, 4.4136842, 0.7929899, 2.4261667
for (x, T, t) in [(0, 38.86, 39.0), (2, 38.86, 39.0), (26, 31.0, 52.0), (300, 39.0, 52.0)]:
    add(r + x, b_ + x, a_ + b_ + x - 1, t / (alpha + T + t), "bgnbd_cond_exp",
        f"BG/NBD published params x={x},T={T},t={t}")
# a+b<1 (a=0.3, b=0.4): for x=0 c=a+b-1<0 -> skipped; x=1 allowed
for x in [0, 1, 2]:
    add(r + x, 0.4 + x, 0.3 + 0.4 + x - 1, 52.0 / (alpha + 38.86 + 52.0), "bgnbd_cond_exp",
        f"BG/NBD with a=0.3,b=0.4 (a+b<1), x={x}, T=38.86, t=52")

out = []
for cs in cases:
    a, b, c, z = (mp.mpf(cs[k]) for k in ("a", "b", "c", "z"))
    v = mp.hyp2f1(a, b, c, z)
    if mp.im(v) != 0:
        raise SystemExit(f"complex result {cs}")
    v = mp.re(v)
    sv = float(sp_hyp2f1(cs["a"], cs["b"], cs["c"], cs["z"]))
    rec = dict(a=cs["a"], b=cs["b"], c=cs["c"], z=cs["z"],
               value=mp.nstr(v, 17),  # 17 sig. digits (trailing zeros stripped by nstr)
               log_abs_value=float(mp.log(abs(v))) if v != 0 else float("-inf"),
               group=cs["group"], note=cs["note"],
               scipy_value=repr(sv))
    rel = abs(sv - float(v)) / abs(float(v)) if v != 0 and math.isfinite(sv) else float("nan")
    rec["scipy_rel_err"] = rel if math.isfinite(rel) else None
    out.append(rec)

# identity check: for Pareto/NBD the two forms must agree after the prefactor:
#   2F1(rsx, s+1; rsx+1; (al-be)/(al+t)) / (al+t)^rsx == 2F1(rsx, r+x; rsx+1; (be-al)/(be+t)) / (be+t)^rsx
r, alpha, s, beta = 0.553, 10.578, 0.606, 11.669
for (x, t) in [(0, 0.0), (2, 30.43), (26, 31.0), (300, 39.0)]:
    rsx = mp.mpf(r + s + x)
    l = mp.hyp2f1(rsx, s + 1, rsx + 1, (mp.mpf(alpha) - beta) / (alpha + t)) / mp.power(alpha + t, rsx)
    rr = mp.hyp2f1(rsx, r + x, rsx + 1, (mp.mpf(beta) - alpha) / (beta + t)) / mp.power(beta + t, rsx)
    print(f"pareto form identity x={x} t={t}: rel diff {mp.nstr(abs(l/rr-1), 3)}")

with open("hyp2f1.json", "w") as f:
    json.dump(out, f, indent=1)

print(f"{len(out)} cases")
print(f"{'a':>10} {'b':>10} {'c':>12} {'z':>12}  {'value':>24} {'log|v|':>22} {'scipy rel err':>13}  note")
for o in out:
    re_ = o["scipy_rel_err"]
    print(f"{o['a']:>10.6g} {o['b']:>10.6g} {o['c']:>12.10g} {o['z']:>12.6g}  {o['value']:>24} {o['log_abs_value']:>22.16g} "
          f"{(f'{re_:.1e}' if re_ is not None else o['scipy_value']):>13}  {o['note']}")
