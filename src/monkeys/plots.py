"""Figures: coverage vs number of samples with bootstrap bands and power-law fits."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from monkeys.scaling.powerlaw import PowerLawFit, predict_coverage  # noqa: E402

# Fixed metadata so that the same data gives byte-identical files.
_METADATA = {
    "png": {"Software": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
    "svg": {"Date": None, "Creator": None},
}


def coverage_figure(coverage: pd.DataFrame, fits: pd.DataFrame, dataset: str) -> Figure:
    """Coverage (pass@k) vs k on a log axis: one line + band per model, fits dashed."""
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for i, (model, curve) in enumerate(coverage.groupby("model", sort=True)):
        color = f"C{i}"
        curve = curve.sort_values("k")
        problems = int(curve["num_problems"].iat[0])
        ax.fill_between(curve["k"], curve["lower"], curve["upper"], color=color, alpha=0.2,
                        linewidth=0)
        ax.plot(curve["k"], curve["coverage"], "o-", color=color, markersize=3,
                label=f"{model} ({problems} problems)")
        fit_rows = fits[fits["model"] == model]
        if len(fit_rows) and bool(fit_rows["success"].iat[0]):
            row = fit_rows.iloc[0]
            fit = PowerLawFit(**{f: row[f] for f in PowerLawFit.__dataclass_fields__})
            ks = np.geomspace(1, curve["k"].max(), 100)
            label = f"fit: log c = {fit.a:.2f}·k^(-{fit.b:.2f})"
            if np.isfinite(row["predicted"]):
                label += (f"; c({int(row['k_target']):,}) ≈ {row['predicted']:.2f} "
                          f"[{row['predicted_lower']:.2f}, {row['predicted_upper']:.2f}]")
            ax.plot(ks, predict_coverage(fit, ks), "--", color=color, linewidth=1, label=label)
    confidence = float(coverage["confidence"].iat[0]) if len(coverage) else 0.95
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("number of samples k")
    ax.set_ylabel("coverage (pass@k)")
    ax.set_title(f"{dataset}: coverage vs samples (band: {confidence:.0%} bootstrap)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int) -> None:
    """Save atomically, with metadata that does not change between runs; close the figure."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fig.savefig(tmp, dpi=dpi, format=fmt, metadata=_METADATA.get(fmt))
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
