"""End to end: ``python -m hub`` publishes the dataset, the model and the Space to a local Hub server, and the
real clients (datasets, timm, the core, the Space's own app through gradio_client) pull them back in fresh caches."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from facemask.labels import LABELS
from tests.appserver import AppServer, free_port, running_app
from tests.fakehub import HubHandle
from tests.fakehub.client import client_env, run_client
from tests.fakehub.fixtures import fake_hub  # noqa: F401  (pytest fixture)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
MODEL_DIR = REPO / "models" / "facemask-mobilenetv2"
PREPARED_DATASET = REPO / "artifacts" / "dataset"
YUNET = REPO.parent / "shared" / "weights" / "face_detection_yunet.onnx"
NAMESPACE = "tester"
"""The fake Hub's user, who owns the repos."""
DATASET_REPO = f"{NAMESPACE}/face-mask-crops"
MODEL_REPO = f"{NAMESPACE}/facemask-mobilenetv2"
SPACE_REPO = f"{NAMESPACE}/facemask-demo"
KINDS = {"dataset": DATASET_REPO, "model": MODEL_REPO, "space": SPACE_REPO}

def hub_cli(hub: HubHandle, hf_home: Path, *args: str, token: Any = True,
            endpoint: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run ``python -m hub ARGS`` against ``hub`` with a fresh ``HF_HOME`` (``token=None``: no token at all)."""
    env = {**client_env(hub, hf_home, token), "PYTHONPATH": str(REPO)}
    if endpoint:
        env["HF_ENDPOINT"] = endpoint
    return subprocess.run(
        [sys.executable, "-m", "hub", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """A non-zero exit with a one-line ``error:`` reason naming ``needles``, and no traceback."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0]


def build_small_dataset(path: Path) -> None:
    """A few crops of the repo's test images, made into a ``DatasetDict`` by the prepare step's own code."""
    import cv2

    from facemask.io import load_image
    from training.prepare import FaceRecord, to_dataset_dict
    from training.sources import SourceImage

    images = sorted(DATA.glob("*.jpg"))
    splits = ["train"] * 12 + ["validation"] * 4 + ["test"] * 5
    records = []
    for i, split in enumerate(splits):
        path_i = images[i % len(images)]
        # every fourth crop from a source that may train but not be published (left out of the push)
        source = SourceImage(path_i, ("andrewmvd_dev", "maskedfacenet", "andrewmvd_dev", "closeups_dev")[i % 4], label=LABELS[i % len(LABELS)])
        crop = cv2.resize(load_image(path_i), (48, 48), interpolation=cv2.INTER_AREA)
        records.append(FaceRecord(crop, LABELS[i % len(LABELS)], source, 48.0, "detector", 0.9, f"g{i}", split))
    to_dataset_dict(records).save_to_disk(str(path))


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared dataset when ``python -m training prepare`` has run here, else a small one built for the test."""
    if (PREPARED_DATASET / "dataset_dict.json").is_file():
        return PREPARED_DATASET
    path = tmp_path_factory.mktemp("dataset") / "dataset"
    build_small_dataset(path)
    return path


@pytest.fixture(scope="module")
def local_counts(dataset_dir: Path) -> dict[str, dict[str, int]]:
    """Rows per label in each split of the local dataset, publishable sources only (what push-dataset sends)."""
    import datasets

    from training.sources import publishable

    local = datasets.load_from_disk(str(dataset_dir))
    return {
        split: dict(Counter(
            LABELS[i] for i, src in zip(ds.data.column("label").to_pylist(), ds.data.column("source").to_pylist()) if publishable(src)
        ))
        for split, ds in local.items()
    }  # fmt: skip


@pytest.fixture(scope="module")
def published(fake_hub: HubHandle, dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """``python -m hub all`` run once against the module's Hub."""
    proc = hub_cli(fake_hub, tmp_path_factory.mktemp("hf_publish"), "all", "--namespace", NAMESPACE,
                   "--dataset-dir", str(dataset_dir))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_publish_all_creates_each_repo_with_its_files_and_no_secret(fake_hub: HubHandle, published) -> None:
    for kind, repo_id in KINDS.items():
        assert f"{kind} {repo_id}: new commit" in published.stdout
    dataset = fake_hub.repo(DATASET_REPO, "dataset").files()
    assert {"data/train", "data/validation", "data/test"} == {
        path.rsplit("-", 3)[0] for path in dataset if path.endswith(".parquet")
    }

    model = fake_hub.repo(MODEL_REPO).files()
    local = {p.name: p.read_bytes() for p in MODEL_DIR.iterdir() if p.is_file()}
    assert set(model) - {".gitattributes"} == set(local)
    assert model["model.safetensors"] == local["model.safetensors"]
    assert not [p for p in model if p.endswith((".bin", ".pth", ".pt", ".pkl"))]
    if "README.md" in model:  # the training step's card, pointed at the dataset repo published beside it
        assert yaml.safe_load(model["README.md"].decode().split("---\n", 2)[1])["datasets"] == [DATASET_REPO]

    space = fake_hub.repo(SPACE_REPO, "space")
    assert space.repo.sdk == "gradio"
    files = space.files()
    assert {"app.py", "requirements.txt", "README.md", "facemask/__init__.py", "facemask/model.py"} <= set(files)
    assert not [p for p in files if p.startswith(("models/", "tests/")) or p.endswith(".safetensors")]

    for kind, repo_id in KINDS.items():
        for path, content in fake_hub.repo(repo_id, kind).files().items():
            assert fake_hub.token.encode() not in content, f"the token leaked into {kind} {path}"
    assert fake_hub.token not in published.stdout + published.stderr


def test_dataset_loads_back_with_the_same_splits_counts_and_features(fake_hub: HubHandle, published, local_counts,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    loaded = run_client(fake_hub, f"""
        from collections import Counter
        from datasets import load_dataset
        ds = load_dataset("{DATASET_REPO}")
        features = ds["train"].features
        emit({{
            "counts": {{s: dict(Counter(features["label"].int2str(v) for v in d["label"])) for s, d in ds.items()}},
            "label_names": features["label"].names,
            "image_type": type(features["image"]).__name__,
            "decoded": type(ds["test"][0]["image"]).__module__,
        }})
    """, tmp_path / "hf_home", token=None)  # fmt: skip

    assert loaded["counts"] == local_counts
    assert loaded["label_names"] == list(LABELS)
    assert loaded["image_type"] == "Image"
    assert loaded["decoded"].startswith("PIL.")


def test_dataset_card_states_licenses_counts_split_and_usage(fake_hub: HubHandle, published, local_counts) -> None:
    readme = fake_hub.repo(DATASET_REPO, "dataset").files()["README.md"].decode()
    _, front, text = readme.split("---\n", 2)
    meta = yaml.safe_load(front)

    assert meta["task_categories"] == ["image-classification"]
    assert meta["license"] == "other" and "cc-by-nc-sa-4.0" in meta["license_name"]
    assert "non-commercial" in meta["tags"]
    assert [c["config_name"] for c in meta["configs"]] == ["default"]
    label = next(f for f in meta["dataset_info"]["features"] if f["name"] == "label")
    assert list(label["dtype"]["class_label"]["names"].values()) == list(LABELS)
    assert "CC BY-NC-SA 4.0" in text and "**Non-commercial.**" in text
    assert f'load_dataset("{DATASET_REPO}")' in text
    for split, counts in local_counts.items():
        row = f"| `{split}` | " + " | ".join(str(counts.get(name, 0)) for name in LABELS)
        assert row in text
    assert "**Duplicates.**" in text and "**Split.**" in text and "## Intended use and limits" in text
    left_out = text.split("## Left out", 1)[1].split("\n## ", 1)[0]  # crops that may train but not be published
    assert "closeups_dev" in left_out and "never redistributed" in left_out


def test_model_loads_with_timm_and_from_pretrained_exactly_like_the_local_folder(fake_hub: HubHandle, published,
                                                                                 tmp_path: Path) -> None:  # fmt: skip
    result = run_client(fake_hub, f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy as np, timm, torch
        from facemask import MaskClassifier
        from facemask.io import load_image

        crops = [load_image({str(DATA / "astronaut.jpg")!r}), load_image({str(DATA / "astronaut_masked.jpg")!r})]
        batch = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, 128, 128)).astype("float32"))
        with torch.inference_mode():
            hub_logits = timm.create_model("hf-hub:{MODEL_REPO}", pretrained=True).eval()(batch).numpy()
            local_logits = timm.create_model("local-dir:{MODEL_DIR}", pretrained=True).eval()(batch).numpy()
        out = {{"timm": float(np.abs(hub_logits - local_logits).max())}}
        for runtime in ("onnx", "torch"):
            hub = MaskClassifier.from_pretrained("{MODEL_REPO}", runtime=runtime)
            local = MaskClassifier.from_pretrained({str(MODEL_DIR)!r}, runtime=runtime)
            out[runtime] = float(np.abs(hub.predict_proba(crops) - local.predict_proba(crops)).max())
            out[runtime + "_folder"] = str(hub.folder)
        emit(out)
    """, tmp_path / "hf_home", token=None, timeout=300)  # fmt: skip

    assert result["timm"] == 0.0
    assert result["onnx"] == 0.0 and result["torch"] == 0.0
    assert result["onnx_folder"].startswith(str(tmp_path / "hf_home"))  # pulled from the Hub, not the repo


@pytest.fixture(scope="module")
def space_dir(fake_hub: HubHandle, published, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Space's files as the Hub serves them, downloaded into a plain folder."""
    folder = tmp_path_factory.mktemp("space") / "space"
    run_client(fake_hub, f"""
        from huggingface_hub import snapshot_download
        snapshot_download("{SPACE_REPO}", repo_type="space", local_dir={str(folder)!r})
    """, tmp_path_factory.mktemp("hf_space"), token=None)  # fmt: skip
    return folder


