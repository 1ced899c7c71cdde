"""PNG plots of an evaluation (matplotlib, Agg backend; written atomically).

* ``accuracy_by_category.png``: AST accuracy per category (bar), the headline as a line;
* ``decision_confusion.png``: should call / called, a 2x2 matrix (the selector's decision in
  heads mode, whether the text held a call in text mode);
* ``calibration.png``: reliability diagram of P(NO_CALL) (heads mode only);
* ``failure_reasons.png``: how many examples failed for each reason;
* ``comparison.png`` (:func:`plot_comparison`): grouped bars, one group per category.
"""

from __future__ import annotations

from pathlib import Path

from ..utils.cache import atomic_file


def _pyplot():
    # matplotlib's backend must be chosen before pyplot is imported: both happen here.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    plt = _pyplot()
    fig.tight_layout()
    with atomic_file(Path(path)) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def _title(results: dict) -> str:
    config = results["config"]
    return f"{config['model']} ({config['mode']} mode)"


def plot_accuracy(results: dict, path: Path) -> Path:
    plt = _pyplot()
    summary = results["summary"]
    cats = list(summary["categories"])
    values = [summary["categories"][c]["ast_accuracy"] or 0.0 for c in cats]
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(cats) + 2), 4), dpi=110)
    bars = ax.bar(cats, values, color="#4C72B0")
    for bar, value in zip(bars, values, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, value + 0.01, f"{value:.0%}", ha="center", fontsize=8)
    head = summary["headline"]
    if head["value"] is not None:
        ax.axhline(head["value"], color="#C44E52", linestyle="--", label=f"{head['name']}: {head['value']:.1%}")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("AST accuracy")
    ax.set_title(f"Accuracy per category: {_title(results)}", fontsize=10)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def plot_confusion(results: dict, path: Path) -> Path:
    plt = _pyplot()
    conf = results["summary"]["decision_confusion"]
    matrix = [[conf["call_called"], conf["call_not_called"]], [conf["no_call_called"], conf["no_call_not_called"]]]
    fig, ax = plt.subplots(figsize=(4.2, 3.6), dpi=110)
    ax.imshow(matrix, cmap="Blues")
    top = max(max(row) for row in matrix) or 1
    for i in range(2):
        for j in range(2):
            ax.text(j, i, str(matrix[i][j]), ha="center", va="center",
                    color="white" if matrix[i][j] > top / 2 else "black", fontsize=12)
    ax.set_xticks([0, 1], ["called", "did not call"])
    ax.set_yticks([0, 1], ["should call", "should not call"])
    who = "selector" if results["config"]["mode"] == "heads" else "text output"
    ax.set_title(f"Call / no-call ({who})", fontsize=10)
    return _save(fig, path)


def plot_calibration(results: dict, path: Path) -> Path | None:
    cal = results["summary"].get("calibration")
    if not cal:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.2), dpi=110)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    xs = [row["mean_p"] for row in cal["bins"]]
    ys = [row["frequency"] for row in cal["bins"]]
    sizes = [20 + 200 * row["n"] / cal["n"] for row in cal["bins"]]
    ax.plot(xs, ys, color="#4C72B0")
    ax.scatter(xs, ys, s=sizes, color="#4C72B0", label=f"ECE {cal['ece']:.3f} (n={cal['n']})", zorder=3)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("P(NO_CALL) at the first decision")
    ax.set_ylabel("fraction that should not call")
    ax.set_title("Selector calibration", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_reasons(results: dict, path: Path) -> Path:
    plt = _pyplot()
    reasons = {k: v for k, v in results["summary"]["overall"]["reasons"].items() if k != "correct"}
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.4 * len(reasons) + 1.2)), dpi=110)
    if reasons:
        names = list(reasons)[::-1]
        ax.barh(names, [reasons[n] for n in names], color="#C44E52")
        ax.set_xlabel("examples")
    else:
        ax.text(0.5, 0.5, "no failures", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title(f"Failure reasons: {_title(results)}", fontsize=10)
    return _save(fig, path)


def write_plots(results: dict, out: Path) -> dict[str, Path]:
    out = Path(out)
    written = {"accuracy": plot_accuracy(results, out / "accuracy_by_category.png"),
               "decisions": plot_confusion(results, out / "decision_confusion.png"),
               "calibration": plot_calibration(results, out / "calibration.png"),
               "failure_reasons": plot_reasons(results, out / "failure_reasons.png")}
    return {name: path for name, path in written.items() if path is not None}


def plot_comparison(labels: list[str], columns: list[str], values: list[list[float | None]], path: Path) -> Path:
    """Grouped bars: one group per column (category), one bar per row (model + mode)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(columns) * max(1, len(labels)) / 2 + 2), 4.2), dpi=110)
    width = 0.8 / max(1, len(labels))
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        xs = [j + (i - (len(labels) - 1) / 2) * width for j in range(len(columns))]
        ax.bar(xs, [v or 0.0 for v in row], width=width, label=label)
    ax.set_xticks(range(len(columns)), columns)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("AST accuracy")
    ax.set_title("Comparison", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)
