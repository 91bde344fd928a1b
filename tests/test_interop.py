"""One model, one answer: transformers (AutoModel and pipeline), timm with its own eval transform and
``MaskClassifier`` (ONNX and PyTorch) give the same probabilities for the same face crops, from the local
folder and from a (local) Hub server."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from facemask.labels import LABELS
from tests.fakehub import HubHandle
from tests.fakehub.client import run_client
from tests.fakehub.fixtures import fake_hub  # noqa: F401  (pytest fixture)
from tests.test_hub import hub_cli

pytest.importorskip("transformers")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
MODEL_DIR = REPO / "models" / "facemask-mobilenetv2"
MODEL_REPO = "tester/facemask-mobilenetv2"
LOADERS = ("transformers_auto", "transformers_pipeline", "timm", "facemask_onnx", "facemask_torch")
TOLERANCE = 1e-3

CLIENT = """
import sys
sys.path.insert(0, {repo!r})
import numpy as np, timm, torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, pipeline
from facemask import MaskClassifier

LABELS = {labels!r}
crops = [Image.open(path).convert("RGB") for path in {paths!r}]
out = {{}}

model = AutoModelForImageClassification.from_pretrained({model!r}).eval()
processor = AutoImageProcessor.from_pretrained({model!r})
with torch.inference_mode():
    logits = model(**processor(crops, return_tensors="pt")).logits
out["transformers_auto"] = logits.softmax(-1).tolist()
out["architecture"] = type(model).__name__
out["id2label"] = [model.config.id2label[i] for i in range(len(LABELS))]

classify = pipeline("image-classification", model={model!r})
answers = classify(crops, top_k=len(LABELS))
out["transformers_pipeline"] = [[{{a["label"]: a["score"] for a in answer}}[name] for name in LABELS] for answer in answers]

net = timm.create_model({timm_name!r}, pretrained=True).eval()
transform = timm.data.create_transform(**timm.data.resolve_data_config({{}}, model=net))
with torch.inference_mode():
    out["timm"] = net(torch.stack([transform(c) for c in crops])).softmax(-1).tolist()
out["timm_label_names"] = list(net.pretrained_cfg.get("label_names") or [])

for runtime in ("onnx", "torch"):
    classifier = MaskClassifier.from_pretrained({model!r}, runtime=runtime)
    out["facemask_" + runtime] = classifier.predict_proba([np.asarray(c) for c in crops]).tolist()
    out["facemask_" + runtime + "_folder"] = str(classifier.folder)
emit(out)
"""


@pytest.fixture(scope="module")
def crop_paths(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Face crops of the test images, cut by ``facemask.face_crop`` around detected faces, saved losslessly;
    plus one whole, non-square photo (timm's resize + centre crop path)."""
    from facemask import create_detector, face_crop, load_image

    folder = tmp_path_factory.mktemp("crops")
    detector = create_detector()
    crops = []
    for name in ("astronaut.jpg", "astronaut_masked.jpg", "group.jpg"):
        image = load_image(DATA / name)
        crops += [face_crop(image, face.box) for face in detector.detect(image)]
    assert len(crops) >= 3, "the detector found too few faces in the test images"
    from PIL import Image

    crops.append(Image.open(DATA / "group.jpg").convert("RGB"))
    paths = []
    for i, crop in enumerate(crops):
        path = folder / f"crop{i}.png"
        crop.save(path)
        paths.append(str(path))
    return paths


def probabilities(hub: HubHandle, hf_home: Path, model: str, timm_name: str, paths: list[str]) -> dict:
    code = CLIENT.format(repo=str(REPO), labels=LABELS, paths=paths, model=model, timm_name=timm_name)
    return run_client(hub, code, hf_home, token=None, timeout=300)


