"""facemask: find every face in an image, classify its mask, and pixelate eyes and forehead.

The core shared by the app, training and the Hub tools; it never imports a UI library.
"""

from .config import Settings
from .detect import Face, FaceDetector, create_detector
from .facecrop import face_crop
from .io import ImageError, load_image
from .labels import LABELS
from .model import MaskClassifier
from .pipeline import DetectionResult, FaceResult, Pipeline

__all__ = [
    "LABELS",
    "DetectionResult",
    "Face",
    "FaceDetector",
    "FaceResult",
    "ImageError",
    "MaskClassifier",
    "Pipeline",
    "Settings",
    "create_detector",
    "face_crop",
    "load_image",
]
__version__ = "0.1.0"
