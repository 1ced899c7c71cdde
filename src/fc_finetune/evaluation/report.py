"""Summaries of evaluation records and the files written for them.

Into the output folder:

* ``results.json``: ``config`` (model, mode, data spec, limit, versions, date), ``summary``
  (per-category and overall metrics, the headline number) and ``examples`` (one record each);
* ``report.md``: the summary table, failure reasons, calibration and a few failing examples;
* ``eval_results.json``: the numbers in the shape :mod:`fc_finetune.hub.push` puts into the
  model card (a list of ``{dataset_type, dataset_name, split, metric_type, metric_name,
  value}``); with ``--write-model-card-results`` it is merged into the model folder instead;
* PNG plots (see :mod:`.plots`).

The BFCL headline ("BFCL summary") is the unweighted mean of the per-category AST accuracies,
as BFCL averages categories (not examples) for its non-live summary; a file set's headline is
the AST accuracy over all its examples.
"""

from __future__ import annotations

import json
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch
import transformers

from .. import __version__
from ..errors import FcFinetuneError
from ..utils.cache import atomic_write_bytes
from .plots import write_plots
from .text_metrics import bleu, rouge_l

RESULTS_NAME = "results.json"
REPORT_NAME = "report.md"
EVAL_RESULTS_NAME = "eval_results.json"  # = fc_finetune.hub.push.EVAL_RESULTS_NAME
INVALID_OUTPUT = "invalid_output"
REASON_TEXT = {
    "correct": "the calls match a possible answer",
    "no_call": "a call was expected, none was made",
    "unexpected_call": "no call was expected (answer directly), a call was made",
    "wrong_count": "a different number of calls than expected",
    "wrong_function": "a call names the wrong function",
    "missing_required": "a required argument (or one the answer needs) is missing",
    "unexpected_parameter": "an argument the function does not take",
    "wrong_type": "an argument value has the wrong type",
    "wrong_value": "an argument value is not among the allowed values",
    INVALID_OUTPUT: "text mode: call markup that does not parse (bad JSON, unclosed tag)",
}
COLUMNS = (("ast_accuracy", "AST accuracy"), ("function_accuracy", "function selection"),
           ("decision_accuracy", "call / no-call"), ("exact_arguments", "exact args"),
           ("schema_validity", "schema-valid calls"), ("execution_success", "execution"),
           ("rouge_l", "ROUGE-L"), ("bleu", "BLEU"))


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def aggregate(records: list[dict]) -> dict:
    """Metrics over ``records`` (each rate with the counts behind it)."""
    n = len(records)
    correct = sum(bool(r["verdict"]["ok"]) for r in records)
    should = [r for r in records if r["score"]["should_call"]]
    function_ok = sum(bool(r["score"]["function_ok"]) for r in should)
    exact = [r["score"]["arguments_exact"] for r in should if r["score"].get("arguments_exact") is not None]
    decision_ok = sum(bool(r["score"]["decision_ok"]) for r in records)
    written = sum(r["calls_written"] for r in records)
    valid = sum(r["schema_valid"] for r in records)
    executions = [r["execution"] for r in records if r.get("execution")]
    run, ok = sum(e["run"] for e in executions), sum(e["ok"] for e in executions)
    responses = [r["response"] for r in records if r.get("response")]
    preds, refs = [x["text"] for x in responses], [x["reference"] for x in responses]
    lenient = [r["lenient"]["verdict"]["ok"] for r in records if r.get("lenient")]
    return {
        "n": n, "correct": correct, "ast_accuracy": _rate(correct, n),
        "ast_accuracy_lenient": _rate(sum(map(bool, lenient)), len(lenient)) if lenient else None,
        "decision_accuracy": _rate(decision_ok, n), "should_call": len(should),
        "function_accuracy": _rate(function_ok, len(should)),
        "exact_arguments": _rate(sum(map(bool, exact)), len(exact)),
        "calls_written": written, "schema_valid_calls": valid, "schema_validity": _rate(valid, written),
        "executed": run, "executed_ok": ok, "execution_success": _rate(ok, run),
        "responses": len(responses),
        "rouge_l": round(rouge_l(preds, refs), 4) if responses else None,
        "bleu": round(bleu(preds, refs), 4) if responses else None,
        "invalid_output": sum(r["verdict"]["reason"] == INVALID_OUTPUT for r in records),
        "first_calls_dropped": sum(map(_first_call_dropped, records)),
        "reasons": dict(Counter(r["verdict"]["reason"] for r in records).most_common()),
        "seconds_mean": _rate(sum(r["seconds"] for r in records), n),
    }


