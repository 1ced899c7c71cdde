"""Compare finished evaluations: one table (rows: model + mode, columns: categories + summary).

Reads the ``results.json`` of earlier runs (their folders or the files), writes
``comparison.md``, ``comparison.json`` and ``comparison.png`` (grouped bars).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import FcFinetuneError
from ..utils.cache import atomic_write_bytes
from .plots import plot_comparison
from .report import RESULTS_NAME, write_json

SUMMARY_COLUMN = "summary"


def load_results(spec: str | Path) -> dict:
    """A results.json, given as the file or the output folder that holds it."""
    path = Path(spec).expanduser()
    if path.is_dir():
        path = path / RESULTS_NAME
    if not path.is_file():
        raise FcFinetuneError(f"'{spec}' is neither a results.json nor a folder holding one; "
                              "pass the --out folder of an earlier `fc-finetune eval`.")
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FcFinetuneError(f"'{path}' is not valid JSON ({exc}).") from exc
    if not isinstance(results, dict) or not {"config", "summary"} <= set(results):
        raise FcFinetuneError(f"'{path}' is not a results.json of `fc-finetune eval` (no config / summary).")
    return results


def comparison_table(all_results: list[dict]) -> dict:
    """``{"columns": [...], "rows": [{"label", "model", "mode", "data", "values": {column: value}}]}``."""
    columns: list[str] = []
    for results in all_results:
        for cat in results["summary"]["categories"]:
            if cat not in columns:
                columns.append(cat)
    columns.append(SUMMARY_COLUMN)
    rows = []
    for results in all_results:
        config, summary = results["config"], results["summary"]
        values = {cat: stats["ast_accuracy"] for cat, stats in summary["categories"].items()}
        values[SUMMARY_COLUMN] = summary["headline"]["value"]
        rows.append({"label": f"{config['model']} ({config['mode']})", "model": config["model"],
                     "mode": config["mode"], "data": config["data"], "limit": config.get("limit"),
                     "headline": summary["headline"]["name"], "values": values})
    labels = [r["label"] for r in rows]
    for r in rows:  # same model and mode on different data: say which
        if labels.count(r["label"]) > 1:
            r["label"] += f" [{r['data']}]"
    return {"columns": columns, "rows": rows}


def render_comparison(table: dict) -> str:
    columns = table["columns"]
    heads = {r["headline"] for r in table["rows"]}
    lines = ["| model (mode) | data | " + " | ".join(columns) + " |", "|---|---|" + "---:|" * len(columns)]
    for row in table["rows"]:
        data = row["data"] + (f" (first {row['limit']})" if row.get("limit") else "")
        cells = ["–" if row["values"].get(c) is None else f"{row['values'][c]:.1%}" for c in columns]
        lines.append(f"| {row['label']} | {data} | " + " | ".join(cells) + " |")
    lines += ["", "Cells are AST accuracy. summary: " + "; ".join(
        "BFCL summary = unweighted mean over the categories" if h == "BFCL summary" else "AST accuracy over all examples"
        for h in sorted(heads)) + "."]
    return "\n".join(lines) + "\n"


def write_comparison(specs: list[str | Path], out: Path) -> tuple[str, dict[str, Path]]:
    """Compare the runs in ``specs``; write the table, its JSON and the chart into ``out``."""
    if len(specs) < 1:
        raise FcFinetuneError("--compare needs at least one results folder or file.")
    table = comparison_table([load_results(s) for s in specs])
    markdown = "# Comparison\n\n" + render_comparison(table)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "comparison.md", markdown.encode())
    paths = {"markdown": out / "comparison.md", "json": write_json(out / "comparison.json", table)}
    paths["plot"] = plot_comparison([r["label"] for r in table["rows"]], table["columns"],
                                    [[r["values"].get(c) for c in table["columns"]] for r in table["rows"]],
                                    out / "comparison.png")
    return markdown, paths
