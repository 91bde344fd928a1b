"""The model card (``README.md`` of the model folder), written from ``metrics.json`` with huggingface_hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from facemask.config import Settings
from facemask.labels import LABELS

REPO_ID = "facemask/facemask-mobilenetv2"
DATASET_ID = "facemask/facemask-face-crops"
SPACE_ID = "facemask/facemask-demo"
"""The demo Space (``python -m hub deploy-space``), in the card's gradio_client snippet."""


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _ci(ci: Any) -> str:
    return f"[{_pct(ci[0])}, {_pct(ci[1])}]"


def card_data(metrics: dict[str, Any]) -> ModelCardData:
    """YAML metadata with a ``model-index`` of the headline results."""
    s = metrics["summary"]
    name = "facemask-mobilenetv2"
    results = [
        EvalResult("image-classification", DATASET_ID, "face-mask face crops", "f1", round(s["test_macro_f1"], 4), dataset_split="test", metric_name="macro F1"),
        EvalResult("image-classification", DATASET_ID, "face-mask face crops", "accuracy", round(s["test_accuracy"], 4), dataset_split="test"),
    ]
    if "andrewmvd_test_macro_f1_ge32px" in s:
        results.append(
            EvalResult("image-classification", "andrewmvd/face-mask-detection", "andrewmvd real crowd scenes (held-out scenes, faces >= 32 px, whole pipeline)", "f1", round(s["andrewmvd_test_macro_f1_ge32px"], 4), dataset_split="test", metric_name="macro F1")
        )
    if "closeups_test_macro_f1" in s:
        results.append(
            EvalResult("image-classification", "closeups_dev", "real close-ups (held out, whole pipeline, main face)", "f1", round(s["closeups_test_macro_f1"], 4), dataset_split="test", metric_name="macro F1")
        )
    if "dataroots_test_accuracy" in s:
        results.append(
            EvalResult("image-classification", "datarootsio/tutorial-face-mask-detection", "dataroots real scenes (whole pipeline, mask vs no mask)", "accuracy", round(s["dataroots_test_accuracy"], 4), dataset_split="test")
        )
    return ModelCardData(
        library_name="timm",
        license="cc-by-nc-sa-4.0",
        pipeline_tag="image-classification",
        tags=["image-classification", "timm", "face-mask-detection", "mobilenetv2", "onnx"],
        datasets=[DATASET_ID],
        metrics=["f1", "accuracy"],
        model_name=name,
        eval_results=results,
    )


def _metrics_table(block: dict[str, Any]) -> str:
    lines = ["| class | precision | recall | F1 | support |", "| --- | --- | --- | --- | --- |"]
    for label, m in block["per_class"].items():
        lines.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    return "\n".join(lines)


def _slices_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| slice | value | faces | accuracy | 95% CI | unsafe errors / bare faces |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['slice']} | {r['value']} | {r['n']} | {_pct(r['accuracy'])} | {_ci(r['accuracy_ci95'])} | {r['unsafe_errors']} / {r['without_mask_n']} |")
    return "\n".join(lines)


