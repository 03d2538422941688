"""sct's Jacobian of ADBench's bundle adjustment (bench/adbench_ba.py), per observation, in µs.

    python -m bench.ba_speed                      # this checkout
    python -m bench.ba_speed --against ../main    # interleaved with another checkout of sct (before/after)

Rows: the objective per observation; the 2 x 15 Jacobian called per observation as a user calls it
(``sct.jacobian(reprojection_error, wrt=(0, 1, 2))(cams[c], X[pt], w[i], feats[i])`` in a loop, default
mode "auto"); the batched Jacobian of every observation at once,
``sct.vmap(sct.jacobian(reprojection_error, wrt=(0, 1, 2)))(cams[obs[:, 0]], X[obs[:, 1]], w, feats)``
(where the checkout has sct.vmap).  ADBench's smallest set (n=49, m=7776, p=31843); minimum of the
repeats; each checkout measured in its own process, the processes alternating.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

LOOP_OBSERVATIONS = 400  # per-observation rows: the first 400 observations


def measure(repeats: int) -> dict:
    import sct
    from bench.adbench_ba import make_ba_data, reprojection_error

    cams, X, w, obs, feats = make_ba_data()
    p = len(w)
    out = {}

    def best(fn, per):
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times) / per * 1e6

    def primal():
        for i in range(LOOP_OBSERVATIONS):
            c, pt = obs[i]
            reprojection_error(cams[c], X[pt], w[i], feats[i])
    out["objective, per observation"] = best(primal, LOOP_OBSERVATIONS)
    jac = sct.jacobian(reprojection_error, wrt=(0, 1, 2))

    def looped():
        for i in range(LOOP_OBSERVATIONS):
            c, pt = obs[i]
            jac(cams[c], X[pt], w[i], feats[i])
    out["Jacobian per observation (loop)"] = best(looped, LOOP_OBSERVATIONS)
    if hasattr(sct, "vmap"):
        C, P = cams[obs[:, 0]], X[obs[:, 1]]
        batched = sct.vmap(sct.jacobian(reprojection_error, wrt=(0, 1, 2)))
        out["Jacobian of every observation (vmap)"] = best(lambda: batched(C, P, w, feats), p)
        objective = sct.vmap(reprojection_error)
        out["objective of every observation (vmap)"] = best(lambda: objective(C, P, w, feats), p)
    return out


def _run(checkout: str, repeats: int) -> dict:
    """``measure`` in a fresh process importing sct from ``checkout`` (the benchmark's data from here)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.abspath(checkout), here]))
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", str(repeats)],
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another checkout of sct, measured in alternation (before)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # (one process's measurements, as JSON)
    args = parser.parse_args()
    if args.measure:
        import sct
        print(json.dumps({**measure(args.measure), "sct": os.path.dirname(sct.__file__)}))
        return
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checkouts = {"before": args.against, "after": here} if args.against else {"this": here}
    results: dict[str, dict] = {k: {} for k in checkouts}
    for _ in range(args.rounds):
        for label, path in checkouts.items():
            measured = _run(path, args.repeats)
            assert os.path.dirname(measured.pop("sct")) == os.path.abspath(path), "sct imported from elsewhere"
            for row, value in measured.items():
                results[label][row] = min(value, results[label].get(row, float("inf")))
    rows = list(dict.fromkeys(r for res in results.values() for r in res))
    print("| µs per observation | " + " | ".join(checkouts) + (" | ratio |" if args.against else " |"))
    print("| --- |" + " ---: |" * (len(checkouts) + bool(args.against)))
    for row in rows:
        cells = [f"{results[k][row]:.2f}" if row in results[k] else "n/a" for k in checkouts]
        ratio = ""
        if args.against and row in results["before"] and row in results["after"]:
            ratio = f" {results['before'][row] / results['after'][row]:.1f}× |"
        elif args.against:
            ratio = " |"
        print(f"| {row} | " + " | ".join(cells) + " |" + ratio)


if __name__ == "__main__":
    main()