# Why heads mode does not make a first call it chose (HeadsDecoder's grounding checks), as the report says it.
GROUNDING_CHECKS = ("no value said, a required value or number never given, "
                    "or a number written more often than said")


def _first_call_dropped(record: dict) -> bool:
    """Heads mode chose a tool at the first decision but did not make the call, for a grounding
    check it failed (:data:`GROUNDING_CHECKS`): the turn answered."""
    decisions = (record.get("selector") or {}).get("decisions")
    return bool(decisions) and decisions[0]["choice"] is not None and bool(decisions[0].get("dropped"))


def decision_confusion(records: list[dict]) -> dict:
    """Counts of (should call, called): whether the turn made a call, in either mode. In heads mode
    that is the selector's first decision, less the first calls it chose but did not make (their
    values never said, or their arguments not decodable): those turns answered."""
    out = {"call_called": 0, "call_not_called": 0, "no_call_called": 0, "no_call_not_called": 0}
    for r in records:
        called = r["score"]["called"]
        out[("call" if r["score"]["should_call"] else "no_call") + ("_called" if called else "_not_called")] += 1
    return out


def calibration(records: list[dict], bins: int = 10) -> dict | None:
    """Reliability of P(NO_CALL) at the first decision (heads mode) against 'should not call'."""
    pairs = [(r["selector"]["p_no_call"], not r["score"]["should_call"]) for r in records
             if (r.get("selector") or {}).get("p_no_call") is not None]
    if not pairs:
        return None
    table = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(p, y) for p, y in pairs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if inside:
            table.append({"low": lo, "high": hi, "n": len(inside),
                          "mean_p": round(sum(p for p, _ in inside) / len(inside), 4),
                          "frequency": round(sum(y for _, y in inside) / len(inside), 4)})
    ece = sum(row["n"] * abs(row["mean_p"] - row["frequency"]) for row in table) / len(pairs)
    brier = sum((p - y) ** 2 for p, y in pairs) / len(pairs)
    return {"n": len(pairs), "ece": round(ece, 4), "brier": round(brier, 4), "bins": table}


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def summarise_records(records: list[dict], categories: list[str], *, kind: str) -> dict:
    present = [c for c in categories if any(r["category"] == c for r in records)]
    present += sorted({r["category"] for r in records} - set(present))
    per = {c: aggregate([r for r in records if r["category"] == c]) for c in present}
    overall = aggregate(records)
    unweighted = _mean(per[c]["ast_accuracy"] for c in present)
    if kind == "bfcl":
        headline = {"name": "BFCL summary", "value": unweighted, "categories": present,
                    "lenient": _mean(per[c]["ast_accuracy_lenient"] for c in present),
                    "how": f"unweighted mean of the AST accuracy of {len(present)} categories "
                           "(each category counts the same, whatever its size), as BFCL summarises"}
    else:
        headline = {"name": "AST accuracy", "value": overall["ast_accuracy"], "categories": present,
                    "lenient": overall["ast_accuracy_lenient"], "how": "AST accuracy over all examples"}
    return {"categories": per, "overall": overall, "unweighted_mean_ast": unweighted, "headline": headline,
            "decision_confusion": decision_confusion(records), "calibration": calibration(records)}


def versions() -> dict:
    return {"fc_finetune": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version()}


