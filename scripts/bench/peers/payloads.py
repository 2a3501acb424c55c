#!/usr/bin/env python3
"""Payload files for scripts/bench/compare.sh: LINES lines of exactly SIZE bytes each.

  payloads.py random SIZE LINES > file   random printable ASCII (lz4 cannot compress it; zstd's
                                          entropy stage gets ~1.2x from 94 symbols in a byte)
  payloads.py json SIZE LINES > file     JSON log events (timestamps, levels, services, ids, a
                                          message from a small vocabulary) padded to SIZE
Deterministic (fixed seed), so every run and every peer gets the same bytes. ASCII only:
ProducerPerformance reads --payload-file as UTF-8 text.
"""
import json
import random
import sys

WORDS = ("request completed user session cart order payment accepted declined retry timeout cache "
         "miss hit upstream downstream latency ok failed queued shipped invoice refund account "
         "login logout token expired renewed inventory reserved released").split()
SERVICES = ["checkout", "cart", "payments", "inventory", "auth", "search", "shipping"]
LEVELS = ["INFO"] * 7 + ["DEBUG"] * 2 + ["WARN", "ERROR"]
PATHS = ["/api/v1/orders", "/api/v1/cart/items", "/api/v2/payments", "/healthz", "/api/v1/users/me"]


def event(rng, i, size):
    ts = 1764870000000 + i * 37 + rng.randrange(37)
    e = {"ts": ts, "lvl": rng.choice(LEVELS), "svc": rng.choice(SERVICES), "uid": rng.randrange(100000)}
    if size >= 512:
        e.update({
            "host": "web-%02d" % rng.randrange(40),
            "trace": "%016x" % rng.getrandbits(64),
            "span": "%08x" % rng.getrandbits(32),
            "http": {"method": rng.choice(["GET", "POST", "PUT"]), "path": rng.choice(PATHS),
                     "status": rng.choice([200] * 8 + [201, 404, 500]), "ms": round(rng.expovariate(1 / 40), 2)},
            "client": {"ip": "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(256)),
                       "ua": rng.choice(["Mozilla/5.0 (X11; Linux x86_64)", "okhttp/4.12.0", "curl/8.5.0"])},
            "tags": rng.sample(["prod", "eu-west", "canary", "v2", "beta", "mobile", "web"], 3),
        })
    e["msg"] = ""
    base = len(json.dumps(e, separators=(",", ":")))
    room = size - base
    if room < 0:
        raise SystemExit(f"size {size} too small for an event")
    words = []
    while len(" ".join(words)) < room:
        words.append(rng.choice(WORDS))
    e["msg"] = " ".join(words)[:room]
    line = json.dumps(e, separators=(",", ":"))
    assert len(line) == size, (len(line), size)
    return line


def main():
    kind, size, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(20261204)
    out = sys.stdout
    alphabet = [chr(c) for c in range(0x21, 0x7F)]
    for i in range(lines):
        if kind == "random":
            out.write("".join(rng.choices(alphabet, k=size)))
        elif kind == "json":
            out.write(event(rng, i, size))
        else:
            raise SystemExit(f"unknown kind {kind}")
        out.write("\n")


if __name__ == "__main__":
    main()
