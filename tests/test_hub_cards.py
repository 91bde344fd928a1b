"""What ``hub`` would publish, checked without a Hub: the dataset card, the staged model folder and the Space bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from facemask.labels import LABELS
from hub.commit import human_size, list_files
from hub.dataset import load_local_dataset
from hub.dataset_card import build_card, class_counts, size_category
from hub.model import check_model_folder, stage_model
from hub.settings import PublishError, RepoIds
from hub.space import build_bundle
from tests.test_hub import build_small_dataset

REPO = Path(__file__).resolve().parents[1]
REPOS = RepoIds.build("someone")
TRAINING_CARD = """---
library_name: timm
license: cc-by-nc-sa-4.0
datasets:
- facemask/facemask-face-crops
model-index:
- name: facemask-mobilenetv2
  results:
  - task: {type: image-classification}
    dataset: {name: face crops (test), type: facemask/facemask-face-crops, split: test}
    metrics:
    - {type: f1, value: 0.91, name: macro F1}
---
# Face-mask classifier

```python
model = timm.create_model("hf-hub:facemask/facemask-mobilenetv2", pretrained=True)
client = Client("facemask/facemask-demo")
```
"""


def front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---\n", 2)[1])


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ds") / "dataset"
    build_small_dataset(path)
    return path


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """A folder shaped like the training output (config with our labels, weights file, card)."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architecture": "mobilenetv2_100", "label_names": list(LABELS)}))
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "README.md").write_text(TRAINING_CARD)
    return folder


def test_dataset_card_counts_classes_per_split_and_says_the_synthetic_part_is_non_commercial(small_dataset: Path) -> None:
    dataset = load_local_dataset(small_dataset)
    report = {"dedupe": {"exact_duplicate_files_removed": 7, "identical_crops_removed": 3}}
    card = str(build_card(dataset, REPOS, report, {"phash_max_distance": 5, "split_fractions": (0.8, 0.1, 0.1), "seed": 7}))
    meta, text = front_matter(card), card.split("---\n", 2)[2]

    counts = class_counts(dataset)
    assert sum(counts["train"].values()) == len(dataset["train"])
    for split in ("train", "validation", "test"):
        assert f"| `{split}` | " + " | ".join(str(counts[split][n]) for n in LABELS) in text
    assert meta["task_categories"] == ["image-classification"]
    assert meta["size_categories"] == ["n<1K"] and "non-commercial" in meta["tags"]
    assert "CC BY-NC-SA 4.0" in text and "| CC-BY-NC-SA-4.0 | yes |" in text and "| CC0-1.0 | no |" in text
    assert "at most 5 bits" in text and "80%, 10%, 10%" in text and "seed 7" in text
    assert "| exact duplicate files removed | 7 |" in text
    assert 'load_dataset("someone/face-mask-crops")' in text


def test_dataset_without_an_image_column_or_our_class_label_is_refused(tmp_path: Path) -> None:
    import datasets
    from PIL import Image

    def save(name: str, features: dict, row: dict) -> Path:
        dataset = datasets.Dataset.from_dict({k: [v] for k, v in row.items()}, features=datasets.Features(features))
        datasets.DatasetDict(train=dataset).save_to_disk(str(tmp_path / name))
        return tmp_path / name

    image = Image.new("RGB", (4, 4))
    wrong_labels = save("labels", {"image": datasets.Image(), "label": datasets.ClassLabel(names=["mask", "no_mask"])},
                        {"image": image, "label": 0})  # fmt: skip
    no_image = save("text", {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=list(LABELS))},
                    {"text": "x", "label": 0})  # fmt: skip

    with pytest.raises(PublishError, match="ClassLabel"):
        load_local_dataset(wrong_labels)
    with pytest.raises(PublishError, match="Image feature"):
        load_local_dataset(no_image)
    with pytest.raises(PublishError, match="training prepare"):
        load_local_dataset(tmp_path / "missing")


