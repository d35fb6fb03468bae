"""The results ledger ``docs/results.yaml``: one entry per config in ``configs/``.

An entry is either measured — ``protocol`` (a key of ``protocols``: dataset, metrics, sample counts,
reference split, extractor and its sha256, seed, and ``center_crop: S`` for a config trained on padded images:
the central SxS pixels of each sample are scored, ``gan-zoo evaluate --center-crop S``), ``overrides`` (extra ``gan-zoo fit`` arguments),
``budget`` (``max_steps``, G updates, wall time per seed, hardware), ``seeds``, ``results`` (one value per
seed for each metric), ``tolerance`` (the range ``gan-zoo reproduce`` accepts), the two commands, and
``smoke: true`` for a CI smoke config (left out of the README table) — or ``status: not measured`` with a
``reason``. An entry may list ``seed_options`` (config options such as ``data.init_args.label_seed``) that
take the seed's value too, beside ``--seed_everything``. The generator an entry scored is the one its evaluate
command names: ``--no-ema`` (the raw generator of a checkpoint that keeps an EMA one), ``--ema``, a shipped
generator (``--pretrained NAME``: raw or EMA as its registry entry's ``weights`` says), or none of these (the
checkpoint's default, the EMA generator when one is kept); ``gan-zoo reproduce`` scores the same one
(``entry_use_ema``).

Protocol kinds: image protocols (``gan-zoo evaluate`` metrics from samples), ``kind: toy`` (mode coverage of
2-D mixtures; precision / recall for the swiss roll) and ``kind: classification`` (``gan-zoo test``: a model with a held-out measure, the
semi-supervised GAN, scores its classifier on the dataset's test split; ``test_error`` with the model's
evaluation classifier, ``test_error_last`` with D's current weights).

``python scripts/results_ledger.py`` renders it to ``docs/results.md`` and to the README's results
table (``--check`` only compares); ``tests/test_results_ledger.py`` checks that every config has an
entry, that every entry names an existing config, and that both renderings are current.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from gan_zoo.errors import GanZooError

__all__ = [
    "DEFAULT_LEDGER", "MEASURED", "NOT_MEASURED", "TOY_METRICS", "IMAGE_METRICS", "CLASSIFICATION_METRICS",
    "protocol_metrics", "load_ledger", "find_entry", "entry_use_ema",
    "model_configs", "render_markdown", "render_readme_table", "replace_readme_block", "README_BEGIN", "README_END",
]

DEFAULT_LEDGER = Path("docs/results.yaml")
TOY_METRICS = ("modes_covered", "high_quality_share", "precision", "recall")
IMAGE_METRICS = ("domain_fid", "domain_is", "class_coverage", "fid", "is", "min_class_share", "label_accuracy",
                 "code_accuracy")
CLASSIFICATION_METRICS = ("test_error", "test_error_last")
MEASURED, NOT_MEASURED = "measured", "not measured"


def _require(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise GanZooError(f"results ledger, {where}: {what}")


def protocol_metrics(protocol: dict[str, Any]) -> tuple[str, ...]:
    """The metrics an entry scored with ``protocol`` may record (by the protocol's ``kind``)."""
    kind = protocol.get("kind", "image")
    _require(kind in ("image", "toy", "classification"), f"protocol kind {kind!r}", "must be image, toy or classification")
    return {"toy": TOY_METRICS, "classification": CLASSIFICATION_METRICS}.get(kind, IMAGE_METRICS)


def load_ledger(path: str | Path = DEFAULT_LEDGER) -> dict[str, Any]:
    """Read and validate the ledger; every problem is a one-line ``GanZooError`` naming the entry."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise GanZooError(f"no results ledger at {path}; run from the repository root or pass --ledger PATH")
    ledger = yaml.safe_load(path.read_text())
    _require(isinstance(ledger, dict), str(path), "must be a mapping with 'protocols' and 'entries'")
    protocols, entries = ledger.get("protocols") or {}, ledger.get("entries")
    _require(isinstance(entries, list), str(path), "'entries' must be a list")
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"entry {i} ({entry.get('config', '?') if isinstance(entry, dict) else '?'})"
        _require(isinstance(entry, dict) and isinstance(entry.get("config"), str), where, "needs a 'config' path")
        _require(entry["config"] not in seen, where, "config listed twice")
        seen.add(entry["config"])
        status = entry.get("status")
        _require(status in (MEASURED, NOT_MEASURED), where, f"status must be '{MEASURED}' or '{NOT_MEASURED}'")
        if status == NOT_MEASURED:
            _require(bool(entry.get("reason")), where, "a 'not measured' entry needs a reason")
            continue
        for key in ("protocol", "seeds", "budget", "results", "fit_command", "evaluate_command"):
            _require(key in entry, where, f"a measured entry needs '{key}'")
        _require(entry["protocol"] in protocols, where, f"unknown protocol {entry['protocol']!r}")
        protocol = protocols[entry["protocol"]]
        allowed = protocol_metrics(protocol)
        seeds = entry["seeds"]
        _require(isinstance(seeds, list) and seeds, where, "'seeds' must be a non-empty list")
        _require(isinstance(entry["budget"].get("max_steps"), int), where, "budget needs an integer max_steps")
        _require(isinstance(entry.get("seed_options", []), list), where, "'seed_options' must be a list of config options")
        for metric, values in entry["results"].items():
            _require(metric in allowed, where, f"metric {metric!r} is not one of {allowed}")
            _require(isinstance(values, list) and len(values) == len(seeds), where,
                     f"results.{metric} needs one value per seed ({len(seeds)})")
        command = entry["evaluate_command"].split()
        crop = protocol.get("center_crop")
        _require(crop is None or (isinstance(crop, int) and crop >= 1), where, f"protocol center_crop must be a positive integer, got {crop!r}")
        named = command[command.index("--center-crop") + 1] if "--center-crop" in command[:-1] else None
        _require(named == (None if crop is None else str(crop)), where,
                 f"evaluate_command's --center-crop {named} disagrees with protocol {entry['protocol']!r}'s center_crop {crop}; "
                 "score and record the same crop")
        _require(not ("--ema" in command and "--no-ema" in command), where,
                 "evaluate_command has both --ema and --no-ema; keep the one the results were scored with")
        for metric, bounds in (entry.get("tolerance") or {}).items():
            _require(metric in entry["results"], where, f"tolerance on {metric!r}, which has no recorded result")
            _require(isinstance(bounds, dict) and set(bounds) <= {"min", "max"} and bounds, where,
                     f"tolerance.{metric} must be {{min: x}}, {{max: y}} or both")
    return ledger


def entry_use_ema(entry: dict[str, Any]) -> bool | None:
    """The generator an entry was scored with, from its evaluate command: False (``--no-ema``, the raw
    generator), True (``--ema``), the shipped file's generator for ``--pretrained NAME`` (its registry entry's
    ``weights``: ``raw ...`` or ``ema ...``), or None (none of these: the checkpoint's default)."""
    command = str(entry.get("evaluate_command", "")).split()
    if "--no-ema" in command or "--ema" in command:
        return "--ema" in command
    if "--pretrained" in command[:-1]:
        from gan_zoo.zoo import get_pretrained

        weights = get_pretrained(command[command.index("--pretrained") + 1]).weights
        if not weights.startswith(("raw ", "ema ")):
            raise GanZooError(f"registry weights {weights!r} name neither the raw nor the EMA generator")
        return weights.startswith("ema ")
    return None


def find_entry(ledger: dict[str, Any], config: str | Path) -> dict[str, Any]:
    """The entry for ``config`` (a path like ``configs/began/mnist.yaml``)."""
    key = Path(config).as_posix()
    key = key[key.index("configs/"):] if "configs/" in key else key
    for entry in ledger["entries"]:
        if entry["config"] == key:
            return entry
    raise GanZooError(f"{config} has no entry in the results ledger; add one to docs/results.yaml")




def model_configs(root: str | Path = ".") -> list[str]:
    """Every model config under ``configs/`` (files with a top-level ``model:``; fragments such as
    ``configs/trainer/ddp.yaml`` are composed onto them and have no entry), as posix paths."""
    import yaml

    root = Path(root)
    found = []
    for path in sorted((root / "configs").rglob("*.yaml")):
        if "model" in (yaml.safe_load(path.read_text()) or {}):
            found.append(path.relative_to(root).as_posix())
    return found


# ---------------------------------------------------------------------- rendering
README_BEGIN = "<!-- results-ledger:begin (generated by scripts/results_ledger.py from docs/results.yaml) -->"
README_END = "<!-- results-ledger:end -->"
METRIC_LABELS = {
    "domain_fid": "domain FID ↓", "domain_is": "domain IS ↑", "class_coverage": "class coverage ↑",
    "min_class_share": "rarest class share", "fid": "FID ↓", "is": "IS ↑",
    "modes_covered": "modes covered", "high_quality_share": "high-quality share",
    "test_error": "test error ↓ (averaged D)", "test_error_last": "test error ↓ (last D)",
}


def _fmt(value: float) -> str:
    if float(value).is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def _summary(values: list[float]) -> str:
    """"v" for one seed; "mean (v1 / v2 / ...)" for several."""
    if len(values) == 1:
        return _fmt(values[0])
    return f"{_fmt(statistics.fmean(values))} ({' / '.join(_fmt(v) for v in values)})"


def _tolerance(bounds: dict[str, float] | None) -> str:
    if not bounds:
        return ""
    lo, hi = bounds.get("min"), bounds.get("max")
    if lo is not None and hi is not None:
        return f"[{_fmt(lo)}, {_fmt(hi)}]"
    return f"≥ {_fmt(lo)}" if lo is not None else f"≤ {_fmt(hi)}"


def _crop_flag(p: dict[str, Any]) -> str:
    return f" --center-crop {p['center_crop']}" if p.get("center_crop") else ""


def _protocol_text(name: str, p: dict[str, Any]) -> str:
    if p.get("kind") == "toy" and p["dataset"] == "swissroll":
        return (f"`{name}`: {p['num_samples']} samples (sampling seed {p.get('seed', 0)}) against {p['num_samples']} fresh "
                f"points of the 2-D `{p['dataset']}` (seed {p.get('reference_seed', 1)}): improved precision and recall "
                f"(Kynkäänniemi et al. 2019), k = {p.get('k', 3)} nearest neighbours on the points themselves.")
    if p.get("kind") == "toy":
        return (f"`{name}`: {p['num_samples']} samples of the 2-D `{p['dataset']}` mixture, a mode is covered when a "
                f"sample lies within {p.get('num_std', 3)}σ of its centre; sampling seed {p.get('seed', 0)}.")
    if p.get("kind") == "classification":
        return (f"`{name}`: `gan-zoo test --config CONFIG --ckpt_path CKPT`: classification error on the "
                f"{p['num_images']} images of the {p['dataset']} {p.get('split', 'test')} split (`test_error`: the "
                "model's evaluation classifier, for the semi-supervised GAN the moving average of D; "
                "`test_error_last`: D's current weights).")
    return (f"`{name}`: `gan-zoo evaluate --dataset {p['dataset']} --metrics {' '.join(p['metrics'])} "
            f"--num-samples {p['num_samples']} --num-real {p['num_real']} --reference {p.get('reference', 'train')} "
            f"--seed {p.get('seed', 0)}{_crop_flag(p)}`; extractor `{p['extractor']}` (sha256 `{p['extractor_sha256'][:12]}…`); "
            f"real statistics from the first {p['num_real']} images of the {p.get('reference', 'train')} split.")


def render_markdown(ledger: dict[str, Any]) -> str:
    """``docs/results.md``: protocols, then one section per measured config, then the unmeasured list."""
    lines = [
        "# Results ledger",
        "",
        "Generated by `python scripts/results_ledger.py` from [`results.yaml`](results.yaml); edit the YAML, not",
        "this file. `gan-zoo reproduce CONFIG` retrains a measured config with the budget and seed below and",
        "checks the result against the tolerance.",
        "",
        "## Protocols",
        "",
    ]
    for name, p in ledger.get("protocols", {}).items():
        lines.append(f"* {_protocol_text(name, p)}")
    lines += ["", "## Measured", ""]
    for entry in ledger["entries"]:
        if entry["status"] != MEASURED:
            continue
        budget = entry["budget"]
        walls = budget.get("wall_s") or []
        lines += [
            f"### `{entry['config']}`",
            "",
            f"* protocol `{entry['protocol']}`, seeds {', '.join(str(s) for s in entry['seeds'])}"
            + (f" (each also sets {', '.join(f'`{o}`' for o in entry['seed_options'])})" if entry.get("seed_options") else ""),
            f"* budget: {budget['max_steps']} Lightning steps = {budget.get('g_updates', '?')} G updates; "
            + (f"wall time {', '.join(f'{w:.0f}' for w in walls)} s " if walls else "")
            + f"on {budget.get('hardware', 'unrecorded hardware')}",
            f"* train: `{entry['fit_command']}`",
            f"* evaluate: `{entry['evaluate_command']}`",
            "",
            "| metric | value (seeds) | reproduce tolerance |",
            "|---|---|---|",
        ]
        for metric, values in entry["results"].items():
            tol = _tolerance((entry.get("tolerance") or {}).get(metric))
            lines.append(f"| {METRIC_LABELS.get(metric, metric)} | {_summary(values)} | {tol} |")
        if entry.get("note"):
            lines += ["", " ".join(str(entry["note"]).split())]
        lines.append("")
    lines += ["## Not measured", "", "| config | reason |", "|---|---|"]
    for entry in ledger["entries"]:
        if entry["status"] == NOT_MEASURED:
            lines.append(f"| `{entry['config']}` | {' '.join(str(entry['reason']).split())} |")
    return "\n".join(lines) + "\n"


def render_readme_table(ledger: dict[str, Any]) -> str:
    """The README's results block, between the two markers: one row per measured config (image metrics, then
    the toys' and classifiers' own), smoke configs (CI's reproduce check) left out."""
    columns = ["domain_fid", "domain_is", "class_coverage", "min_class_share"]
    shown = [e for e in ledger["entries"] if e["status"] == MEASURED and not e.get("smoke")]
    # 2-D toys (mode coverage, precision / recall) and the semi-supervised classifiers (test error) have metrics
    # of their own: one cell per row in a second table
    own = [e for e in shown if ledger["protocols"][e["protocol"]].get("kind") in ("toy", "classification")]
    images = [e for e in shown if e not in own]

    def head(entry: dict[str, Any]) -> str:
        walls = entry["budget"].get("wall_s") or []
        wall = f"{statistics.fmean(walls) / 60:.1f} min" if walls else ""
        # FID is biased by the sample count, so the row names its protocol (samples vs real images)
        return (f"| `{entry['config']}` | {entry['protocol']} | {len(entry['seeds'])} | "
                f"{entry['budget'].get('g_updates', '')} | {wall} | ")

    lines = [
        README_BEGIN,
        "| config | protocol | seeds | G updates | wall time | " + " | ".join(METRIC_LABELS[c] for c in columns) + " |",
        "|---|---|---|---|---|" + "---|" * len(columns),
    ]
    for entry in images:
        cells = [_summary(entry["results"][c]) if c in entry["results"] else "" for c in columns]
        lines.append(head(entry) + " | ".join(cells) + " |")
    if own:
        lines += ["", "| config | protocol | seeds | G updates | wall time | results |", "|---|---|---|---|---|---|"]
        for entry in own:
            results = "; ".join(f"{METRIC_LABELS.get(m, m)} {_summary(v)}" for m, v in entry["results"].items())
            lines.append(head(entry) + results + " |")
    unmeasured = sum(e["status"] == NOT_MEASURED for e in ledger["entries"])
    lines += ["", f"Protocols, commands, tolerances and the {unmeasured} configs not measured yet (with the reason): "
              "[docs/results.md](docs/results.md).", README_END]
    return "\n".join(lines)


def replace_readme_block(readme: str, block: str) -> str:
    """``readme`` with the text between the markers (inclusive) replaced by ``block``."""
    if README_BEGIN not in readme or README_END not in readme:
        raise GanZooError(f"README has no results block; add the two markers {README_BEGIN!r} ... {README_END!r}")
    head, rest = readme.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    return head + block + tail
