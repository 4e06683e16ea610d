"""Sums a flat `perf report --no-children --sort dso,sym --stdio` by owner.

Reads the report on standard input; prints the share of samples of each
owner (the kernel, the allocator, each crate family) and the top functions.
"""
import re
import sys

OWNERS = [
    ("kernel (TCP loopback, syscalls, scheduler)", lambda dso, sym: "kernel" in dso or sym.startswith("[k]")),
    ("allocator and memcpy (libc)", lambda dso, sym: "libc" in dso),
    ("bcrypt (password hashing)", lambda dso, sym: "bcrypt" in sym or "blowfish" in sym),
    ("SQLite", lambda dso, sym: "sqlite3" in sym),
    ("engineioxide / socketioxide", lambda dso, sym: "engineioxide" in sym or "socketioxide" in sym),
    ("tungstenite (websocket frames)", lambda dso, sym: "tungstenite" in sym),
    ("serde / serde_json", lambda dso, sym: "serde" in sym),
    ("tokio (scheduler, channels, timers)", lambda dso, sym: "tokio" in sym),
    ("hyper / axum / tower", lambda dso, sym: any(k in sym for k in ("hyper", "axum", "tower"))),
    ("this server (chat_server, chat_domain)", lambda dso, sym: "chat_server" in sym or "chat_domain" in sym),
    ("diesel / r2d2", lambda dso, sym: "diesel" in sym or "r2d2" in sym),
]

rows = []
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$", line)
    if m:
        share, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
        if "[k]" in line:
            dso = "[kernel]" if "kernel" not in dso else dso
        rows.append((share, dso, sym))

totals = {}
for share, dso, sym in rows:
    owner = next((name for name, test in OWNERS if test(dso, sym)), "other (std, hashing, the rest)")
    totals[owner] = totals.get(owner, 0.0) + share
print()
print("| owner | share of the server's samples |")
print("|---|---|")
for owner, share in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"| {owner} | {share:.1f} % |")
print()
print("top functions:")
for share, dso, sym in sorted(rows, key=lambda r: -r[0])[:15]:
    print(f"  {share:5.2f} %  {sym[:110]}  ({dso})")