@pytest.fixture(scope="module")
def local(fake_hub: HubHandle, crop_paths, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every loader on the committed model folder (the Hub is never asked)."""
    before = len(fake_hub.requests())
    result = probabilities(fake_hub, tmp_path_factory.mktemp("hf_local"), str(MODEL_DIR), f"local-dir:{MODEL_DIR}",
                           crop_paths)  # fmt: skip
    assert len(fake_hub.requests()) == before, "loading the local folder sent requests to the Hub"
    return result


@pytest.fixture(scope="module")
def from_hub(fake_hub: HubHandle, crop_paths, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every loader on the model pushed by ``python -m hub push-model`` and downloaded into a fresh cache."""
    pushed = hub_cli(fake_hub, tmp_path_factory.mktemp("hf_push"), "push-model", "--repo-id", MODEL_REPO)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    home = tmp_path_factory.mktemp("hf_pull")
    result = probabilities(fake_hub, home, MODEL_REPO, f"hf-hub:{MODEL_REPO}", crop_paths)
    result["home"] = str(home)
    return result


def assert_all_loaders_agree(result: dict, n_crops: int) -> None:
    reference = np.asarray(result["facemask_onnx"])
    assert reference.shape == (n_crops, len(LABELS))
    np.testing.assert_allclose(reference.sum(axis=1), 1.0, atol=1e-5)
    for loader in LOADERS:
        probs = np.asarray(result[loader])
        assert probs.shape == reference.shape, loader
        assert (probs.argmax(axis=1) == reference.argmax(axis=1)).all(), f"{loader} picks another class"
        assert np.abs(probs - reference).max() <= TOLERANCE, f"{loader}: {json.dumps(result[loader])}"


def test_local_folder_loads_in_transformers_as_a_timm_wrapper_with_our_labels(local) -> None:
    assert local["architecture"] == "TimmWrapperForImageClassification"
    assert local["id2label"] == list(LABELS)
    assert local["timm_label_names"] == list(LABELS)


def test_every_loader_gives_the_same_probabilities_from_the_local_folder(local, crop_paths) -> None:
    assert_all_loaders_agree(local, len(crop_paths))


def test_every_loader_gives_the_same_probabilities_from_the_hub(fake_hub: HubHandle, from_hub, local,
                                                                crop_paths) -> None:  # fmt: skip
    assert_all_loaders_agree(from_hub, len(crop_paths))
    assert from_hub["architecture"] == "TimmWrapperForImageClassification"
    assert from_hub["id2label"] == list(LABELS)
    for loader in LOADERS:  # the Hub copy is the same model: the same numbers as the local folder
        assert np.abs(np.asarray(from_hub[loader]) - np.asarray(local[loader])).max() <= 1e-6, loader
    assert from_hub["facemask_onnx_folder"].startswith(from_hub["home"])  # pulled from the Hub, not the repo
    served = {r.path for r in fake_hub.requests() if r.status == 200}
    for name in ("config.json", "model.safetensors", "model.onnx"):
        assert any(path.startswith(f"/{MODEL_REPO}/resolve/") and path.endswith(f"/{name}") for path in served), name


def test_the_crops_cover_both_masked_and_bare_faces(local) -> None:
    top = {LABELS[i] for i in np.asarray(local["facemask_onnx"]).argmax(axis=1)}
    assert {"with_mask", "without_mask"} <= top


def test_face_crop_is_the_crop_the_app_classifies(pipeline) -> None:
    from facemask import Settings, face_crop, load_image

    image = load_image(DATA / "astronaut_masked.jpg")
    result = pipeline.analyze(image)
    face = result.faces[0]
    crop = face_crop(DATA / "astronaut_masked.jpg", face.box)

    side = max(face.box[2], face.box[3]) * (1 + 2 * Settings().crop_margin)
    assert crop.mode == "RGB" and crop.width == crop.height and abs(crop.width - side) <= 1
    probs = pipeline.classifier.predict_proba([np.asarray(crop)])[0]
    for i, name in enumerate(LABELS):
        assert probs[i] == pytest.approx(face.scores[name], abs=1e-6)


def test_face_crop_refuses_a_box_outside_the_image() -> None:
    from facemask import face_crop

    with pytest.raises(ValueError, match="outside"):
        face_crop(DATA / "astronaut.jpg", (900, 900, 50, 50))


# -- the model card's "How to use": every snippet runs exactly as printed -----------------------------------

CARD = MODEL_DIR / "README.md"
CARD_REPO_ID = "facemask/facemask-mobilenetv2"
"""The repo id the card's snippets name (``python -m hub push-model``'s default)."""
SNIPPET_MARKERS = {
    "transformers": "from transformers import pipeline",
    "timm": "timm.create_model(",
    "facemask": "MaskClassifier.from_pretrained(",
    "space": "from gradio_client import Client",
}


def card_snippets() -> dict[str, str]:
    """The fenced Python blocks of the committed card's "How to use" section, keyed by loader."""
    import re

    section = CARD.read_text().split("## How to use\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    keyed = {name: [b for b in blocks if marker in b] for name, marker in SNIPPET_MARKERS.items()}
    assert all(len(found) == 1 for found in keyed.values()), keyed
    assert len(blocks) == len(SNIPPET_MARKERS), "a snippet in the card is not run by the tests"
    return {name: found[0] for name, found in keyed.items()}


def run_snippet(hub: HubHandle, code: str, workdir: Path, hf_home: Path, **env: str) -> str:
    """Run ``code`` in a fresh interpreter from ``workdir`` (where ``photo.jpg`` lies); returns its stdout."""
    import shutil
    import subprocess
    import sys

    from tests.fakehub.client import client_env

    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "group.jpg", workdir / "photo.jpg")
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, timeout=300,
        env={**client_env(hub, hf_home, token=None), "PYTHONPATH": str(REPO), **env},
    )  # fmt: skip
    assert proc.returncode == 0, f"the card's snippet failed:\n{code}\n--- stderr\n{proc.stderr[-3000:]}"
    return proc.stdout


