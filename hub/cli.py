"""Command line: ``python -m hub push-dataset | push-model | push-metric | deploy-space | all``.

The token comes only from ``HF_TOKEN`` or ``hf auth login``; it is never printed or written anywhere.
``--dry-run`` lists what would be uploaded, with sizes, and needs neither a token nor the network.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from huggingface_hub import HfApi, constants
from huggingface_hub.errors import HfHubHTTPError

from .auth import authenticated_api
from .commit import PushResult
from .metric import METRIC_DIR
from .settings import APP_DIR, DATASET_DIR, DEFAULT_NAMESPACE, MODEL_DIR, PublishError, RepoIds

TRANSPORT_ERRORS: tuple[type[Exception], ...] = tuple(
    importlib.import_module(name).TransportError for name in ("httpx", "httpx2") if importlib.util.find_spec(name)
)
"""Connection failures of the HTTP library under huggingface_hub (httpx for 1.x, httpx2 for 2.x)."""

STEPS = {
    "push-dataset": ("dataset",),
    "push-model": ("model",),
    "push-metric": ("metric",),
    "deploy-space": ("space",),
    "all": ("dataset", "model", "metric", "space"),
}
HELP = {
    "push-dataset": "push the prepared DatasetDict and its dataset card",
    "push-model": "push the model folder (timm layout, safetensors, model card)",
    "push-metric": "publish the evaluate metric module as a metric Space (evaluate.load(\"<owner>/facemask_metrics\"))",
    "deploy-space": "create the gradio Space and upload the app bundle",
    "all": "push the dataset, the model and the metric, then deploy the Space",
}


def _add_options(parser: argparse.ArgumentParser, steps: tuple[str, ...]) -> None:
    own = steps[0] if len(steps) == 1 else None
    parser.add_argument("--namespace", default=DEFAULT_NAMESPACE, help="user or organisation owning the repos (default: %(default)s)")
    for kind in ("dataset", "model", "space"):
        names = [f"--{kind}-repo"] + (["--repo-id"] if kind == own else [])
        parser.add_argument(*names, dest=f"{kind}_repo", metavar="OWNER/NAME", help=f"the {kind} repo (default: <namespace>/<name>)")
    if "metric" in steps:
        names = ["--metric-repo"] + (["--repo-id"] if own == "metric" else [])
        parser.add_argument(*names, dest="metric_repo", metavar="OWNER/facemask_metrics", help="the metric Space (default: <namespace>/facemask_metrics)")
        parser.add_argument("--metric-dir", type=Path, default=METRIC_DIR, help="the evaluate module (default: metrics/facemask_metrics)")
    if "dataset" in steps:
        parser.add_argument("--dataset-dir", type=Path, default=DATASET_DIR, help="saved DatasetDict (default: artifacts/dataset)")
    if "model" in steps:
        parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="model folder (default: models/facemask-mobilenetv2)")
    if "space" in steps:
        parser.add_argument("--app-dir", type=Path, default=APP_DIR, help="the app to deploy (default: app/)")
    parser.add_argument("--private", action="store_true", help="create the repos private (existing repos keep their visibility)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded, with sizes; touch nothing")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hub", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, steps in STEPS.items():
        _add_options(commands.add_parser(name, help=HELP[name], description=HELP[name]), steps)
    return parser


def _plan(kind: str, args: argparse.Namespace, repos: RepoIds, staging: Path) -> str:
    if kind == "dataset":
        from .dataset import plan_dataset

        return plan_dataset(args.dataset_dir, repos)
    if kind == "model":
        from .model import plan_model

        return plan_model(args.model_dir, staging, repos)
    if kind == "metric":
        from .metric import metric_repo, plan_metric

        return plan_metric(args.metric_dir, staging, metric_repo(args.namespace, args.metric_repo))
    from .space import plan_space

    return plan_space(args.app_dir, staging, repos)


def _push(kind: str, api: HfApi, args: argparse.Namespace, repos: RepoIds, staging: Path) -> PushResult:
    if kind == "dataset":
        from .dataset import push_dataset

        return push_dataset(api, args.dataset_dir, repos, args.private)
    if kind == "model":
        from .model import push_model

        return push_model(api, args.model_dir, staging, repos, args.private)
    if kind == "metric":
        from .metric import metric_repo, push_metric

        return push_metric(api, args.metric_dir, staging, metric_repo(args.namespace, args.metric_repo), args.private)
    from .space import deploy_space

    return deploy_space(api, args.app_dir, staging, repos, args.private)


def run(args: argparse.Namespace) -> None:
    """Plan or push each step of ``args.command`` in order; raises on the first failure."""
    repos = RepoIds.build(args.namespace, args.dataset_repo, args.model_repo, args.space_repo)
    api: HfApi | None = None
    if args.dry_run:
        print("dry run: nothing is uploaded")
    else:
        api, user = authenticated_api()
        print(f"publishing to {api.endpoint} as {user}")
    for kind in STEPS[args.command]:
        with tempfile.TemporaryDirectory(prefix=f"facemask-{kind}-") as tmp:
            staging = Path(tmp) / "bundle"
            if api is None:
                print(_plan(kind, args, repos, staging))
            else:
                print(_push(kind, api, args, repos, staging).describe(), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (1 with a one-line reason on any failure)."""
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except HfHubHTTPError as exc:
        print(f"error: the Hub refused the request: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except TRANSPORT_ERRORS as exc:
        print(f"error: cannot reach the Hub at {constants.ENDPOINT} ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
