"""PNG charts of an evaluation report (`python -m lm.evaluation.evaluate --plots DIR`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402


def save_plots(report: dict, folder: Path) -> list[Path]:
    """Accuracy by letters typed, and p(true word) along the text, one PNG each."""
    folder.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(6, 4))
    for name in report["models"]:
        found = report[name]["found_within"]
        axes.plot([int(k) for k in found], list(found.values()), marker="o", label=name)
    axes.set(xlabel="letters typed", ylabel=f"share of words among the {report['slots']} suggestions", ylim=(0, 1))
    axes.legend()
    paths = [folder / "found_within.png"]
    figure.savefig(paths[0], dpi=120, bbox_inches="tight")
    plt.close(figure)
    figure, axes = plt.subplots(figsize=(10, 4))
    for name in report["models"]:
        axes.plot([p["p"] for p in report[name]["positions"]], label=name, linewidth=0.8)
    axes.set(xlabel="word position", ylabel="p(true word | context)", yscale="log")
    axes.legend()
    paths.append(folder / "true_word_probability.png")
    figure.savefig(paths[1], dpi=120, bbox_inches="tight")
    plt.close(figure)
    return paths