def per_face_answers(stdout: str) -> list[tuple[str, float]]:
    """``label score`` lines printed by the transformers and timm snippets."""
    answers = [line.split() for line in stdout.strip().splitlines()]
    assert answers and all(len(a) == 2 and a[0] in LABELS for a in answers), stdout
    return [(label, float(score)) for label, score in answers]


def test_card_usage_section_is_the_generators(local) -> None:
    from training.model_card import usage_section

    size = json.loads((MODEL_DIR / "config.json").read_text())["pretrained_cfg"]["input_size"][1]
    assert usage_section(size) in CARD.read_text()  # regenerate the card when the snippets change
    assert "face_crop" in card_snippets()["transformers"] and "face_crop" in card_snippets()["timm"]


def check_loader_snippets(outputs: dict[str, str]) -> None:
    transformers, timm_answers = per_face_answers(outputs["transformers"]), per_face_answers(outputs["timm"])
    assert len(transformers) == len(timm_answers) >= 3
    for (label_a, score_a), (label_b, score_b) in zip(transformers, timm_answers):
        assert label_a == label_b and abs(score_a - score_b) <= 2e-3
    assert {"with_mask", "without_mask"} <= {label for label, _ in transformers}
    first, summary = outputs["facemask"].strip().splitlines()
    scores = ast.literal_eval(first)
    assert set(scores) == set(LABELS) and abs(sum(scores.values()) - 1) < 0.01
    assert "faces:" in summary


def test_card_snippets_run_as_printed_on_the_local_folder(fake_hub: HubHandle, tmp_path: Path) -> None:
    outputs = {}
    for name in ("transformers", "timm", "facemask"):
        code = card_snippets()[name].replace(f"hf-hub:{CARD_REPO_ID}", f"local-dir:{MODEL_DIR}")
        code = code.replace(CARD_REPO_ID, str(MODEL_DIR))
        outputs[name] = run_snippet(fake_hub, code, tmp_path / name, tmp_path / f"hf_{name}")
    check_loader_snippets(outputs)


def test_card_snippets_run_unchanged_against_the_hub(fake_hub: HubHandle, tmp_path: Path) -> None:
    pushed = hub_cli(fake_hub, tmp_path / "hf_push", "push-model")  # the default repo: the card's own id
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert f"model {CARD_REPO_ID}: " in pushed.stdout

    outputs = {name: run_snippet(fake_hub, card_snippets()[name], tmp_path / name, tmp_path / f"hf_{name}")
               for name in ("transformers", "timm", "facemask")}  # fmt: skip

    check_loader_snippets(outputs)
    served = [r.path for r in fake_hub.requests() if r.status == 200]
    assert any(p.startswith(f"/{CARD_REPO_ID}/resolve/") and p.endswith("/model.safetensors") for p in served)


def test_card_space_snippet_runs_against_the_app(fake_hub: HubHandle, tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.appserver import start_app, stop_app
    from training.model_card import SPACE_ID

    code = card_snippets()["space"]
    assert f'Client("{SPACE_ID}")' in code
    server = start_app(tmp_path_factory.mktemp("card_app"), env={"FACEMASK_MODEL": str(MODEL_DIR), "HF_HUB_OFFLINE": "1"})
    try:
        workdir = tmp_path_factory.mktemp("space_snippet")
        stdout = run_snippet(fake_hub, code.replace(SPACE_ID, server.url), workdir, workdir / "hf_home")
    finally:
        stop_app(server)
    summary, *faces = [line for line in stdout.strip().splitlines() if not line.startswith("Loaded as API")]
    assert summary.startswith(f"{len(faces)} faces:") and len(faces) >= 3, stdout
    assert {line.split()[0] for line in faces} >= {"with_mask", "without_mask"}
