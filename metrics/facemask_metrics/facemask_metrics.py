"""Face-mask classification metrics: accuracy, macro-F1, the unsafe error, per-class scores and the confusion matrix."""

import datasets
import evaluate
import numpy as np

LABELS = ("with_mask", "without_mask", "incorrect_mask")
"""Class order of the facemask model (``config.json`` → ``label_names``): label index i is ``LABELS[i]``."""

_DESCRIPTION = """
Metrics of the facemask classifier, which sorts face crops into `with_mask`, `without_mask` and
`incorrect_mask` (label indices 0, 1, 2). Besides accuracy, macro-F1, per-class precision, recall, F1 and
support and the confusion matrix, it reports the unsafe error: the share of `without_mask` faces that were
called `with_mask`, the one mistake that tells someone without a mask that all is well.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): predicted label indices.
    references (`list` of `int`): true label indices.
    label_names (`list` of `str`, optional): the name of each label index; defaults to
        `["with_mask", "without_mask", "incorrect_mask"]`. With other names the unsafe error is computed
        only if both `without_mask` and `with_mask` are among them (else it is 0).
Returns:
    n (`int`): number of examples.
    accuracy (`float`): share of predictions equal to the reference.
    macro_f1 (`float`): mean F1 over the classes that occur in the references (0.0 if there are none).
    unsafe_error (`float`): share of `without_mask` references predicted `with_mask` (0.0 without any).
    unsafe_errors (`int`): number of `without_mask` references predicted `with_mask`.
    per_class (`dict`): for each label name, `precision`, `recall`, `f1` (0.0 where undefined) and `support`.
    confusion_matrix (`list` of `list` of `int`): row = reference, column = prediction, in label order.
Examples:
    >>> metric = evaluate.load("metrics/facemask_metrics")
    >>> results = metric.compute(predictions=[0, 0, 1, 0], references=[0, 1, 1, 2])
    >>> results["accuracy"], results["unsafe_error"], results["confusion_matrix"]
    (0.5, 0.5, [[1, 0, 0], [1, 1, 0], [1, 0, 0]])
"""

_CITATION = """\
@misc{facemask_metrics,
  title={facemask: face-mask detection with a privacy blur},
  note={Metric module of the facemask project},
  year={2026}
}
"""


def _ratio(numerator, denominator):
    """``numerator / denominator`` element-wise, 0.0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def facemask_scores(predictions, references, label_names=LABELS):
    """The metrics of ``predictions`` against ``references`` (label indices into ``label_names``), as a dict."""
    names = [str(name) for name in label_names]
    k = len(names)
    pred = np.asarray(predictions, dtype=np.int64).reshape(-1)
    true = np.asarray(references, dtype=np.int64).reshape(-1)
    if pred.shape != true.shape:
        raise ValueError(f"predictions ({pred.size}) and references ({true.size}) differ in length")
    for kind, values in (("predictions", pred), ("references", true)):
        if values.size and (values.min() < 0 or values.max() >= k):
            raise ValueError(f"{kind} must be label indices from 0 to {k - 1} ({', '.join(names)})")
    confusion = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
    correct = np.diag(confusion)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = _ratio(correct, predicted)
    recall = _ratio(correct, support)
    f1 = _ratio(2 * correct, support + predicted)
    present = support > 0
    unsafe, bare = 0, 0
    if "without_mask" in names and "with_mask" in names:
        bare_i, masked_i = names.index("without_mask"), names.index("with_mask")
        unsafe, bare = int(confusion[bare_i, masked_i]), int(support[bare_i])
    return {
        "n": int(true.size),
        "accuracy": float(_ratio(correct.sum(), true.size)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "unsafe_error": float(_ratio(unsafe, bare)),
        "unsafe_errors": unsafe,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(names)
        },
        "confusion_matrix": confusion.tolist(),
    }


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class FacemaskMetrics(evaluate.Metric):
    """Accuracy, macro-F1, unsafe error, per-class precision/recall/F1 and the confusion matrix."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("int32"),
                    "references": datasets.Value("int32"),
                }
            ),
            reference_urls=["https://huggingface.co/docs/evaluate/creating_and_sharing"],
        )

    def _compute(self, predictions, references, label_names=LABELS):
        return facemask_scores(predictions, references, label_names)