def test_size_categories_follow_the_hub_buckets() -> None:
    assert [size_category(n) for n in (10, 999, 1000, 25_000, 2_000_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "n>1M",
    ]  # fmt: skip


def test_staged_model_card_points_at_the_published_repos_and_keeps_the_rest(model_folder: Path, tmp_path: Path) -> None:
    staged = stage_model(model_folder, tmp_path / "staged", REPOS)
    card = (staged / "README.md").read_text()
    meta = front_matter(card)

    assert meta["datasets"] == ["someone/face-mask-crops"]
    assert meta["model-index"][0]["results"][0]["dataset"]["type"] == "someone/face-mask-crops"
    assert meta["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.91
    assert 'timm.create_model("hf-hub:someone/facemask-mobilenetv2"' in card
    assert 'Client("someone/facemask-demo")' in card and "facemask/facemask-demo" not in card
    assert (model_folder / "README.md").read_text() == TRAINING_CARD  # the repo's own card is untouched
    assert (staged / "model.safetensors").read_bytes() == b"weights"


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pth", "checkpoint.pkl", "sub/weights.pt"])
def test_pickle_files_are_refused(model_folder: Path, name: str) -> None:
    (model_folder / name).parent.mkdir(exist_ok=True)
    (model_folder / name).write_bytes(b"pickle")
    with pytest.raises(PublishError, match="pickle"):
        check_model_folder(model_folder)


def test_model_folder_needs_config_with_our_labels_and_safetensors(model_folder: Path) -> None:
    (model_folder / "config.json").write_text(json.dumps({"label_names": ["a", "b", "c"]}))
    with pytest.raises(PublishError, match="label_names"):
        check_model_folder(model_folder)
    (model_folder / "model.safetensors").unlink()
    with pytest.raises(PublishError, match="model.safetensors"):
        check_model_folder(model_folder)


def test_space_bundle_holds_app_core_and_card_naming_the_repos_but_no_model(tmp_path: Path) -> None:
    if not (REPO / "app" / "bundle.py").is_file():
        pytest.skip("app/ is not in this checkout")
    bundle = build_bundle(REPO / "app", tmp_path / "bundle", REPOS)
    files = {entry.path for entry in list_files(bundle)}
    meta = front_matter((bundle / "README.md").read_text())

    assert {"app.py", "requirements.txt", "README.md", "facemask/__init__.py", "facemask/pipeline.py"} <= files
    assert not [f for f in files if f.startswith(("models/", "tests/")) or f.endswith((".safetensors", ".onnx"))]
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["models"] == ["someone/facemask-mobilenetv2"] and meta["datasets"] == ["someone/face-mask-crops"]
    assert not (REPO / "app" / "facemask").exists()  # built outside the repo


def test_repo_ids_come_from_the_namespace_unless_given_in_full() -> None:
    repos = RepoIds.build("org", model="me/my-model")
    assert (repos.dataset, repos.model, repos.space) == ("org/face-mask-crops", "me/my-model", "org/facemask-demo")
    with pytest.raises(PublishError):
        RepoIds.build("org", dataset="no-owner")
    assert human_size(512) == "512 B" and human_size(1536) == "1.5 KiB" and human_size(3 * 1024**3) == "3.0 GiB"


def test_only_publishable_sources_are_pushed_and_the_card_says_what_was_left_out_and_why(small_dataset: Path) -> None:
    from hub.dataset import plan_dataset, publishable_part

    local = load_local_dataset(small_dataset)
    published, left_out = publishable_part(local)
    for split, ds in published.items():
        sources = local[split]["source"]
        assert set(ds["source"]) <= {"andrewmvd_dev", "maskedfacenet"}
        assert len(ds) == sum(s != "closeups_dev" for s in sources)
        assert left_out["closeups_dev"].get(split, 0) == sum(s == "closeups_dev" for s in sources)
    assert sum(left_out["closeups_dev"].values()) > 0

    card = str(build_card(published, REPOS, None, {}, left_out=left_out))
    section = card.split("## Left out", 1)[1].split("\n## ", 1)[0]
    assert "closeups_dev" in section and "never redistributed" in section and "none stated" in section
    assert "closeups_dev" not in card.split("## Sources and licenses", 1)[1].split("## Left out", 1)[0]
    assert "## Left out" not in str(build_card(published, REPOS, None, {}))
    plan = plan_dataset(small_dataset, REPOS)
    assert f"({len(published['train'])} rows)" in plan and "left out (may not be redistributed): closeups_dev" in plan
