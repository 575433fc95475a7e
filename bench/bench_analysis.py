"""How good is the back-of-envelope analysis? Each estimate beside an exact or long-simulation reference.

    .venv/bin/python bench/bench_analysis.py            # the table and the summary (seconds)
    .venv/bin/python bench/bench_analysis.py --record   # re-run the references (minutes, both cores)

The designs are the scenario files in ``bench/analysis/designs/``. Where the
model has an exact solution, the reference is exact, computed by
``bench/analysis/exact.py``, which shares no code with the sandbox (closed forms,
exact Markov chains, the convolution algorithm in rational arithmetic).
Elsewhere it is the mean of 8 independent replications (seeds 1-8) of a long
run, with its 95% t-interval half-width (the simulator passed an outside
cross-check against Ciw, exact Markov chains and MVA). ``--record`` checks
every exact value against the simulation's interval (widened 3x), so the two
kinds of reference vouch for each other.

For every node with workers: utilization (relative error), share of calls
rejected (absolute error, in points), and mean wait (relative error; absolute,
in ms, where the reference is below 1 ms); and the design's mean latency. The
summary gives, per figure and per accuracy the analysis claims (exact,
approximate, none), the median and worst error, and how many estimates lie
outside their stated band widened by the reference's own interval.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "analysis"))

import sandbox  # noqa: E402
from sandbox.intervals import t_quantile  # noqa: E402

import exact  # noqa: E402  (bench/analysis/exact.py)

DESIGNS = ROOT / "bench" / "analysis" / "designs"
REFERENCES = ROOT / "bench" / "analysis" / "references.json"
SEEDS = range(1, 9)

def _lognormal_var(mean: float, p99: float) -> float:
    """Variance of the lognormal with this mean and 99th percentile (the smaller sigma: the sandbox's choice)."""
    z = 2.3263478740408408
    sigma = z - math.sqrt(z * z - 2 * math.log(p99 / mean))
    return mean ** 2 * (math.exp(sigma ** 2) - 1)


def exact_references() -> dict[tuple[str, str, str], float]:
    """Exact values, keyed design / node / figure ('' node: the design's latency); times in ms."""
    out: dict[tuple[str, str, str], float] = {}

    def station(design: str, node: str, figures: dict[str, Any]) -> None:
        for figure in ("utilization", "rejected", "wait"):
            if figure in figures:
                key = "wait_ms" if figure == "wait" else figure
                out[(design, node, key)] = float(figures[figure]) * (1000.0 if figure == "wait" else 1.0)

    rho = 27 * 0.026
    out[("sync_pair_one_worker", "api", "utilization")] = rho
    out[("sync_pair_one_worker", "api", "wait_ms")] = exact.pk_wait(27, 0.026, 208e-6) * 1000
    station("sync_pair_one_worker", "db", {"utilization": 27 * 0.012, "wait": 0.0, "rejected": 0.0})
    pair = exact.caller_callee(70, 0.010, 4, 10, 0.012, 1)
    station("sync_pair_thread_pool", "api", {"utilization": pair["caller_utilization"],
                                              "rejected": pair["caller_rejected"], "wait": pair["caller_wait"]})
    station("sync_pair_thread_pool", "db", {"utilization": pair["callee_utilization"], "wait": pair["callee_wait"]})
    out[("sync_pair_thread_pool", "", "latency_ms")] = float(pair["latency"]) * 1000
    station("random_lb_finite_queue", "svc", exact.mmck(99, 1 / 30, 3, 7))
    station("round_robin_mm1x3", "svc", exact.ek_m_c(3, 80, 0.010, 1))
    closed = exact.closed_network(15, 0.3, [("s1", 1, 0.015), ("s2", 1, 0.020)])
    for n in ("s1", "s2"):
        station("closed_tandem", n, closed[n])  # type: ignore[arg-type]
    out[("closed_tandem", "", "latency_ms")] = sum(closed[n]["residence"] for n in ("s1", "s2")) * 1000  # type: ignore[index]
    out[("fork_join_two", "", "latency_ms")] = exact.fork_join_2(60, 0.010) * 1000
    for design, lam, s_, c in (("mm1_50", 50, 0.010, 1), ("mm1_90", 90, 0.010, 1), ("mmc4_80", 160, 0.020, 4),
                               ("mmc8_90", 180, 0.040, 8)):
        station(design, "s", exact.mmc(lam, s_, c))
    out[("md1_80", "s", "wait_ms")] = exact.pk_wait(80, 0.010, 0.0) * 1000
    out[("mg1_lognormal", "s", "wait_ms")] = exact.pk_wait(70, 0.010, _lognormal_var(0.010, 0.060)) * 1000
    station("constant_arrivals_m1", "s", exact.d_m_c(80, 0.010, 1))
    station("constant_arrivals_mc", "s", exact.d_m_c(180, 0.020, 4))
    station("cache_db", "db", exact.mmc(60, 0.012, 1))
    station("queue_consumers", "q", exact.mmc(80, 0.020, 2))
    station("queue_consumers", "worker", {"utilization": 0.8, "wait": 0.0, "rejected": 0.0})
    station("random_lb_jackson", "svc", exact.mmc(70, 0.010, 1))
    block = exact.erlang_b(5, 4.0)
    station("erlang_b_loss", "s", {"utilization": 4 * (1 - block) / 5, "rejected": block, "wait": 0.0})
    station("small_queue_near_saturation", "s", exact.mmck(95, 0.020, 2, 5))
    station("rr_2x2", "svc", exact.ek_m_c(2, 80, 0.020, 2))
    station("rr_4x2_direct", "svc", exact.ek_m_c(4, 87.5, 0.020, 2))
    multi = exact.closed_network(40, 0.5, [("app", 4, 0.040), ("db", 2, 0.015)])
    for n in ("app", "db"):
        station("closed_multi_server", n, multi[n])  # type: ignore[arg-type]
    out[("closed_multi_server", "", "latency_ms")] = sum(multi[n]["residence"] for n in ("app", "db")) * 1000  # type: ignore[index]
    pool = exact.caller_callee(150, 0.005, 8, 50, 0.010, 2)
    station("sync_8_to_2", "api", {"utilization": pool["caller_utilization"], "rejected": pool["caller_rejected"],
                                   "wait": pool["caller_wait"]})
    station("sync_8_to_2", "db", {"utilization": pool["callee_utilization"], "wait": pool["callee_wait"]})
    out[("sync_8_to_2", "", "latency_ms")] = float(pool["latency"]) * 1000
    return out


def _figures(path: str, seed: int) -> dict[str, float]:
    """One replication: every figure the benchmark compares, keyed 'node/figure' ('/latency_ms')."""
    r = sandbox.simulate(sandbox.load(path), seed=seed)
    out = {"/latency_ms": r.latency_ms.mean}
    for name, n in r.nodes.items():
        if n.capacity and n.arrived:
            out[f"{name}/utilization"] = n.utilization
            out[f"{name}/rejected"] = n.rejected / n.arrived
            out[f"{name}/wait_ms"] = n.wait_ms["mean"]
    return out


def record() -> None:
    t0 = time.perf_counter()
    jobs = [(str(p), seed) for p in sorted(DESIGNS.glob("*.yaml")) for seed in SEEDS]
    with ProcessPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(_figures, *zip(*jobs)))
    by_design: dict[str, list[dict[str, float]]] = {}
    for (path, _), figures in zip(jobs, runs):
        by_design.setdefault(Path(path).stem, []).append(figures)
    refs: dict[str, dict[str, dict[str, float]]] = {}
    for design, reps in by_design.items():
        refs[design] = {}
        for key in reps[0]:
            values = [rep[key] for rep in reps if key in rep and math.isfinite(rep[key])]
            mean = statistics.fmean(values)
            half = t_quantile(0.95, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
            refs[design][key] = {"mean": mean, "half_width": half, "runs": len(values)}
    REFERENCES.write_text(json.dumps({"seeds": list(SEEDS), "references": refs}, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(jobs)} runs of {len(by_design)} designs in {time.perf_counter() - t0:.0f} s")
    for (design, node, figure), value in exact_references().items():
        ref = refs[design][f"{node}/{figure}"]
        ok = abs(ref["mean"] - value) <= 3 * ref["half_width"] + 1e-6
        print(f"  {'ok ' if ok else 'OFF'} exact {design} {node or '(latency)'} {figure}: {value:.5g} vs "
              f"simulated {ref['mean']:.5g} ± {ref['half_width']:.2g}")


def _row(design: str, node: str, figure: str, predicted: float, ref: dict[str, float], accuracy: str,
         band: float) -> dict[str, Any]:
    mean, half = ref["mean"], ref["half_width"]
    exact_ref = bool(ref.get("exact"))
    # beyond the band: the reference's own interval, widened 3x; against an exact reference, round-off only
    if figure == "rejected":
        error, relative = predicted - mean, False
        allowed = band * max(mean, predicted) + 3 * half + (1e-6 if exact_ref else 0.002)
    elif figure == "wait_ms" and mean < 1.0:
        error, relative = predicted - mean, False
        allowed = band * mean + 3 * half + (1e-6 if exact_ref else 0.1)
    else:
        error = (predicted - mean) / mean if mean else predicted
        relative = True
        allowed = band + (3 * half / mean if mean else 0.0) + 1e-6
    return {"design": design, "node": node, "figure": figure, "predicted": predicted, "reference": mean,
            "half_width": half, "error": error, "relative": relative, "accuracy": accuracy, "band": band,
            "source": "exact" if ref.get("exact") else "simulation",
            "outside": not math.isfinite(error) or abs(error) > allowed}


def rows() -> list[dict[str, Any]]:
    refs = json.loads(REFERENCES.read_text())["references"]
    exact_values = exact_references()
    for (design, node, figure), value in exact_values.items():   # an exact reference has no interval
        refs[design][f"{node}/{figure}"] = {"mean": value, "half_width": 0.0, "exact": True}
    out = []
    for path in sorted(DESIGNS.glob("*.yaml")):
        design = path.stem
        a = sandbox.analyse(sandbox.load(path))
        ref = refs[design]
        for name, e in a.nodes.items():
            if not e.capacity or f"{name}/utilization" not in ref:
                continue
            # getattr: the same benchmark runs against versions from before the analysis stated its accuracy
            accuracy = getattr(e, "accuracy", "approximate")
            out.append(_row(design, name, "utilization", e.predicted_utilization, ref[f"{name}/utilization"],
                            accuracy, getattr(e, "utilization_band", 0.0)))
            out.append(_row(design, name, "rejected", getattr(e, "predicted_rejected", 0.0),
                            ref[f"{name}/rejected"], accuracy, getattr(e, "utilization_band", 0.0)))
            out.append(_row(design, name, "wait_ms", e.predicted_wait_ms, ref[f"{name}/wait_ms"],
                            accuracy, getattr(e, "wait_band", 0.0)))
        out.append(_row(design, "", "latency_ms", a.predicted_latency_ms, ref["/latency_ms"],
                        getattr(a, "latency_accuracy", "approximate"), getattr(a, "latency_band", 0.0)))
    return out


def _error(r: dict[str, Any]) -> str:
    if not math.isfinite(r["error"]):
        return "inf"
    if r["figure"] == "rejected":
        return f"{r['error'] * 100:+.2f} pt"
    return f"{r['error']:+.1%}" if r["relative"] else f"{r['error']:+.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="re-run the simulation references")
    parser.add_argument("--summary", action="store_true", help="print only the summary")
    args = parser.parse_args()
    if args.record or not REFERENCES.exists():
        record()
    t0 = time.perf_counter()
    table = rows()
    took = time.perf_counter() - t0
    if not args.summary:
        print(f"{'design':<28} {'node':<8} {'figure':<12} {'predicted':>12} {'reference':>18} {'error':>10}  claim")
        for r in table:
            shown = "not modelled" if r["accuracy"] == "none" else f"{r['predicted']:.4g}"
            ref = f"{r['reference']:.4g} exact" if r["source"] == "exact" else \
                f"{r['reference']:.4g} ± {r['half_width']:.2g}"
            claim = r["accuracy"] + (f" ±{r['band']:.0%}" if r["accuracy"] == "approximate" else "")
            mark = "  OUTSIDE" if r["outside"] and r["accuracy"] != "none" else ""
            error = "-" if r["accuracy"] == "none" else _error(r)
            print(f"{r['design']:<28} {r['node'] or '(all)':<8} {r['figure']:<12} {shown:>12} {ref:>18} "
                  f"{error:>10}  {claim}{mark}")
        print()
    print(f"summary: {len(list(DESIGNS.glob('*.yaml')))} designs, {len(table)} estimates, analysed in {took:.2f} s")
    print(f"{'figure':<12} {'claim':<12} {'count':>5} {'median':>9} {'worst':>9} {'outside band':>13}")
    for figure in ("utilization", "rejected", "wait_ms", "latency_ms"):
        for claim in ("exact", "approximate", "none"):
            group = [r for r in table if r["figure"] == figure and r["accuracy"] == claim]
            if not group:
                continue
            if claim == "none":
                print(f"{figure:<12} {claim:<12} {len(group):>5} {'(declared out of scope)':>33}")
                continue
            rel = [abs(r["error"]) for r in group if r["relative"]]
            absolute = [abs(r["error"]) for r in group if not r["relative"]]
            unit = " pt" if figure == "rejected" else " ms"
            values, scale, fmt = (rel, 1.0, "{:.1%}") if rel else (absolute, 100.0 if figure == "rejected" else 1.0,
                                                                   "{:.2f}" + unit)
            med = fmt.format(statistics.median(values) * scale) if values else "-"
            worst = fmt.format(max(values) * scale) if values else "-"
            outside = sum(r["outside"] for r in group)
            print(f"{figure:<12} {claim:<12} {len(group):>5} {med:>9} {worst:>9} {outside:>13}")


if __name__ == "__main__":
    main()
