"""Command line: ``python -m training prepare|train|soup|evaluate|all``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from facemask.config import BUNDLED_MODEL_DIR, REPO_DIR, SHARED_DIR

from .config import DEFAULT_CONFIG, load_config

ARTIFACTS = REPO_DIR / "artifacts"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description="Prepare data, train and evaluate the mask classifier.")
    parser.add_argument("command", choices=("prepare", "train", "soup", "evaluate", "all"))
    parser.add_argument("--data-dir", type=Path, default=SHARED_DIR / "data", help="the shared data sets (default: ../shared/data)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="YAML with every hyper-parameter")
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL_DIR, help="model folder to write")
    parser.add_argument("--dataset", type=Path, default=ARTIFACTS / "dataset", help="where prepare saves the DatasetDict")
    parser.add_argument("--weights", type=Path, default=SHARED_DIR / "weights" / "mobilenetv2_100.tv_in1k.safetensors", help="ImageNet weights file")
    parser.add_argument("--hub-weights", action="store_true", help="start from timm's own pretrained weights on the Hub (online)")
    parser.add_argument("--limit", type=int, default=None, help="use at most this many images per source (smoke runs)")
    parser.add_argument("--ingredients", type=Path, nargs="+", default=[], metavar="MODEL_DIR",
                        help="soup: trained model folders (same recipe, different seeds) to average into --out")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one config value (YAML syntax)")
    return parser


def _shown(path: Path) -> str:
    """A path relative to the repository when it lies inside or beside it."""
    try:
        return os.path.relpath(path.resolve(), REPO_DIR)
    except ValueError:
        return str(path)


def train_summary_path(out: Path) -> Path:
    """Where ``train`` records its history and decision rule for ``evaluate``: beside a candidate folder, or in artifacts/."""
    if out.resolve() == BUNDLED_MODEL_DIR.resolve():
        return ARTIFACTS / "train_summary.json"
    return out.parent / f"{out.name}.train_summary.json"


def reproduce_command(args: argparse.Namespace) -> str:
    """The one command that rebuilds the model folder from the data (recorded in the model card)."""
    parts = ["python -m training all", f"--data-dir {_shown(args.data_dir)}", f"--config {_shown(args.config)}", f"--out {_shown(args.out)}"]
    parts += [f"--set {item}" for item in args.set]
    if args.hub_weights:
        parts.append("--hub-weights")
    return " ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    import yaml

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    config = load_config(args.config)
    for item in args.set:
        key, _, value = item.partition("=")
        parsed = yaml.safe_load(value)
        config = config.replace(**{key: tuple(parsed) if isinstance(parsed, list) else parsed})
    if args.command in ("prepare", "all") and not args.data_dir.is_dir():
        print(f"error: data folder {args.data_dir} not found (pass --data-dir)", file=sys.stderr)
        return 2
    if args.command == "soup" and len(args.ingredients) < 2:
        print("error: soup needs --ingredients with two or more model folders", file=sys.stderr)
        return 2
    if args.command in ("train", "soup", "evaluate") and not (args.dataset / "dataset_dict.json").is_file():
        print(f"error: no prepared dataset at {args.dataset} (run `python -m training prepare` first)", file=sys.stderr)
        return 2
    timings: dict[str, float] = {}
    if args.command in ("prepare", "all"):
        from .prepare import prepare

        start = time.perf_counter()
        report = prepare(args.data_dir, args.dataset, config, limit=args.limit)
        timings["prepare_s"] = time.perf_counter() - start
        print(json.dumps({k: report[k] for k in ("faces", "dedupe")}))
    if args.command in ("train", "all"):
        from .train import train

        start = time.perf_counter()
        summary = train(args.dataset, args.out, config, weights=None if args.hub_weights else args.weights)
        timings["train_s"] = time.perf_counter() - start
        train_summary_path(args.out).parent.mkdir(parents=True, exist_ok=True)
        train_summary_path(args.out).write_text(json.dumps(summary, indent=2))
        print(json.dumps({k: summary[k] for k in ("best_epoch", "best_val_macro_f1")}))
    if args.command == "soup":
        from .soup import soup

        start = time.perf_counter()
        summary = soup(args.ingredients, args.dataset, args.out, config)
        timings["soup_s"] = time.perf_counter() - start
        train_summary_path(args.out).parent.mkdir(parents=True, exist_ok=True)
        train_summary_path(args.out).write_text(json.dumps(summary, indent=2))
        print(json.dumps(summary["soup"]))
    if args.command in ("evaluate", "all"):
        from .evaluate import evaluate

        start = time.perf_counter()
        metrics = evaluate(
            args.dataset, args.out, args.data_dir, config, command=reproduce_command(args), timings=timings,
            train_summary=train_summary_path(args.out),
        )  # fmt: skip
        timings["evaluate_s"] = time.perf_counter() - start
        print(json.dumps(metrics["summary"]))
    print(json.dumps({k: round(v, 1) for k, v in timings.items()}))
    return 0
