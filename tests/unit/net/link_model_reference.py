#!/usr/bin/env python3
# Independent re-implementation (Python integers and decimal arithmetic, not tspemu code) of
# net/link_model's counter RNG, jitter and FEC draws. link_model_test.cpp pins the values this
# prints; run `python3 tests/unit/net/link_model_reference.py` to regenerate them.
M = (1 << 64) - 1
G = 0x9E3779B97F4A7C15
def mix64(x):
    x &= M
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
    return x ^ (x >> 31)
def cr(seed, link, src, seq, stream):
    h = mix64(seed + G)
    h = mix64(h ^ mix64((((link & 0xffffffff) << 32) | (src & 0xffffffff)) + 2 * G))
    h = mix64(h ^ mix64(seq + 3 * G))
    h = mix64(h ^ mix64(stream + 4 * G))
    return h
def jitter(lat, lo, hi, seed, link, src, seq):
    r = cr(seed, link, src, seq, 1)
    return (lo - lat) + ((r * (hi - lo + 1)) >> 64)
print("cr(0,0,0,0,jitter) = %#x" % cr(0, 0, 0, 0, 1))
print("cr(42,3,5,7,user) = %#x" % cr(42, 3, 5, 7, 1024))
print("jitter seed 42 link 3 src 5 seq 0..15:", [jitter(217, 209, 228, 42, 3, 5, s) for s in range(16)])
print("jitter seed 42 link 3 src 6 seq 0..15:", [jitter(217, 209, 228, 42, 3, 6, s) for s in range(16)])
from fractions import Fraction
from decimal import Decimal, getcontext
getcontext().prec = 50
for ber in ["1e-4", "1e-12", "1e-3"]:
    b = Decimal(ber)
    p = 1 - (1 - b) ** 2624
    print("frame p(%s) = %s" % (ber, p))
# corrected count for ber 1e-4 over seq 0..99999, seed 7 link 1 src 0
p = float(1 - (1 - Decimal("1e-4")) ** 2624)
t = int(p * 2.0**53)
n = sum(1 for s in range(100000) if (cr(7, 1, 0, s, 2) >> 11) < t)
u = sum(1 for s in range(100000) if (cr(7, 1, 0, s, 3) >> 11) < int(0.01 * 2.0**53))
print("corrected", n, "uncorrectable", u, "p", p)
# jitter histogram sample
from collections import Counter
c = Counter(jitter(217, 209, 228, 7, 1, 0, s) for s in range(100000))
print(sorted(c.items())[:3], sorted(c.items())[-3:], sum(k*v for k,v in c.items())/100000)
