"""The three classes, in the order the model's logits use, and how each is shown."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("with_mask", "without_mask", "incorrect_mask")
"""Class names in logit order. Everything (training, model config, app) uses this tuple."""

DISPLAY_NAMES: dict[str, str] = {
    "with_mask": "Mask",
    "without_mask": "No mask",
    "incorrect_mask": "Mask worn incorrectly",
}

# Okabe-Ito palette (RGB): distinguishable with the common colour-vision deficiencies.
# The label text is always drawn as well, so colour is never the only cue.
COLORS: dict[str, tuple[int, int, int]] = {
    "with_mask": (0, 114, 178),  # blue
    "without_mask": (213, 94, 0),  # vermillion
    "incorrect_mask": (240, 228, 66),  # yellow
}

SAFE_LABELS = frozenset({"with_mask"})
"""Labels that mean "protected"; calling an unmasked face one of these is the unsafe error."""


def label_index(name: str) -> int:
    """Index of ``name`` in :data:`LABELS`; raises ``ValueError`` for an unknown label."""
    try:
        return LABELS.index(name)
    except ValueError:
        raise ValueError(f"unknown label {name!r}; expected one of {', '.join(LABELS)}") from None
