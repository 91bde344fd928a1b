"""The app's pure helpers, its model-source rule and the Space bundle (which must run as it is)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

from tests.appserver import REPO, AppServer, running_app

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from huggingface_hub import SpaceCard  # noqa: E402

APP_DIR = REPO / "app"
FACE = {"box": [10.0, 20.0, 30.0, 40.0], "score": 0.91, "label": "without_mask",
        "scores": {"with_mask": 0.1, "without_mask": 0.85, "incorrect_mask": 0.05}}
BIG_FACE = {"box": [100.0, 20.0, 80.0, 90.0], "score": 0.88, "label": "with_mask",
            "scores": {"with_mask": 0.97, "without_mask": 0.02, "incorrect_mask": 0.01}}


def load_module(path: Path) -> ModuleType:
    """Import an app file by path (``app/`` is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"facemask_app_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app_module() -> ModuleType:
    return load_module(APP_DIR / "app.py")


@pytest.fixture(scope="module")
def handlers() -> ModuleType:
    return load_module(APP_DIR / "handlers.py")


def requirement_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*(==|>=)\s*([^\s#]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2) + match.group(3)
    return pins


def test_table_has_one_row_per_face_with_label_confidence_and_box(handlers: ModuleType) -> None:
    rows = handlers.face_rows({"faces": [FACE, BIG_FACE]})

    assert rows == [[1, "No mask", "85.0%", "0.91", "10, 20, 30, 40"], [2, "Mask", "97.0%", "0.88", "100, 20, 80, 90"]]
    assert handlers.face_rows(None) == []


def test_chart_shows_the_largest_face_unless_one_is_selected(handlers: ModuleType) -> None:
    results = {"faces": [FACE, BIG_FACE]}

    largest = handlers.face_chart(results)
    selected = handlers.face_chart(results, 0)

    assert largest.value["label"] == "Mask" and "#2" in largest.label
    assert selected.value["label"] == "No mask" and "#1" in selected.label
    assert {c["label"]: c["confidence"] for c in selected.value["confidences"]} == pytest.approx(
        {"No mask": 0.85, "Mask": 0.1, "Mask worn incorrectly": 0.05})
    assert not handlers.face_chart({"faces": []}).value


def test_upload_payload_becomes_a_path_or_decoded_data_url(handlers: ModuleType) -> None:
    assert handlers.image_source({"path": "/tmp/gradio/x.png", "url": None}, 100) == "/tmp/gradio/x.png"
    assert handlers.image_source({"path": None, "url": "data:image/png;base64,aGVsbG8="}, 100) == b"hello"
    assert handlers.image_source(None, 100) is None
    with pytest.raises(Exception, match="larger than"):
        handlers.image_source({"path": None, "url": "data:image/png;base64," + "A" * 400}, 100)


def test_model_comes_from_env_then_bundled_folder_then_space_readme(app_module: ModuleType, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("---\nsdk: gradio\nmodels:\n  - someone/mask-model\n---\n# Space\n")
    bundled, missing = tmp_path, tmp_path / "no-model-here"

    assert app_module.model_source({"FACEMASK_MODEL": "me/other"}, bundled, readme) == "me/other"
    assert app_module.model_source({}, bundled, readme) == str(bundled)
    assert app_module.model_source({}, missing, readme) == "someone/mask-model"
    assert app_module.model_source({}, missing, tmp_path / "absent.md") == str(missing)


def test_space_readme_matches_the_pinned_gradio_and_python() -> None:
    card = SpaceCard.load(APP_DIR / "README.md").data
    root_pins = requirement_pins(REPO / "requirements.txt")

    assert card.sdk == "gradio"
    assert "==" + str(card.sdk_version) == root_pins["gradio"]
    assert str(card.python_version) == "3.11"
    assert (APP_DIR / card.app_file).is_file()
    assert card.models and card.datasets and card.license
    assert len(card.short_description) <= 60


def test_space_requirements_use_the_same_pins_as_the_repository() -> None:
    space, root = requirement_pins(APP_DIR / "requirements.txt"), requirement_pins(REPO / "requirements.txt")

    assert {"gradio", "torch", "timm", "onnxruntime", "opencv-python-headless", "yuface"} <= set(space)
    assert {name: pin for name, pin in space.items() if root.get(name) != pin} == {}


def test_bundle_refuses_to_overwrite_the_sources(tmp_path: Path) -> None:
    bundle = load_module(APP_DIR / "bundle.py")
    (tmp_path / "keep.txt").write_text("mine")

    with pytest.raises(ValueError):
        bundle.build_space(APP_DIR)
    with pytest.raises(FileExistsError):
        bundle.build_space(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = load_module(APP_DIR / "bundle.py")
    return bundle.build_space(tmp_path_factory.mktemp("space") / "bundle", "someone/mask-model", "someone/mask-data")


@pytest.fixture(scope="module")
def space_server(space: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    # run from the bundle with no path to the repository: only the bundle's own copy of the core can load
    env = {"HF_HUB_OFFLINE": "1", "PYTHONPATH": "", "FACEMASK_MODEL": str(REPO / "models" / "facemask-mobilenetv2")}
    yield from running_app(tmp_path_factory.mktemp("space-run"), app_file=space / "app.py", cwd=space, env=env)


def test_bundle_holds_the_app_the_core_and_the_yaml_with_the_repos(space: Path) -> None:
    card = SpaceCard.load(space / "README.md").data

    assert {p.name for p in space.iterdir()} >= {"app.py", "handlers.py", "requirements.txt", "README.md", "examples", "facemask"}
    assert (space / "facemask" / "pipeline.py").is_file() and not list(space.rglob("__pycache__"))
    assert card.models == ["someone/mask-model"] and card.datasets == ["someone/mask-data"]


def test_bundle_serves_detect_with_its_own_copy_of_the_core(space: Path, space_server: AppServer) -> None:
    client = Client(space_server.url, verbose=False, download_files=str(space_server.cache_dir.parent / "dl"))

    _, results = client.predict(handle_file(str(space / "examples" / "group.jpg")), api_name="/detect")

    assert len(results["faces"]) == 6


class _SetGrowingDuringIteration(set):
    """A set of cached files to which a request adds one while the clean-up walks it."""

    def __init__(self, items: list[str], late: str) -> None:
        super().__init__(items)
        self.late = late

    def __iter__(self):
        items = set.__iter__(self)
        yield next(items)
        self.add(self.late)
        yield from items


def test_cache_clean_up_survives_a_file_added_while_it_runs(app_module: ModuleType, tmp_path: Path, monkeypatch) -> None:
    import time
    from types import SimpleNamespace

    from gradio.route_utils import delete_files_created_by_app as gradios

    old = [tmp_path / f"old{i}.jpg" for i in range(3)]
    for path in old:
        path.write_bytes(b"upload")
    time.sleep(1.2)
    fresh, late = tmp_path / "fresh.jpg", tmp_path / "late.jpg"
    fresh.write_bytes(b"upload")
    late.write_bytes(b"upload")

    def blocks() -> SimpleNamespace:
        files = _SetGrowingDuringIteration([str(p) for p in old + [fresh]], str(late))
        return SimpleNamespace(blocks={}, temp_file_sets=[files])

    with pytest.raises(RuntimeError, match="changed size"):  # why the app replaces Gradio's clean-up
        gradios(blocks(), 1)
    from gradio import route_utils

    monkeypatch.setattr(route_utils, "delete_files_created_by_app", gradios)  # restored afterwards
    app_module.clean_cache_safely()

    assert route_utils.delete_files_created_by_app is app_module.delete_cache_files  # what the schedule calls
    survivor = blocks()
    app_module.delete_cache_files(survivor, 1)
    assert not any(p.exists() for p in old) and fresh.exists()
    assert str(fresh) in survivor.temp_file_sets[0] and not any(str(p) in survivor.temp_file_sets[0] for p in old)
    app_module.delete_cache_files(survivor, None)
    assert not fresh.exists()
