# Python: json, hashlib, re, math, os.listdir, collections and a class.
import collections
import hashlib
import json
import math
import os
import re


class Account:
    """A bank account with a history."""

    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.balance += amount
        self.history.append(("deposit", amount))

    def __repr__(self):
        return f"Account({self.owner!r}, {self.balance})"


acct = Account("ada")
for amount in (10, 20, 12):
    acct.deposit(amount)
try:
    acct.deposit(-1)
except ValueError as e:
    print("error:", e)
print(acct, acct.history)

data = {"name": "nutshell", "numbers": list(range(5)), "nested": {"pi": round(math.pi, 6)}}
text = json.dumps(data, sort_keys=True)
print(text)
print(json.loads(text)["nested"]["pi"] * 2)

print(hashlib.sha256(b"nutshell").hexdigest())
print(hashlib.md5(text.encode()).hexdigest())

words = re.findall(r"[a-z]+", "The quick brown fox jumps over the lazy dog; the fox!".lower())
print(collections.Counter(words).most_common(3))
print(re.sub(r"(\d+)", lambda m: str(int(m.group(1)) * 2), "a1 b22 c333"))

print(math.sqrt(2), math.factorial(20), math.gcd(84, 36), math.isclose(math.sin(math.pi), 0, abs_tol=1e-12))
print(sorted(os.listdir(".")))

Point = collections.namedtuple("Point", "x y")
queue = collections.deque([Point(1, 2), Point(3, 4)])
queue.appendleft(Point(0, 0))
print(list(queue), sum(p.x + p.y for p in queue))
od = collections.OrderedDict(sorted({"b": 2, "a": 1, "c": 3}.items()))
print(od)
print(collections.defaultdict(int, {"x": 1})["y"])