def test_space_card_declares_gradio_app_model_and_dataset(space_dir: Path) -> None:
    _, front, _ = (space_dir / "README.md").read_text().split("---\n", 2)
    meta = yaml.safe_load(front)

    assert meta["sdk"] == "gradio"
    assert meta["app_file"] == "app.py" and (space_dir / "app.py").is_file()
    assert meta["models"] == [MODEL_REPO]
    assert meta["datasets"] == [DATASET_REPO]
    assert str(meta["sdk_version"]).split(".")[0].isdigit()


@pytest.fixture(scope="module")
def space_app(fake_hub: HubHandle, space_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The downloaded Space's ``app.py``, run as the Space runs it: no model configured, the Hub at hand."""
    workdir = tmp_path_factory.mktemp("space_app")
    env = {**client_env(fake_hub, workdir / "hf_home", token=None), "FACEMASK_MODEL": ""}
    if YUNET.is_file():  # the same detector as the local pipeline, so the same faces are classified
        env["FACEMASK_YUNET_PATH"] = str(YUNET)
    yield from running_app(workdir, app_file=space_dir / "app.py", env=env)


def test_space_app_loads_the_model_from_the_hub_and_predicts_like_the_local_pipeline(
    fake_hub: HubHandle, space_app: AppServer, pipeline
) -> None:
    from gradio_client import Client, handle_file

    client = Client(space_app.url, verbose=False, download_files=str(space_app.cache_dir.parent / "downloads"))
    _, results = client.predict(handle_file(str(DATA / "astronaut.jpg")), api_name="/detect")
    from facemask.io import load_image

    local = pipeline.analyze(load_image(DATA / "astronaut.jpg"))

    assert f"model {MODEL_REPO}" in space_app.log()
    assert any(r.path.startswith(f"/{MODEL_REPO}/resolve/") and r.status == 200 for r in fake_hub.requests())
    assert len(results["faces"]) == len(local.faces) == 1
    face, expected = results["faces"][0], local.faces[0]
    assert face["label"] == expected.label
    for name in LABELS:
        assert face["scores"][name] == pytest.approx(expected.scores[name], abs=2e-3)
    assert face["label"] == "without_mask"


def test_second_push_without_changes_creates_no_commit(fake_hub: HubHandle, published, dataset_dir: Path,
                                                       tmp_path: Path) -> None:  # fmt: skip
    heads = {kind: fake_hub.repo(repo_id, kind).head() for kind, repo_id in KINDS.items()}

    proc = hub_cli(fake_hub, tmp_path / "hf_home", "all", "--namespace", NAMESPACE, "--dataset-dir", str(dataset_dir))

    assert proc.returncode == 0, proc.stdout + proc.stderr
    for kind, repo_id in KINDS.items():
        assert fake_hub.repo(repo_id, kind).head() == heads[kind], f"{kind} got a new commit"
        assert f"{kind} {repo_id}: unchanged (no new commit)" in proc.stdout


def test_push_failing_at_commit_leaves_the_previous_commit_intact(fake_hub: HubHandle, tmp_path: Path) -> None:
    repo_id = f"{NAMESPACE}/failure-model"
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder)
    first = hub_cli(fake_hub, tmp_path / "hf_1", "push-model", "--repo-id", repo_id, "--model-dir", str(folder))
    assert first.returncode == 0, first.stderr
    repo = fake_hub.repo(repo_id)
    head, files = repo.head(), repo.files()
    (folder / "README.md").write_text("---\nlibrary_name: timm\n---\n# changed card\n")
    (folder / "model.safetensors").write_bytes(b"\0" * 64)  # an LFS file: uploaded before the commit fails

    fake_hub.fail_next_commit()
    failed = hub_cli(fake_hub, tmp_path / "hf_2", "push-model", "--repo-id", repo_id, "--model-dir", str(folder))

    assert_clean_failure(failed, "Hub refused")
    assert repo.head() == head
    assert repo.files() == files


