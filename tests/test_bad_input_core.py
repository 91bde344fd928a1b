"""The core API on the bad-input corpus (tests/badinputs.py): a correct result or an ImageError with a clear message."""

from __future__ import annotations

import random

import numpy as np
import pytest

from facemask import ImageError, Settings, load_image
from tests.badinputs import Case, portrait, stored_for_orientation, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Case]:
    return write_corpus(tmp_path_factory.mktemp("badinputs"))


def _overlap(a, b) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


def test_corpus_covers_every_kind_the_issue_lists(corpus):
    names = {case.name for case in corpus}
    required = {
        "truncated", "text_named", "empty", "bomb_20000x20000", "cmyk", "gray16", "rgba_transparent", "palette",
        "animated", "grayscale", "pixel_1x1", "panorama_8000x500", "no_face", "faces_40",
        *(f"exif_orientation_{n}" for n in range(1, 9)),
    }
    assert required <= names and len(corpus) >= 30
    assert (next(c for c in corpus if c.name == "bomb_20000x20000").path.stat().st_size) < 4096


def test_bad_files_raise_image_error_with_a_clear_message(corpus):
    for case in (c for c in corpus if not c.ok):
        with pytest.raises(ImageError) as caught:
            load_image(case.path)
        message = str(caught.value).lower()
        assert case.error in message, (case.name, message)
        assert "traceback" not in message and len(message) < 200


def test_decompression_bombs_name_the_pixel_limit(corpus):
    limit = f"{Settings().max_pixels / 1e6:.0f} megapixels"
    for name in ("bomb_20000x20000", "bomb_60000x60000"):
        path = next(c.path for c in corpus if c.name == name)
        with pytest.raises(ImageError, match=limit):
            load_image(path)
        with pytest.raises(ImageError, match="limit is 1 megapixels"):
            load_image(path.read_bytes(), Settings(max_pixels=1_000_000))


def test_pixel_limit_refuses_an_image_just_over_it(corpus):
    path = next(c.path for c in corpus if c.name == "exif_orientation_1")
    with pytest.raises(ImageError, match="too large"):
        load_image(path, Settings(max_pixels=384 * 512 - 1))
    assert load_image(path, Settings(max_pixels=384 * 512)).shape == (512, 384, 3)


def test_unusual_files_decode_to_upright_rgb_of_the_right_size(corpus):
    for case in (c for c in corpus if c.ok):
        image = load_image(case.path)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, case.name
        assert (image.shape[1], image.shape[0]) == case.size, case.name


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_rotated_photos_come_back_upright(corpus, orientation):
    path = next(c.path for c in corpus if c.name == f"exif_orientation_{orientation}")
    upright = portrait()
    loaded = load_image(path)
    assert loaded.shape == upright.shape
    assert np.abs(loaded.astype(int) - upright.astype(int)).mean() < 4  # JPEG noise only
    if orientation != 1:  # the stored pixels really are turned: ignoring EXIF would be caught
        stored = stored_for_orientation(upright, orientation)
        assert stored.shape != upright.shape or np.abs(stored.astype(int) - upright.astype(int)).mean() > 20


def test_pipeline_finds_the_face_where_it_is_on_every_decodable_file(corpus, pipeline):
    for case in (c for c in corpus if c.ok):
        image = load_image(case.path)
        result = pipeline.analyze(image)
        output = pipeline.render(image, result)
        assert output.shape == image.shape, case.name
        if case.faces is not None:
            assert len(result.faces) == case.faces, (case.name, len(result.faces))
        assert len(result.faces) >= case.min_faces, (case.name, len(result.faces))
        if case.face_box is not None:
            assert _overlap(result.faces[0].box, case.face_box) > 0.6, (case.name, result.faces[0].box)
        for face in result.faces:
            assert face.blur is not None and sum(face.scores.values()) == pytest.approx(1.0, abs=1e-3)


def test_bytes_and_file_objects_give_the_same_answers_as_paths(corpus):
    for case in corpus:
        data = case.path.read_bytes()
        if case.ok:
            assert np.array_equal(load_image(data), load_image(case.path)), case.name
        else:
            with pytest.raises(ImageError):
                load_image(data)
            with case.path.open("rb") as handle:
                with pytest.raises(ImageError):
                    load_image(handle)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the corrupt EXIF it skips
def test_damaged_copies_of_valid_files_raise_only_image_error(corpus):
    """Truncations and random byte changes of every valid file: an image or an ImageError, nothing else."""
    rng = random.Random(6)
    for case in (c for c in corpus if c.ok):
        data = case.path.read_bytes()
        cuts = {8, 24, 60, 200, len(data) // 3, len(data) - 3}
        variants = [data[:n] for n in cuts if n < len(data)]
        for _ in range(6):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 12)):
                damaged[rng.randrange(min(len(damaged), 1500))] = rng.randrange(256)
            variants.append(bytes(damaged))
        for variant in variants:
            try:
                image = load_image(variant)
            except ImageError as exc:
                assert str(exc), case.name
            else:
                assert image.dtype == np.uint8 and image.shape[2] == 3, case.name


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((0, 10, 3), np.uint8),
        np.zeros((10, 10, 2), np.uint8),
        np.zeros((4, 4, 4, 3), np.uint8),
    ],
    ids=["no-rows", "two-channels", "four-dims"],
)
def test_unusable_arrays_raise_image_error(array):
    with pytest.raises(ImageError):
        load_image(array)
