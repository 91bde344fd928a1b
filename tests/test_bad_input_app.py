"""The app's ``/detect`` endpoint on the whole bad-input corpus, through ``gradio_client`` against a real server.

Every file gives a correct result or a clear error (no traceback), and after every bad file the
server still answers a good request correctly.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pytest
from PIL import Image

from tests.appserver import AppServer, running_app
from tests.badinputs import Case, write_corpus

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[AppServer]:
    yield from running_app(tmp_path_factory.mktemp("app"), env={"HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="module")
def client(server: AppServer) -> Client:
    return Client(server.url, verbose=False, download_files=str(server.cache_dir.parent / "downloads"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Case]:
    return write_corpus(tmp_path_factory.mktemp("badinputs"))


def _good_request_works(client: Client, corpus: list[Case]) -> None:
    good = next(c for c in corpus if c.name == "exif_orientation_1")
    _, results = client.predict(handle_file(str(good.path)), api_name="/detect")
    assert len(results["faces"]) == 1 and (results["width"], results["height"]) == good.size


def test_detect_gives_a_result_or_a_clear_error_for_every_file(client: Client, server: AppServer, corpus) -> None:
    for case in corpus:
        if case.ok:
            image_path, results = client.predict(handle_file(str(case.path)), api_name="/detect")
            with Image.open(image_path) as output:
                assert output.size == case.size, case.name
            assert (results["width"], results["height"]) == case.size, case.name
            if case.faces is not None:
                assert len(results["faces"]) == case.faces, case.name
            assert len(results["faces"]) >= case.min_faces, case.name
            if case.face_box is not None:
                x, y, w, h = results["faces"][0]["box"]
                fx, fy, fw, fh = case.face_box
                assert abs(x + w / 2 - fx - fw / 2) < 15 and abs(y + h / 2 - fy - fh / 2) < 15, case.name
        else:
            with pytest.raises(AppError) as error:
                client.predict(handle_file(str(case.path)), api_name="/detect")
            message = str(error.value).lower()
            assert case.error in message and "traceback" not in message, (case.name, message)
            _good_request_works(client, corpus)
    assert server.process.poll() is None
    assert "Traceback" not in server.log()


def test_exif_rotated_uploads_come_back_upright(client: Client, corpus) -> None:
    from tests.badinputs import portrait

    upright = portrait().astype(int)
    for n in (3, 6, 8):
        case = next(c for c in corpus if c.name == f"exif_orientation_{n}")
        image_path, _ = client.predict(handle_file(str(case.path)), api_name="/detect", blur=False)
        with Image.open(image_path) as output:
            pixels = np.asarray(output.convert("RGB"), dtype=int)
        # blur off: only the drawn box and label differ from the upright photo
        assert np.median(np.abs(pixels - upright)) < 4, n


def test_the_pixel_limit_is_named_in_the_apps_error(client: Client, corpus) -> None:
    bomb = next(c for c in corpus if c.name == "bomb_20000x20000")
    with pytest.raises(AppError, match="limit is 40 megapixels"):
        client.predict(handle_file(str(bomb.path)), api_name="/detect")