def build_results(config: dict, records: list[dict], categories: list[str], *, kind: str) -> dict:
    config = {**config, "versions": versions(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    return {"config": config, "summary": summarise_records(records, categories, kind=kind), "examples": records}


# ------------------------------------------------------------------------------ files
def write_json(path: Path, data: Any) -> Path:
    atomic_write_bytes(Path(path), (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    return Path(path)


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.1%}" if isinstance(value, float) else str(value)


def _row(label: str, stats: dict) -> str:
    return f"| {label} | {stats['n']} | " + " | ".join(_fmt(stats.get(key)) for key, _ in COLUMNS) + " |"


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= limit else text[:limit] + " …"


def render_markdown(results: dict, plots: dict[str, str] | None = None, *, failing: int = 5) -> str:
    config, summary = results["config"], results["summary"]
    head = summary["headline"]
    lines = [f"# Evaluation: {config['model']} ({config['mode']} mode)", "",
             f"- data: `{config['data']}`" + (f", first {config['limit']} per category" if config.get("limit") else ""),
             f"- examples: {summary['overall']['n']}; date {config['date']}; "
             f"fc-finetune {config['versions']['fc_finetune']}", "",
             f"**{head['name']}: {_fmt(head['value'])}** ({head['how']}).", "", "## Summary", "",
             "| category | n | " + " | ".join(label for _, label in COLUMNS) + " |",
             "|---|---:|" + "---:|" * len(COLUMNS)]
    lines += [_row(cat, stats) for cat, stats in summary["categories"].items()]
    lines.append(_row("**all examples**", summary["overall"]))
    if config.get("kind") == "bfcl":
        lines.append(f"| **BFCL summary** (unweighted mean) | {summary['overall']['n']} | "
                     f"{_fmt(summary['unweighted_mean_ast'])} |" + " |" * (len(COLUMNS) - 1))
        lines += ["", "The BFCL summary averages the categories' AST accuracies without weighting them by size, "
                  "as BFCL does for its non-live summary. (BFCL's own leaderboard averages the four call "
                  "categories, with simple = the mean of its Python/Java/JavaScript sets, and reports "
                  "irrelevance separately as hallucination; with `bfcl:summary` the mean here is over "
                  "simple_python, multiple, parallel, parallel_multiple and irrelevance.)"]
    lines += ["", "AST accuracy: the calls match one of the possible answers under BFCL's rules (function "
              "names, required and allowed arguments, types, allowed values; order-free for parallel calls); "
              "for file sets the reference calls are the only answers. Function selection and exact args are "
              "over the examples that should call. Schema-valid: calls written that name an offered tool and "
              "fit its JSON schema. Execution: valid calls run against registered tools that returned "
              "without error. ROUGE-L / BLEU: the final answer, generated from the gold history.", ""]
    if head.get("lenient") is not None:
        lines += ["## Read leniently", "",
                  f"Text mode, scored again with calls also read from plain JSON (a fenced block or a bare "
                  f"object with `name` and `arguments`) when the output holds no call markup: what the model "
                  f"knows, whatever the format. {head['name']}: **{_fmt(head['lenient'])}** (strict: {_fmt(head['value'])}).",
                  "", "| category | n | AST accuracy | AST accuracy, read leniently |", "|---|---:|---:|---:|"]
        lines += [f"| {cat} | {stats['n']} | {_fmt(stats['ast_accuracy'])} | {_fmt(stats['ast_accuracy_lenient'])} |"
                  for cat, stats in summary["categories"].items()]
        lines.append("")
    lines += ["## Failure reasons", "", "| reason | count | share | meaning |", "|---|---:|---:|---|"]
    n = max(summary["overall"]["n"], 1)
    for reason, count in summary["overall"]["reasons"].items():
        lines.append(f"| {reason} | {count} | {count / n:.1%} | {REASON_TEXT.get(reason, '')} |")
    conf = summary["decision_confusion"]
    lines += ["", "## Call / no-call decisions", "", "| | called | did not call |", "|---|---:|---:|",
              f"| should call | {conf['call_called']} | {conf['call_not_called']} |",
              f"| should not call | {conf['no_call_called']} | {conf['no_call_not_called']} |"]
    if summary["overall"].get("first_calls_dropped"):
        lines += ["", f"{summary['overall']['first_calls_dropped']} first calls chosen by the selector were not made "
                      f"(a grounding check failed: {GROUNDING_CHECKS}): counted as not called."]
    cal = summary.get("calibration")
    if cal:
        lines += ["", "## Selector calibration", "",
                  f"P(NO_CALL) at the first decision vs. 'should not call', {cal['n']} examples: "
                  f"expected calibration error {cal['ece']:.3f}, Brier score {cal['brier']:.3f}."]
    bad = [r for r in results["examples"] if not r["verdict"]["ok"]][:failing]
    if bad:
        lines += ["", f"## Failing examples (first {len(bad)})", ""]
        for r in bad:
            user = next((m["content"] for m in reversed(r["prompt"]) if m["role"] == "user"), "")
            lines += [f"- **{r['id']}** ({r['category']}): `{r['verdict']['reason']}`: {_short(r['verdict']['detail'])}",
                      f"  - user: {_short(user, 200)}", f"  - expected: {_short(r['expected'])}",
                      f"  - output: {_short(r['output'])}"]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{name}]({file})" for name, file in plots.items()]
    return "\n".join(lines) + "\n"


def eval_results_entries(results: dict) -> list[dict]:
    """The model-card numbers (see :func:`fc_finetune.hub.push.build_model_card`)."""
    config, summary = results["config"], results["summary"]
    mode = config["mode"]
    limited = f" (first {config['limit']} per category)" if config.get("limit") else ""
    entries = []
    if config.get("kind") == "bfcl":
        for cat, stats in summary["categories"].items():
            entries.append({"dataset_type": "bfcl", "dataset_name": f"BFCL v4 {cat}{limited}", "split": "test",
                            "metric_type": "accuracy", "metric_name": f"AST accuracy ({mode} mode)",
                            "value": stats["ast_accuracy"]})
        entries.append({"dataset_type": "bfcl", "dataset_name": f"BFCL v4 summary: {','.join(summary['categories'])}"
                        f"{limited}", "split": "test", "metric_type": "accuracy",
                        "metric_name": f"unweighted mean AST accuracy ({mode} mode)",
                        "value": summary["unweighted_mean_ast"]})
    else:
        name = Path(str(config["data"])).name + limited
        overall = summary["overall"]
        for key, label in (("ast_accuracy", "AST accuracy"), ("decision_accuracy", "call / no-call accuracy"),
                           ("function_accuracy", "function selection accuracy"),
                           ("exact_arguments", "exact argument match"), ("rouge_l", "response ROUGE-L")):
            if overall.get(key) is not None:
                entries.append({"dataset_type": Path(str(config["data"])).stem, "dataset_name": name,
                                "split": "eval", "metric_type": "rouge" if key == "rouge_l" else "accuracy",
                                "metric_name": f"{label} ({mode} mode)", "value": overall[key]})
    return [e for e in entries if e["value"] is not None]


def merge_eval_results(path: Path, entries: list[dict]) -> list[dict]:
    """Entries already in ``path`` (other sets, other modes) kept; the same metric replaced."""
    old: list[dict] = []
    if path.is_file():
        try:
            loaded = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise FcFinetuneError(f"'{path}' is not valid JSON ({exc}); delete it or fix it.") from exc
        old = loaded if isinstance(loaded, list) else [loaded]

    def key(e: dict) -> tuple:
        return e.get("dataset_type"), e.get("dataset_name"), e.get("metric_name")

    new_keys = {key(e) for e in entries}
    merged = [e for e in old if key(e) not in new_keys] + entries
    write_json(path, merged)
    return merged


def write_report(results: dict, out: Path, *, model_card_dir: Path | None = None) -> dict[str, Path]:
    """Write results.json, the plots, report.md and eval_results.json; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": write_json(out / RESULTS_NAME, results)}
    plots = write_plots(results, out)
    paths.update({f"plot_{name}": path for name, path in plots.items()})
    markdown = render_markdown(results, {name: path.name for name, path in plots.items()})
    atomic_write_bytes(out / REPORT_NAME, markdown.encode())
    paths["report"] = out / REPORT_NAME
    entries = eval_results_entries(results)
    if model_card_dir is not None:
        paths["eval_results"] = Path(model_card_dir) / EVAL_RESULTS_NAME
        merge_eval_results(paths["eval_results"], entries)
    else:
        paths["eval_results"] = write_json(out / EVAL_RESULTS_NAME, entries)
    return paths