def test_private_flag_creates_a_private_repo(fake_hub: HubHandle, tmp_path: Path) -> None:
    repo_id = f"{NAMESPACE}/private-model"
    proc = hub_cli(fake_hub, tmp_path / "hf_home", "push-model", "--repo-id", repo_id, "--private")

    assert proc.returncode == 0, proc.stderr
    assert fake_hub.repo(repo_id).private
    assert fake_hub.repo(repo_id).files()["config.json"] == (MODEL_DIR / "config.json").read_bytes()


@pytest.mark.parametrize(("token", "needle"), [(None, "HF_TOKEN"), ("hf_wrong_token", "refused the token")])
def test_missing_or_refused_token_is_a_clear_error_and_pushes_nothing(fake_hub: HubHandle, tmp_path: Path,
                                                                      token: Any, needle: str) -> None:  # fmt: skip
    repo_id = f"{NAMESPACE}/unauthorised-model"
    proc = hub_cli(fake_hub, tmp_path / "hf_home", "push-model", "--repo-id", repo_id, token=token)

    assert_clean_failure(proc, needle)
    assert repo_id not in fake_hub.repo_ids()
    if token:
        assert token not in proc.stdout + proc.stderr


def test_unreachable_hub_is_a_clear_error(fake_hub: HubHandle, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    proc = hub_cli(fake_hub, tmp_path / "hf_home", "push-model", endpoint=endpoint)

    assert_clean_failure(proc, f"cannot reach the Hub at {endpoint}")


def test_dry_run_lists_every_upload_with_sizes_and_sends_no_request(fake_hub: HubHandle, dataset_dir: Path,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    before = len(fake_hub.requests())
    proc = hub_cli(fake_hub, tmp_path / "hf_home", "all", "--namespace", "someone", "--dataset-dir", str(dataset_dir),
                   "--dry-run", token=None)  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    assert len(fake_hub.requests()) == before
    out = proc.stdout
    for repo_id in ("someone/face-mask-crops", "someone/facemask-mobilenetv2", "someone/facemask-demo"):
        assert f"-> {repo_id}" in out
    safetensors_kib = (MODEL_DIR / "model.safetensors").stat().st_size / 1024 / 1024
    assert f"{safetensors_kib:.1f} MiB  model.safetensors" in out
    for path in ("data/train-*.parquet", "README.md", "app.py", "facemask/pipeline.py"):
        assert path in out
    assert "left out (may not be redistributed): closeups_dev" in out


def test_pickle_weights_are_refused_before_anything_is_uploaded(fake_hub: HubHandle, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder)
    (folder / "pytorch_model.bin").write_bytes(b"pickle")
    repo_id = f"{NAMESPACE}/pickled-model"

    proc = hub_cli(fake_hub, tmp_path / "hf_home", "push-model", "--repo-id", repo_id, "--model-dir", str(folder))

    assert_clean_failure(proc, "pickle", "pytorch_model.bin")
    assert repo_id not in fake_hub.repo_ids()
