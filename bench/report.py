"""A run's results as tables: aligned text for the terminal, Markdown for the README's
"Performance" section, JSON for later comparison, and a PNG plot when matplotlib is present.

A result is plain data (what bench/run.py measured): per workload its title, unit, bytes,
flops, median seconds per implementation, and the implementations skipped or failed. Ratios
and fractions of the machine's limits are derived here, from numbers of the same run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.libraries import TITLES
from bench.limits import Limits

__all__ = ["columns", "tables", "render_text", "render_markdown", "write_json", "write_plot"]

UNIT_SCALE = {"ms": 1e3, "µs": 1e6, "s": 1.0}
# funcgrad/other ratios reported for each funcgrad backend present: below 1 funcgrad is faster.
RATIO_TO = ("jax", "numpy")


def columns(results: list[dict]) -> list[str]:
    """The implementations that have a time in any workload, in TITLES order."""
    timed = {key for result in results for key in result["times"]}
    return [key for key in TITLES if key in timed]


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3g}"


def _ratio(times: dict[str, float], numerator: str, denominator: str) -> str:
    if numerator in times and denominator in times:
        return f"{times[numerator] / times[denominator]:.2f}"
    return "—"


def tables(results: list[dict], limits: Limits) -> list[tuple[str, list[list[str]]]]:
    """(caption, rows with a header row first) of the timing table and the limits table."""
    keys = columns(results)
    funcgrad_keys = [key for key in keys if key.startswith("funcgrad-")]
    ratios = [(f, other) for f in funcgrad_keys for other in RATIO_TO if other in keys]
    header = ["workload", "unit"] + [TITLES[key] for key in keys]
    header += [f"{TITLES[f]} / {TITLES[other]}" for f, other in ratios]
    timing = [header]
    for result in results:
        times, scale = result["times"], UNIT_SCALE[result["unit"]]
        cells = [_number(times[key] * scale) if key in times else "—" for key in keys]
        timing.append(
            [result["title"], result["unit"]] + cells + [_ratio(times, *pair) for pair in ratios]
        )
    floors = [["workload", "MB moved", "GFLOP", "floor", "bound by"] + [TITLES[k] for k in keys]]
    for result in results:
        if not (result["bytes"] or result["flops"]) or not result["times"]:
            continue
        floor, bound = limits.floor_seconds(result["bytes"], result["flops"])
        scale = UNIT_SCALE[result["unit"]]
        shares = [
            f"{100 * floor / result['times'][key]:.0f}%" if key in result["times"] else "—"
            for key in keys
        ]
        floors.append(
            [
                result["title"],
                f"{result['bytes'] / 1e6:.1f}",
                f"{result['flops'] / 1e9:.3f}",
                f"{_number(floor * scale)} {result['unit']}",
                bound,
            ]
            + shares
        )
    captions = (
        "Median time per call (lower is better); ratios below 1 mean funcgrad is faster",
        f"Fraction of the machine's floor reached (copy {limits.bandwidth / 1e9:.1f} GB/s, "
        f"BLAS float32 {limits.flop_rate / 1e9:.1f} GFLOP/s; the floor is the larger of bytes "
        "at that bandwidth and flops at that rate; above 100%: the data stayed in the caches)",
    )
    return list(zip(captions, (timing, floors)))


def _notes(results: list[dict]) -> list[str]:
    lines = []
    for result in results:
        for key, reason in result["skipped"].items():
            lines.append(f"{result['name']}: {TITLES.get(key, key)} skipped: {reason}")
        for key, error in result["failed"].items():
            lines.append(f"{result['name']}: {TITLES.get(key, key)} FAILED, not timed: {error}")
        if result.get("error"):
            lines.append(f"{result['name']}: FAILED to build: {result['error']}")
        if result.get("notes"):
            lines.append(f"{result['name']}: {result['notes']}")
    return lines


def _machine_lines(machine: dict, limits: Limits) -> list[str]:
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    threads = ", ".join(f"{k}={v}" for k, v in machine["threads"].items()) or "library defaults"
    return [
        f"machine: {machine['cpu']}, {machine['cpus']} CPUs, {machine['platform']}"
        + (f", GPU {machine['gpu']}" if machine["gpu"] else ", no GPU"),
        f"limits: copy {limits.bandwidth / 1e9:.1f} GB/s, "
        f"BLAS float32 {limits.flop_rate / 1e9:.1f} GFLOP/s (best of, this run)",
        f"load average {machine['load_average']:.1f} at start; threads: {threads}; "
        f"funcgrad llvm threads {machine['funcgrad_llvm_threads']}"
        + (f"; torch threads {machine['torch_threads']}" if machine["torch_threads"] else ""),
        f"versions: {versions}",
    ]


def render_text(results: list[dict], limits: Limits, machine: dict) -> str:
    """Aligned plain-text tables for the terminal."""
    out = []
    for caption, rows in tables(results, limits):
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        out.append(caption + ":")
        for index, row in enumerate(rows):
            cells = [
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths))
            ]
            out.append("  ".join(cells))
            if index == 0:
                out.append("  ".join("-" * width for width in widths))
        out.append("")
    out += _notes(results) + [""] + _machine_lines(machine, limits)
    return "\n".join(out)


def render_markdown(results: list[dict], limits: Limits, machine: dict, command: str) -> str:
    """The README's "Performance" section body: the command, the machine and the tables."""
    out = [f"`{command}`", ""]
    out += [f"- {line}" for line in _machine_lines(machine, limits)]
    for caption, rows in tables(results, limits):
        out += ["", f"{caption}:", ""]
        out.append("| " + " | ".join(rows[0]) + " |")
        out.append("|" + "---|" * len(rows[0]))
        out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    notes = _notes(results)
    if notes:
        out += [""] + [f"- {line}" for line in notes]
    return "\n".join(out) + "\n"


def write_json(path: Path, results: list[dict], limits: Limits, machine: dict, argv: list) -> None:
    """Everything measured, in seconds, bytes and flops, for later comparison."""
    document: dict[str, Any] = {
        "command": argv,
        "machine": machine,
        "limits": {"copy_bytes_per_second": limits.bandwidth, "blas_flops": limits.flop_rate},
        "workloads": results,
    }
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def write_plot(path: Path, results: list[dict]) -> str | None:
    """Each workload's times relative to NumPy's (log scale), one bar per implementation.
    Returns why no plot was written, or None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot written (pip install matplotlib)"
    keys = columns(results)
    plotted = [r for r in results if "numpy" in r["times"] and len(r["times"]) > 1]
    if not plotted:
        return "no workload has a NumPy time to compare with: no plot written"
    figure, axes = plt.subplots(figsize=(9, 0.5 + 0.35 * len(plotted) * len(keys) / 2))
    height = 0.8 / len(keys)
    for index, key in enumerate(keys):
        positions, values = [], []
        for row, result in enumerate(plotted):
            if key in result["times"]:
                positions.append(row + index * height)
                values.append(result["times"][key] / result["times"]["numpy"])
        axes.barh(positions, values, height=height, label=TITLES[key])
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_yticks([row + 0.4 - height / 2 for row in range(len(plotted))])
    axes.set_yticklabels([r["title"] for r in plotted], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("time relative to NumPy (log scale; left of 1 is faster)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return None
