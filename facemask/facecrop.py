"""The face crop the classifier expects, for users of other loaders (transformers, timm).

``MaskClassifier`` and the pipeline take care of cropping; a transformers or timm user who has a face
box from any detector calls :func:`face_crop` to cut the same square, with the training margin, that
training and the app cut.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image

from .config import Settings
from .io import ImageSource, load_image
from .preprocess import crop_face


def face_crop(image: ImageSource, box: Sequence[float], margin: float | None = None) -> Image.Image:
    """The square RGB crop around a face ``box`` (``x, y, w, h`` in pixels) that the model was trained on.

    ``image`` is a path, bytes, a Pillow image or an RGB array (decoded upright like every facemask
    input). The square is grown by ``margin`` of the box side on each side (default: the training margin,
    :attr:`Settings.crop_margin`), edges replicated where it leaves the image. Pass the result to
    ``pipeline("image-classification")``, to timm's eval transform, or (as an array) to
    :meth:`MaskClassifier.predict_proba`. Raises ``ValueError`` for a box outside the image.
    """
    pixels = load_image(image)
    crop = crop_face(pixels, box, Settings().crop_margin if margin is None else margin)
    return Image.fromarray(crop)
