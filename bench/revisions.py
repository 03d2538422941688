"""sct against an earlier sct: the gradient benchmarks of ``bench.run`` for two checkouts, side by side.

    python -m bench.revisions /path/to/old/checkout            # this checkout against that one
    python -m bench.revisions OLD --rounds 3 --budget 0.4       # more samples

Each round runs ``python -m bench.run --tools sct --no-memory`` once in each
checkout (alternating, so a machine that gets busier or quieter affects both)
and keeps, per benchmark, the fastest time over the rounds.  The table gives
sct's derivative time in each revision and their ratio (new/old: below 1 is
faster).  The NumPy hand-written gradient is timed in both runs too: its ratio
shows how much of a difference is the machine, not sct.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _run(checkout: Path, budget: float, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    cmd = [sys.executable, "-m", "bench.run", "--quick", "--tools", "sct", "--no-memory", "--rounds", "1",
           "--budget", str(budget), "--json", str(out)]
    subprocess.run(cmd, cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def _times(results: dict) -> dict[tuple[str, str], float]:
    """(benchmark, tool) -> seconds of one derivative (the fastest sample), from bench.run's JSON."""
    out = {}
    for case in results.get("gmm", []):
        size = ",".join(str(case[k]) for k in ("D", "K", "N"))
        for tool, rec in case["tools"].items():
            if isinstance(rec.get("gradient_min_s"), (int, float)):
                out[(f"GMM {size} gradient", tool)] = rec["gradient_min_s"]
    scalar = results.get("scalar", [])
    for case in scalar if isinstance(scalar, list) else [scalar]:
        for tool, modes in case.get("tools", {}).items():
            for mode in ("reverse", "jvp"):
                if isinstance(modes.get(mode, {}).get("min_s"), (int, float)):
                    out[(f"scalar {case['target']} {mode}", tool)] = modes[mode]["min_s"]
    return out


def _fmt(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", type=Path, help="the earlier checkout (e.g. a git worktree of an older commit)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--budget", type=float, default=0.3, help="seconds of timing per measurement and run")
    args = ap.parse_args(argv)
    best: dict[str, dict] = {"old": {}, "new": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for label, checkout in (("old", args.old.resolve()), ("new", HERE)):
                print(f"round {r + 1}/{args.rounds}: {label} ({checkout})", file=sys.stderr)
                for key, t in _times(_run(checkout, args.budget, Path(tmp) / f"{label}{r}.json")).items():
                    best[label][key] = min(t, best[label].get(key, float("inf")))
    print("| benchmark | tool | old | new | new/old |")
    print("| --- | --- | --- | --- | --- |")
    for key in sorted(best["new"].keys() & best["old"].keys()):
        old, new = best["old"][key], best["new"][key]
        print(f"| {key[0]} | {key[1]} | {_fmt(old)} | {_fmt(new)} | {new / old:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
