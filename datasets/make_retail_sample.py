"""Writes datasets/retail_sample.csv: a small synthetic retail log with every optional
column patronage understands (order id, quantity, cost of goods, channel, return flag).

Seeded and standard-library only, so the file is reproducible:
    python3 datasets/make_retail_sample.py
"""
import csv
import datetime as dt
import random

rng = random.Random(20240101)
start = dt.date(2023, 1, 1)
days = 540  # 2023-01-01 .. 2024-06-23
rows = []
order = 100000
for c in range(1, 301):
    cid = f"C{c:04d}"
    rate = rng.gammavariate(0.8, 1 / 0.03)  # purchases per year, heavy tail
    first = rng.randrange(0, days - 30)
    alive_until = first + int(rng.expovariate(1 / 400))
    channel_pref = rng.choice(["web", "web", "store", "phone"])
    d = first
    while d < min(days, alive_until):
        order += 1
        channel = channel_pref if rng.random() < 0.8 else rng.choice(["web", "store", "phone"])
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            qty = rng.choice([1, 1, 1, 2, 3, 5])
            price = round(rng.lognormvariate(3.0, 0.6), 2)
            amount = round(price * qty, 2)
            cost = round(amount * rng.uniform(0.6, 0.8), 2)
            date = start + dt.timedelta(days=d)
            rows.append([order, cid, date.isoformat(), channel, qty, amount, cost, "false"])
            if rng.random() < 0.03:  # a return some days later, negative amount and cost
                rdate = date + dt.timedelta(days=rng.randrange(3, 30))
                if (rdate - start).days < days:
                    order += 1
                    rows.append([order, cid, rdate.isoformat(), channel, qty, -amount, -cost, "true"])
        d += max(1, int(rng.expovariate(rate / 365.0) if rate > 0 else days))
rows.sort(key=lambda r: (r[2], r[0]))
with open("datasets/retail_sample.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["order_id", "customer_id", "date", "channel", "quantity", "amount", "cost", "is_return"])
    w.writerows(rows)
print(len(rows), "rows")
