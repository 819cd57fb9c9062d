"""Figures: coverage vs number of samples with bootstrap bands and power-law fits."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from monkeys.atomic import atomic_path  # noqa: E402
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
        ax.fill_between(curve["k"], curve["lower"], curve["upper"], color=color, alpha=0.2, linewidth=0)
        ax.plot(
            curve["k"],
            curve["coverage"],
            "o-",
            color=color,
            markersize=3,
            label=f"{model} ({problems} problems)",
        )
        fit_rows = fits[fits["model"] == model]
        if len(fit_rows) and bool(fit_rows["success"].iat[0]):
            row = fit_rows.iloc[0]
            fit = PowerLawFit(**{f: row[f] for f in PowerLawFit.__dataclass_fields__})
            ks = np.geomspace(1, curve["k"].max(), 100)
            label = f"fit: log c = {fit.a:.2f}·k^(-{fit.b:.2f})"
            if np.isfinite(row["predicted"]):
                label += (
                    f"; c({int(row['k_target']):,}) ≈ {row['predicted']:.2f} "
                    f"[{row['predicted_lower']:.2f}, {row['predicted_upper']:.2f}]"
                )
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
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=fmt, metadata=_METADATA.get(fmt))
    finally:
        plt.close(fig)


def verifier_figure(curves: pd.DataFrame, dataset: str) -> Figure:
    """Resampling with an imperfect verifier: accuracy vs k per model, and accuracy vs
    false-positive rate across models (with a least-squares line and Pearson r when
    there are three models or more)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.2))
    summary = []
    for i, (model, curve) in enumerate(curves.groupby("model", sort=True)):
        color = f"C{i}"
        curve = curve.sort_values("k")
        left.plot(curve["k"], curve["coverage_weak"], ":", color=color, label=f"{model}: weak pass@k")
        left.plot(
            curve["k"],
            curve["coverage_strong"],
            "-",
            color=color,
            alpha=0.5,
            label=f"{model}: coverage (strong)",
        )
        left.fill_between(curve["k"], curve["lower"], curve["upper"], color=color, alpha=0.2, linewidth=0)
        left.plot(
            curve["k"],
            curve["resampling_accuracy"],
            "o-",
            color=color,
            markersize=3,
            label=f"{model}: resample until weak passes",
        )
        left.axhline(curve["asymptote"].iat[0], color=color, linestyle="--", linewidth=1)
        summary.append(
            (model, curve["false_positive_rate"].iat[0], curve["single_sample_accuracy"].iat[0], color)
        )
    left.set_xscale("log")
    left.set_ylim(0, 1)
    left.set_xlabel("samples k")
    left.set_ylabel("accuracy")
    left.set_title(f"{dataset}: resampling with an imperfect verifier (dashed: asymptote)")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7, loc="upper left")
    for model, fp, acc, color in summary:
        right.scatter(fp, acc, color=color, label=model)
    if len(summary) >= 3:
        fp = np.array([s[1] for s in summary])
        acc = np.array([s[2] for s in summary])
        slope, intercept = np.polyfit(fp, acc, 1)
        r = np.corrcoef(fp, acc)[0, 1]
        xs = np.linspace(fp.min(), fp.max(), 10)
        right.plot(xs, slope * xs + intercept, "k--", linewidth=1, label=f"fit, r = {r:.2f}")
    right.set_xlabel("false-positive rate (per problem: mean 1 - t/w over w > 0)")
    right.set_ylabel("single-sample accuracy (strong)")
    right.set_title("across models (Fig. 1a: figures/flaws)")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def flaws_figure(table: pd.DataFrame, fit: pd.DataFrame, dataset: str) -> Figure:
    """Inference Scaling fLaws Fig. 1a: each model's resampling ceiling (infinite budget, weak
    tests as verifier, judged by strong tests) against its single-sample accuracy, the
    strongest model's single-sample accuracy as the line weaker models cannot cross, and the
    fitted line of the fit table (not refitted here)."""
    fig, ax = plt.subplots(figsize=(6.8, 5.0))
    strong = table[table["strong_verifier"].astype(bool)].sort_values("model")
    for i, row in enumerate(strong.itertuples()):
        color = f"C{i}"
        ax.vlines(
            row.single_sample_accuracy,
            row.resampling_ceiling,
            row.resampling_ceiling_upper,
            color=color,
            alpha=0.4,
            linewidth=2,
        )
        flaky = f", flaky {row.flaky_sample_fraction:.1%}" if row.num_flaky else ""
        ax.plot(
            row.single_sample_accuracy,
            row.resampling_ceiling,
            "o",
            color=color,
            markersize=7,
            label=f"{row.model}: ceiling {row.resampling_ceiling:.3f}, "
            f"FPR {row.false_positive_rate:.3f}{flaky}",
        )
        if np.isfinite(row.conditional_accuracy):
            ax.plot(
                row.single_sample_accuracy,
                row.conditional_accuracy,
                "o",
                color=color,
                markerfacecolor="none",
                markersize=7,
            )
        ax.annotate(
            row.model,
            (row.single_sample_accuracy, row.resampling_ceiling),
            textcoords="offset points",
            xytext=(5, -10),
            fontsize=7,
        )
    summary = fit.iloc[0] if len(fit) else None
    if summary is not None and pd.notna(summary["strongest_model"]):
        ax.axhline(
            summary["strongest_accuracy"],
            color="k",
            linestyle="--",
            linewidth=1.2,
            label=f"{summary['strongest_model']}'s single-sample accuracy "
            f"{summary['strongest_accuracy']:.3f}",
        )
    if summary is not None and np.isfinite(summary["slope"]):
        xs = np.linspace(strong["single_sample_accuracy"].min(), strong["single_sample_accuracy"].max(), 20)
        ax.plot(
            xs,
            summary["slope"] * xs + summary["intercept"],
            "m-",
            linewidth=1,
            label=f"1 - FPR = {summary['slope']:.2f}·acc + {summary['intercept']:.2f} "
            f"(R² {summary['r2']:.2f}, r {summary['r']:.2f}, p {summary['p_value']:.2g}, "
            f"{int(summary['num_models'])} models)",
        )
    elif summary is not None:
        ax.plot([], [], " ", label=summary["note"])
    ax.plot(
        [],
        [],
        "o",
        color="gray",
        markerfacecolor="none",
        label="hollow: 1 - FPR (problems where a sample passes); bar: w = 0 as 0 .. as 1",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("single-sample accuracy (strong tests)")
    ax.set_ylabel("resampling ceiling (infinite k, weak tests verify)")
    ax.set_title(f"{dataset}: resampling limits (Inference Scaling fLaws Fig. 1a)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6.5, loc="lower right")
    fig.tight_layout()
    return fig


def utility_figure(utility: pd.DataFrame, dataset: str) -> Figure:
    """Expected utility vs k for each false-positive cost, one panel per model; the
    optimal k of each cost is marked."""
    models = sorted(utility["model"].unique())
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4.0), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        part = utility[utility["model"] == model]
        for i, (cost, rows) in enumerate(part.groupby("cost", sort=True)):
            rows = rows.sort_values("k")
            ax.plot(rows["k"], rows["utility"], "-", color=f"C{i}", label=f"cost {cost:g}")
            best = rows[rows["optimal"]]
            if len(best):
                ax.plot(best["k"], best["utility"], "*", color=f"C{i}", markersize=12)
        ax.axhline(0, color="k", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("samples k")
        ax.set_ylabel("expected utility per problem")
        ax.set_title(f"{dataset} / {model} (star: optimal k)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def cost_figure(cost: pd.DataFrame, dataset: str) -> Figure:
    """Coverage vs inference FLOPs and vs dollars per problem; the Pareto frontier in black."""
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.2))
    for ax, column, frontier, label, key in [
        (axes[0], "flops", "pareto_flops", "inference FLOPs per problem", "params_billions"),
        (axes[1], "dollars", "pareto_dollars", "dollars per problem", "price_per_mtok"),
    ]:
        known = cost[cost[column].notna()]
        if known.empty:
            ax.text(
                0.5,
                0.5,
                f"no model has {key} in the config",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
        for i, (model, rows) in enumerate(known.groupby("model", sort=True)):
            rows = rows.sort_values("k")
            ax.plot(rows[column], rows["coverage"], "o-", color=f"C{i}", markersize=3, label=model)
        front = known[known[frontier]].sort_values(column)
        if len(front):
            ax.step(
                front[column], front["coverage"], "k-", where="post", linewidth=1.2, label="Pareto frontier"
            )
            ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_xlabel(label)
        ax.set_ylabel("coverage")
        ax.grid(True, which="both", alpha=0.3)
        if len(known):
            ax.legend(fontsize=8)
    fig.suptitle(f"{dataset}: coverage vs inference cost")
    fig.tight_layout()
    return fig


# The selection table's selectors besides coverage and majority vote: (column, style, label).
SELECTORS = (
    ("first_passing", "s-.", "first passing the weak tests"),
    ("best_of_k_score", "^--", "best-of-k by reward score"),
    ("best_of_k_logprob", "v--", "best-of-k by mean log-prob"),
    ("weighted_vote_score", "x-", "vote weighted by reward score"),
    ("weighted_vote_logprob", "+-", "vote weighted by exp(mean log-prob)"),
)


def selection_figure(selection: pd.DataFrame, dataset: str) -> Figure:
    """Coverage vs majority vote vs every available verifier-based selector (as Large Language
    Monkeys' plateau figure), the share of samples that abstain, and the gap between
    verifier-based and verifier-free selection."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.0, 4.6))
    for i, (model, rows) in enumerate(selection.groupby("model", sort=True)):
        rows = rows.sort_values("k")
        color = f"C{i}"
        same = np.allclose(rows["first_passing"], rows["coverage"], atol=1e-12)
        left.plot(
            rows["k"],
            rows["coverage"],
            ":",
            color=color,
            label=f"{model}: coverage" + (" (= first passing the tests)" if same else ""),
        )
        abstained = float(rows["abstained"].iat[0])
        left.plot(
            rows["k"],
            rows["majority_vote"],
            "o-",
            color=color,
            markersize=3,
            label=f"{model}: majority vote ({abstained:.1%} of samples abstain)",
        )
        for column, style, label in SELECTORS:
            if (column == "first_passing" and same) or not rows[column].notna().any():
                continue
            left.plot(
                rows["k"],
                rows[column],
                style,
                color=color,
                markersize=4,
                linewidth=1,
                label=f"{model}: {label}",
            )
        right.plot(
            rows["k"],
            rows["gap"],
            "o-",
            color=color,
            markersize=3,
            label=f"{model}: {rows['verifier'].iat[0]} − majority vote",
        )
    judged = selection["judged_by"].iat[0] if len(selection) else "tests"
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("samples k")
        ax.grid(True, which="both", alpha=0.3)
    left.set_ylim(0, 1)
    left.set_ylabel(f"accuracy (judged by {judged})")
    left.set_title(f"{dataset}: choosing one of k samples")
    left.legend(fontsize=6, loc="lower right")
    right.axhline(0, color="k", linewidth=0.8)
    right.set_ylabel("verifier-based − majority vote")
    right.set_title("gap between verifier-based and verifier-free")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def verification_gap_figure(
    curves: pd.DataFrame, problems: pd.DataFrame, summary: pd.DataFrame, dataset: str
) -> Figure:
    """Setlur et al. 2025: per model, majority vote vs verifier-based accuracy against the
    expected output tokens (log axis, the largest common budget marked); per problem, the base
    policy's heterogeneity sigma_x against its anti-concentration c_x; per model, sigma_b and
    mean c_x next to the measured gap at the largest common budget."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15.5, 4.4))
    models = sorted(summary["model"].unique())
    common = float(summary["common_budget_tokens"].iat[0]) if len(summary) else float("nan")
    missing = []
    for i, model in enumerate(models):
        color = f"C{i}"
        rows = curves[curves["model"] == model].sort_values("k")
        rows = rows[np.isfinite(rows["budget_tokens"]) & (rows["budget_tokens"] > 0)]
        if not len(rows):
            missing.append(model)
        else:
            left.plot(
                rows["budget_tokens"],
                rows["coverage"],
                ":",
                color=color,
                linewidth=1,
                label=f"{model}: coverage",
            )
            left.plot(
                rows["budget_tokens"],
                rows["majority_vote"],
                "o-",
                color=color,
                markersize=3,
                label=f"{model}: majority vote (verifier-free)",
            )
            left.plot(
                rows["budget_tokens"],
                rows["verifier_based"],
                "s--",
                color=color,
                markersize=3,
                label=f"{model}: verifier-based",
            )
        part = problems[(problems["model"] == model) & problems["anti_concentration"].notna()]
        middle.scatter(
            part["heterogeneity"],
            part["anti_concentration"],
            s=18,
            color=color,
            alpha=0.7,
            label=f"{model} ({len(part)} of {int((problems['model'] == model).sum())} problems with σ_x > 0)",
        )
    if np.isfinite(common):
        left.axvline(
            common,
            color="k",
            linewidth=0.8,
            linestyle="-.",
            label=f"largest common budget ({common:,.0f} tokens)",
        )
    if len(curves) and np.isfinite(curves["budget_tokens"]).any():
        left.set_xscale("log")
        left.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        left.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        left.xaxis.set_minor_formatter(NullFormatter())
    if missing:
        left.text(0.02, 0.02, "no token counts: " + ", ".join(missing), fontsize=8, transform=left.transAxes)
    left.set_ylim(0, 1)
    left.set_xlabel("expected output tokens H = k x tokens per sample")
    left.set_ylabel("accuracy")
    left.set_title(f"{dataset}: accuracy vs test-time tokens")
    left.legend(fontsize=6, loc="best")
    reward = summary["reward"].iat[0] if len(summary) else "bi-level"
    eps = float(summary["epsilon"].iat[0]) if len(summary) else 1.0
    middle.set_xlabel(f"heterogeneity σ_x ({reward} reward)")
    middle.set_ylabel(f"anti-concentration c_x(ε={eps:g})")
    middle.set_xlim(left=0)
    middle.set_ylim(0, 1)
    middle.set_title("base policy, per problem")
    middle.legend(fontsize=7)
    width = 0.8 / max(len(models), 1)
    names = ["heterogeneity\nσ_b", "anti-concentration\nmean c_x", "gap at the\ncommon budget"]
    for i, model in enumerate(models):
        row = summary[summary["model"] == model].iloc[0]
        values = [row["heterogeneity"], row["anti_concentration"], row["gap_at_common"]]
        x = np.arange(3) + (i - (len(models) - 1) / 2) * width
        right.bar(x, np.nan_to_num(values), width=width, color=f"C{i}", label=model)
        for xi, value in zip(x, values, strict=True):
            right.text(
                xi,
                np.nan_to_num(value),
                "n/a" if not np.isfinite(value) else f"{value:.2f}",
                ha="center",
                va="bottom",
                fontsize=7,
            )
    right.set_xticks(range(3), names, fontsize=8)
    right.axhline(0, color="k", linewidth=0.8)
    right.set_title(
        "per model"
        + (f" (gap at {common:,.0f} tokens)" if np.isfinite(common) else " (no common token budget)")
    )
    right.legend(fontsize=8)
    for ax in (left, middle, right):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def family_figure(coverage: pd.DataFrame, offsets: pd.DataFrame, dataset: str) -> Figure:
    """Per family: coverage vs log k of each member (S-curves), and each member's horizontal
    offset in log10 k from the largest member across coverage levels."""
    families = sorted(offsets["family"].unique())
    fig, axes = plt.subplots(len(families), 2, figsize=(11.0, 4.0 * len(families)), squeeze=False)
    for (left, right), family in zip(axes, families, strict=True):
        part = offsets[offsets["family"] == family]
        members = part.drop_duplicates("model").sort_values("params_billions")["model"].tolist()
        for i, model in enumerate(members):
            curve = coverage[coverage["model"] == model].sort_values("k")
            left.plot(curve["k"], curve["coverage"], "o-", color=f"C{i}", markersize=3, label=model)
            rows = part[(part["model"] == model) & part["log10_offset"].notna()]
            right.plot(rows["level"], rows["log10_offset"], "o-", color=f"C{i}", markersize=3, label=model)
        left.set_xscale("log")
        left.set_ylim(0, 1)
        left.set_xlabel("samples k")
        left.set_ylabel("coverage")
        left.set_title(f"{dataset}: {family} family")
        right.axhline(0, color="k", linewidth=0.8)
        right.set_xlabel("coverage level")
        right.set_ylabel(f"log10 k offset from {part['reference'].iat[0]}")
        right.set_title("samples needed, relative to the largest member")
        for ax in (left, right):
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def style_figure(summary: pd.DataFrame, rules: pd.DataFrame, dataset: str, top: int = 10) -> Figure:
    """Per model: mean lint findings per line of true vs false positives (bootstrap band,
    counts, p-value), and findings per 100 lines of the `top` rule codes in each group.
    A group without samples is named in the panel instead of drawn."""
    models = sorted(summary["model"].unique())
    fig, axes = plt.subplots(max(len(models), 1), 2, figsize=(11.0, 4.0 * max(len(models), 1)), squeeze=False)
    if not models:
        axes[0][0].text(0.5, 0.5, "no style tables", ha="center", va="center", transform=axes[0][0].transAxes)
    colors = {"true_positive": "C2", "false_positive": "C3"}
    for (left, right), model in zip(axes, models, strict=False):
        part = summary[summary["model"] == model].set_index("group")
        for x, (group, row) in enumerate(part.iterrows()):
            label = group.replace("_", " ")
            if row["samples"] == 0 or not np.isfinite(row["mean_findings_per_line"]):
                left.text(x, 0, f"no {label}s", ha="center", va="bottom", rotation=90)
                continue
            mean = row["mean_findings_per_line"]
            left.bar(
                x,
                mean,
                color=colors.get(group, "C0"),
                alpha=0.8,
                yerr=[[mean - row["lower"]], [row["upper"] - mean]],
                capsize=4,
            )
            plural = "s" * (row["samples"] != 1)
            left.text(
                x,
                row["upper"],
                f"{row['samples']} sample{plural}\n{row['lines']} lines",
                ha="center",
                va="bottom",
                fontsize=8,
            )
        left.set_xticks(range(len(part)), [g.replace("_", " ") for g in part.index])
        left.set_xlim(-0.7, len(part) - 0.3)
        left.margins(y=0.25)
        left.set_ylabel("lint findings per line (mean over samples)")
        p_value = part["p_value"].iat[0] if len(part) else np.nan
        tested = f"p = {p_value:.3g} (Mann-Whitney U)" if np.isfinite(p_value) else "no test"
        left.set_title(f"{dataset} / {model}: {tested}")
        left.grid(True, axis="y", alpha=0.3)
        found = rules[rules["model"] == model]
        codes = found.groupby("rule")["findings"].sum().sort_values(ascending=False, kind="stable")
        codes = list(codes.index[:top])[::-1]
        if not codes:
            right.text(0.5, 0.5, "no lint findings", ha="center", va="center", transform=right.transAxes)
        for i, group in enumerate(part.index):
            rows = found[found["group"] == group].set_index("rule")
            values = [100 * rows["findings_per_line"].get(code, 0.0) for code in codes]
            right.barh(
                np.arange(len(codes)) + (i - 0.5) * 0.4,
                values,
                height=0.4,
                color=colors.get(group, f"C{i}"),
                label=group.replace("_", " "),
            )
        names = found.drop_duplicates("rule").set_index("rule")["name"]
        right.set_yticks(range(len(codes)), [f"{code} {names[code]}" for code in codes], fontsize=7)
        right.set_xlabel("findings per 100 lines")
        right.set_title(f"top rule codes ({part['linter'].iat[0] if len(part) else 'ruff'})")
        right.grid(True, axis="x", alpha=0.3)
        if codes:
            right.legend(fontsize=8)
    fig.tight_layout()
    return fig