def _scenes_table(scenes: dict[str, Any]) -> str:
    lines = [
        "| scenes | images | annotated faces | detector recall | per-face accuracy | per-face macro-F1 | faces >= 32 px: recall / macro-F1 / unsafe |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in scenes.items():
        if "detector" not in m:  # close-ups: one row per photo (see _closeups_table)
            continue
        d, f, big, bigd = m["detector"], m["faces"], m["faces_ge32px"], m["detector_ge32px"]
        lines.append(
            f"| {name} | {m['images']} | {d['n']} | {_pct(d['recall'])} {_ci(d['recall_ci95'])} | {_pct(f['accuracy'])} | {f['macro_f1']:.3f} "
            f"| {_pct(bigd['recall'])} / {big['macro_f1']:.3f} / {_pct(big['unsafe_error_rate'])} ({big['unsafe_errors']}) |"
        )
    return "\n".join(lines)


def _size_table(scenes: dict[str, Any]) -> str:
    lines = ["| scenes | face size | faces | detector recall | accuracy of detected |", "| --- | --- | --- | --- | --- |"]
    for name, m in scenes.items():
        if not name.endswith("test") or "by_size" not in m:
            continue
        for size, b in m["by_size"].items():
            acc = "n/a" if b["accuracy"] is None else f"{_pct(b['accuracy'])} {_ci(b['accuracy_ci95'])}"
            lines.append(f"| {name} | {size} | {b['n']} | {_pct(b['recall'])} | {acc} |")
    return "\n".join(lines)


def _closeups_table(scenes: dict[str, Any]) -> str:
    lines = [
        "| close-ups | photos | macro-F1 | `incorrect_mask` recall | unsafe error | no face found | macro-F1 where a face was found |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in scenes.items():
        if "no_face_rate" not in m:
            continue
        lines.append(
            f"| {name} | {m['images']} | {m['macro_f1']:.3f} | {m['incorrect_recall']:.3f} | {_pct(m['unsafe_error_rate'])} "
            f"({m['unsafe_errors']}) | {_pct(m['no_face_rate'])} ({m['no_face']}) | {m['found']['macro_f1']:.3f} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def _closeups_section(scenes: dict[str, Any]) -> str:
    table = _closeups_table(scenes)
    if not table:
        return ""
    return (
        "Real close-ups (`closeups_dev`, photos of one person as a visitor uploads them), whole pipeline, the main face "
        "(largest, most central shown detection) against the photo's label. A photo where no face is shown counts as a "
        "miss of its class.\n\n" + table
    )


def _data_table(metrics: dict[str, Any]) -> str:
    counts = metrics.get("data", {}).get("split_counts", {})
    sources = sorted({k.split("/")[1] for k in counts})
    lines = ["| source | split | " + " | ".join(LABELS) + " |", "| --- | --- | " + " | ".join("---" for _ in LABELS) + " |"]
    for source in sources:
        for split in ("train", "validation", "test"):
            lines.append(f"| {source} | {split} | " + " | ".join(str(counts.get(f"{split}/{source}/{lab}", 0)) for lab in LABELS) + " |")
    return "\n".join(lines)


def _weights_text(weights: dict[str, float]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(weights.items())) or "none"


def _selection_text(config: dict[str, Any]) -> str:
    if "select_real_share" in config:  # older runs
        share = config["select_real_share"]
        return "validation macro-F1" if not share else f"a blend of validation macro-F1 ({1 - share:.0%}) and its real-photo part ({share:.0%})"
    return "the real validation faces' score (below; synthetic faces take no part)"


def _training_text(metrics: dict[str, Any]) -> str:
    c = metrics["config"]
    text = (
        f"Fine-tuned from ImageNet weights for up to {c['epochs']} epochs of {c['samples_per_epoch']} faces drawn with class-balancing "
        f"weights (source weights {_weights_text(c.get('source_weight') or ({'real crowd faces': c['real_weight']} if 'real_weight' in c else {}))}, real incorrect_mask faces x{c.get('real_incorrect_weight', 1.0)}), "
        f"AdamW lr {c['lr']}, cosine schedule, label smoothing {c['label_smoothing']}, "
        f"stem + first {c['frozen_blocks']} stages frozen, early stopping on {_selection_text(c)} "
        f"(patience {c['patience']}; no new epoch once it would end past {c['train_budget_s']:.0f} s of training)"
        + (f", validating and keeping an exponential moving average of the weights (decay {c['ema_decay']}). " if c.get("ema_decay") else ". ")
        + "Augmentation on the uint8 crop before the shared resize + normalise: crop-box scale/shift, small rotation, flip, "
        "downscale-then-upscale to tiny faces, Gaussian blur, colour jitter, JPEG re-compression."
    )
    training = metrics.get("training", {})
    if "best_epoch" in training:
        text += f" Best epoch: {training['best_epoch']} (validation macro-F1 {training['best_val_macro_f1']:.4f})."
    calibration = training.get("calibration")
    if calibration and "method" in calibration:
        before, after = calibration["before"], calibration["after"]
        text += (
            f"\n\nDecision rule, learnt from real photos only: per-class logit offsets {calibration['logit_bias']} (for {list(LABELS)}), "
            f"**folded into the classifier's bias** in `model.safetensors` and `model.onnx`, so timm, transformers and `facemask` "
            f"load the same weights and give the same probabilities. They were chosen on {calibration['decision_faces']} real "
            f"validation faces (the real-photo sources' validation faces, three classes, plus {calibration['two_class_faces']} dataroots "
            f"validation faces, masked or not; {calibration['real_incorrect_faces']} real `incorrect_mask`), by "
            f"{calibration['method']}, to maximise macro-F1 (blended {calibration['two_class_share']:.0%} with dataroots' masked / not "
            f"masked accuracy) minus {calibration['unsafe_weight']} x the unsafe-error rate. The same score, with the best offsets, "
            f"chose the epoch. On those faces: macro-F1 {before['macro_f1']:.3f} → {after['macro_f1']:.3f}, `incorrect_mask` recall "
            f"{before['incorrect_recall']:.3f} → {after['incorrect_recall']:.3f}, unsafe error {_pct(before['unsafe_error_rate'])} → "
            f"{_pct(after['unsafe_error_rate'])}."
        )
        cv = calibration.get("cross_validation")
        if cv:
            text += (
                f" Cross-validation: held-out score {cv['held_out_score_chosen']:.3f} with the fold-chosen offsets vs "
                f"{cv['held_out_score_no_offset']:.3f} without ({'kept' if cv['kept'] else 'not kept: no offset'})."
            )
    elif calibration:
        text += (
            f"\n\nDecision rule: per-class logit offsets {calibration['logit_bias']} (folded into the classifier's bias in the weights; for "
            f"{list(LABELS)}), chosen on the validation split to maximise macro-F1 minus {calibration['unsafe_weight']} x the unsafe-error rate."
        )
    return text


def _uses_rwmfd(metrics: dict[str, Any]) -> bool:
    return "rwmfd" in metrics.get("config", {}).get("sources", ())


SOURCE_ROWS: dict[str, tuple[str, str, str]] = {
    "andrewmvd_dev": ("andrewmvd face-mask-detection (half of it, `andrewmvd_dev`)", "real crowd scenes, annotated face boxes", "all three"),
    "chandrikadeb7": ("chandrikadeb7/Face-Mask-Detection", "real web photos, one folder per class", "with / without"),
    "maskedfacenet": ("MaskedFace-Net (subset)", "**synthetic** masks pasted onto FFHQ faces", "all three"),
    "rwmfd": (
        "Real-World Masked Face Dataset part 1 (`rwmfd`)",
        "real web photos of masked people, faces labelled here (`training/reviews/`)",
        "all three",
    ),
    "closeups_dev": (
        "real close-ups (`closeups_dev`, half of it)",
        "real photos of one person, face near the centre, labelled per photo (Kaggle Humans-in-the-Loop medical "
        "masks and coffee124 face-mask-N95, via youyinnn/ai_face_mask_detector)",
        "all three",
    ),
}
"""How the card names and describes each training source; licences and sharing come from :data:`training.sources.SOURCE_INFO`."""


def _sources_table(metrics: dict[str, Any]) -> str:
    from .sources import SOURCE_INFO

    lines = ["| source | kind | classes | license | may be shared |", "| --- | --- | --- | --- | --- |"]
    for name in metrics.get("config", {}).get("sources", ()):
        title, kind, classes = SOURCE_ROWS.get(name, (f"`{name}`", "", ""))
        info = SOURCE_INFO.get(name)
        license_ = info.license if info else "unknown"
        shared = "yes (in the published dataset)" if info and info.publishable else "**no**: train and evaluate only"
        lines.append(f"| {title} | {kind} | {classes} | {license_} | {shared} |")
    if metrics.get("training", {}).get("calibration", {}).get("two_class_faces"):
        info = SOURCE_INFO["dataroots_scenes"]
        lines.append(
            "| dataroots scenes (`dataroots_scenes`; never trained on) | real stock photos with face boxes: its `validation` faces "
            f"took part in choosing the epoch and the decision rule, its `test` faces only measure | masked / not masked | {info.license} | "
            "not in the published dataset (published by its authors) |"
        )
    return "\n".join(lines)


def _unshared_text(metrics: dict[str, Any]) -> str:
    from .sources import SOURCE_INFO

    held = [n for n in metrics.get("config", {}).get("sources", ()) if n in SOURCE_INFO and not SOURCE_INFO[n].publishable]
    if not held:
        return "Every training source may be redistributed; the published dataset holds all of them."
    reasons = "; ".join(f"`{n}`: {SOURCE_INFO[n].reason}" for n in held)
    return (
        f"**Data that cannot be shared.** The model was also trained on {', '.join(f'`{n}`' for n in held)}, which may be "
        f"used to train and evaluate but not redistributed ({reasons}). Those crops are left out of the published "
        "dataset (its card says how many), so the published data alone does not reproduce this model exactly."
    )


def _real_incorrect_text(metrics: dict[str, Any]) -> str:
    counts = metrics.get("data", {}).get("split_counts", {})
    sources = [s for s in ("closeups_dev", "andrewmvd_dev", "rwmfd") if s in metrics.get("config", {}).get("sources", ())]
    parts = [f"{sum(v for k, v in counts.items() if k.endswith(f'/{s}/incorrect_mask'))} in `{s}`" for s in sources]
    return ", ".join(parts) + " (all splits)" + _rwmfd_text(metrics)


def _closeup_fallbacks(metrics: dict[str, Any]) -> str:
    crops = metrics.get("data", {}).get("crops", {})
    return (
        f"{crops.get('closeups_dev:detector', 0)} by the detector, {crops.get('closeups_dev:tight_crop', 0)} on the padded photo, "
        f"{crops.get('closeups_dev:whole_image', 0)} as the centred square"
    )


def _rwmfd_text(metrics: dict[str, Any]) -> str:
    if not _uses_rwmfd(metrics):
        return ""
    return (
        "; RWMFD's were found by review (RWMFD has no labels: the faces our detector finds were "
        "labelled by a person where the classifier disagreed with \"masked\", 237 reviewed and 140 kept, and taken "
        "as `with_mask` where it agreed, a 48-face sample being all correct; see `training/reviews/README.md`)"
    )


def usage_section(size: int) -> str:
    """The card's "How to use": one snippet per loader, each run as printed by ``tests/test_interop.py``."""
    return f"""## How to use

The model classifies a **square face crop with a margin of {Settings().crop_margin:.0%} of the face box on each side**, the crop
training and the app cut. `facemask.face_crop(image, box)` (the project's `facemask` package) cuts it from
a photo and a face box `(x, y, w, h)` from any face detector; `facemask.create_detector()` finds the boxes.
Resize ({size} px), interpolation, crop and ImageNet mean/std come from `pretrained_cfg` in `config.json`,
so every loader below prepares the crop the same way and gives the same probabilities (to 1e-3, checked
by the project's tests); the decision rule is in the weights. Labels: {list(LABELS)}.

With transformers (`pipeline` or `AutoModelForImageClassification`; it loads as a timm model):

```python
from transformers import pipeline
from facemask import create_detector, face_crop, load_image

classify = pipeline("image-classification", model="{REPO_ID}")
image = load_image("photo.jpg")
crops = [face_crop(image, face.box) for face in create_detector().detect(image)]
for answer in classify(crops):
    print(answer[0]["label"], round(answer[0]["score"], 3))
```

With timm and its own eval transform:

```python
import timm
import torch
from facemask import create_detector, face_crop, load_image

model = timm.create_model("hf-hub:{REPO_ID}", pretrained=True).eval()
transform = timm.data.create_transform(**timm.data.resolve_data_config({{}}, model=model))
labels = model.pretrained_cfg["label_names"]
image = load_image("photo.jpg")
crops = [face_crop(image, face.box) for face in create_detector().detect(image)]
with torch.inference_mode():
    probs = model(torch.stack([transform(crop) for crop in crops])).softmax(-1)
for p in probs:
    print(labels[int(p.argmax())], round(float(p.max()), 3))
```

With `facemask` (ONNX Runtime when `model.onnx` is in the repo, else PyTorch; or the whole app pipeline:
detect, classify and privacy blur):

```python
import numpy as np
from facemask import MaskClassifier, Pipeline, Settings, face_crop

classifier = MaskClassifier.from_pretrained("{REPO_ID}")
crop = face_crop("photo.jpg", box=(75, 79, 88, 107))
print(dict(zip(classifier.labels, classifier.predict_proba([np.asarray(crop)])[0].round(3).tolist())))

annotated, result = Pipeline(Settings(model="{REPO_ID}"))("photo.jpg")
print(result.summary())
```

From the demo Space, with `gradio_client` (nothing to install but the client):

```python
from gradio_client import Client, handle_file

client = Client("{SPACE_ID}")
annotated_path, results = client.predict(handle_file("photo.jpg"), api_name="/detect")
print(results["summary"])
for face in results["faces"]:
    print(face["label"], face["scores"], face["box"])
```

Command line: `python -m facemask detect --model {REPO_ID} --out out/ photo.jpg` (JSON lines; annotated
images with the privacy blur) and `python -m facemask classify --model {REPO_ID} crop.jpg`."""


def render(metrics: dict[str, Any], confusion_png: str, slices_png: str) -> str:
    """The Markdown body of the card."""
    s, test, speed = metrics["summary"], metrics["test"], metrics["speed"]
    data = metrics.get("data", {})
    dedupe = data.get("dedupe", {})
    scenes = metrics.get("scenes", {})
    size = speed["input_size"]
    t = metrics.get("timings_s", {})
    body = f"""
# facemask-mobilenetv2

A face-mask classifier for face crops: `with_mask`, `without_mask` or `incorrect_mask` (mask under the
nose or on the chin). It is timm's MobileNetV2 (`mobilenetv2_100`, ImageNet weights) fine-tuned on
{size}x{size} face crops, the second stage of the facemask app: a face detector
(OpenCV YuNet) finds faces, this model classifies each crop, and the app pixelates eyes and forehead.

## Intended use

Counting or flagging mask use in photos and video frames of people who know they are being analysed
(e.g. an entrance display, a study of mask wearing in public photos), always with a human in the loop.
**Not** for decisions about individuals (access control, discipline, fines), not for surveillance or
identification, and not for medical or safety certification: the model only looks at a face crop, it
cannot tell a filtering respirator from a scarf.

{usage_section(size)}

## Training data

Face crops cut with the app's own detector and cropper (so training sees what inference sees), from:

{_sources_table(metrics)}

{_unshared_text(metrics)}

Because MaskedFace-Net is CC BY-NC-SA 4.0 and the model was trained on it, the weights are released
under **CC BY-NC-SA 4.0**: non-commercial use only, share alike. Real incorrectly worn masks:
{_real_incorrect_text(metrics)}; the synthetic MaskedFace-Net ones transfer poorly to real photos.

Preparation: annotated andrewmvd faces are matched to detector boxes (IoU >= {metrics['config']['det_match_iou']}); faces the
detector misses use the annotation box moved to detector geometry. Close-ups (`closeups_dev`) take the main face
(the largest, most central detection) the app's detector finds, else the face found on the padded photo, else the
photo's centred square ({_closeup_fallbacks(metrics)}). chandrikadeb7 images keep their one
confident face; images with several faces are dropped (the folder label need not hold for each), and images
without a detection are kept only if they are already a tight face crop. Exact duplicates removed:
{dedupe.get('exact_duplicate_files_removed', 0)} files and {dedupe.get('identical_crops_removed', 0)} pixel-identical crops;
near-duplicates (pHash distance <= {metrics['config']['phash_max_distance']}) are grouped
({dedupe.get('near_duplicate_faces_merged', 0)} faces in {dedupe.get('near_duplicate_groups', 0)} groups,
{dedupe.get('near_duplicate_scenes_merged', 0)} andrewmvd scenes in {dedupe.get('near_duplicate_scene_groups', 0)} groups) and a group never spans two
splits. Split 70/15/15 (seed {metrics['config']['seed']}), stratified by source and class, scenes by photo.

{_data_table(metrics)}

## Training

{_training_text(metrics)}

## Evaluation

Metrics are computed with the `evaluate` module `facemask_metrics` (`metrics/facemask_metrics` in the project,
also published as a metric Space: `evaluate.load("<owner>/facemask_metrics")`). Unsafe error = a `without_mask`
face called `with_mask`, as a share of `without_mask` faces.

### Test split (face crops)

Macro-F1 **{s['test_macro_f1']:.4f}**, accuracy {s['test_accuracy']:.4f}, unsafe error
**{_pct(s['test_unsafe_error_rate'])}** ({test['all']['unsafe_errors']} of {test['all']['per_class']['without_mask']['support']}).

{_metrics_table(test['all'])}

Real photos only: macro-F1 {test['data=real']['macro_f1']:.3f} (n={test['data=real']['n']}); synthetic only: macro-F1
{test['data=synthetic']['macro_f1']:.3f} (n={test['data=synthetic']['n']}); real andrewmvd crowd faces only:
macro-F1 {test['source=andrewmvd_dev']['macro_f1']:.3f} (n={test['source=andrewmvd_dev']['n']}).

![confusion matrix]({confusion_png})

### Whole pipeline on real scenes

The detector + classifier exactly as the app runs them (`facemask.Pipeline`, default thresholds) on real
scenes the model never trained on: andrewmvd held-out scenes (3 classes) and dataroots stock photos (2
classes: `with_mask` vs the rest). An annotated face counts as detected when a shown detection overlaps
it with IoU >= {metrics['scene_match_iou']}; per-face metrics are over detected faces. Validation rows were used
for choices; test rows are reported once.

{_scenes_table(scenes) if scenes else "(not run: the data sets were not available)"}

{_closeups_section(scenes)}

{_size_table(scenes) if scenes else ""}

### Bias report (test split, with counts and 95% Wilson intervals)

Mask colour is a rough estimate from the lower-face patch of the crop (dark / light / patterned: strong texture or
hue variation, which also catches some plain masks with folds or shadows); blur is the variance of the Laplacian of
the crop at 96 px. No demographic attributes are labelled in any of the data sets, so none are sliced here.

{_slices_table(metrics['slices_test'])}

![accuracy by slice]({slices_png})

## Limits: where the model is weak, and what not to use it for

- **Small faces.** Below 32 px faces are detected less often and classified less reliably (see the size tables);
  most faces in crowd photos are that small.
- **Real incorrectly worn masks.** Most `incorrect_mask` training examples are synthetic; real ones are few, so
  this class has wide intervals and the lowest F1 on real photos.
- **Framing and sources.** Training photos are web and stock photos of mostly adult faces; no demographic labels
  exist in the data, so performance across age, skin tone or gender could not be measured. Do not assume it is
  equal.
- Hands, scarves or other objects over the mouth may be read as a mask (the real data itself has such labels).
- Not for decisions about individuals, surveillance or identification, or any medical claim about protection.
- **Privacy blur (the app, not this model).** Only faces the detector finds are pixelated. On 700 real scenes
  (`andrewmvd_dev` + `dataroots_scenes`, measured beside deface 1.5.0 in one run, `benchmarks/privacy_coverage.py`):
  93.5 % of all annotated faces and 98.6 % of faces of 32 px or more have both eyes pixelated (deface: 90.1 % /
  98.6 %), with 0.91 pixelated regions per image touching no annotated face (deface: 0.93). Not covered: about
  1.5 % of faces of 32 px or more (strong profiles, faces cut by the frame) and about 10 % of smaller crowd faces.

## Speed

ONNX Runtime, batch 1, one face: {speed['onnx_ms_per_face_batch1']:.2f} ms (PyTorch: {speed['torch_ms_per_face_batch1']:.2f} ms), on a
2-core CPU shared with other jobs.

## Reproduce

```bash
{metrics['command']}
```

Hyper-parameters: `training/config.yaml` (copied into `metrics.json` → `config`). Timings of that run (2-core
CPU): {", ".join(f"{k} {v:.0f} s" for k, v in t.items()) or "n/a"}.
"""
    return body


def write_model_card(model_dir: Path, metrics: dict[str, Any], confusion_png: str, slices_png: str) -> Path:
    """Write ``model_dir/README.md``."""
    card = ModelCard(f"---\n{card_data(metrics).to_yaml()}\n---\n{render(metrics, confusion_png, slices_png)}")
    path = model_dir / "README.md"
    card.save(path)
    return path
