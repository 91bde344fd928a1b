"""Video: blur coverage of face-frames and wall time, ours against deface on the same clip, in one run.

A 640x480 clip is made at run time in a temporary folder (never committed) from real crowd scenes of
``../shared/data/andrewmvd_dev``: each scene is shown for ``--seconds-per-scene`` while the view
pans across it and zooms in (an affine map per frame; the scenes are about 400 px wide, so they are
upscaled about 1.6-2x), with a 440 Hz sine sound track. The ground truth of each frame is the
scene's annotation boxes mapped by the same transform.

**Coverage**: a face-frame (an annotated face in one frame, short side >= ``--min-face`` px, its
centre inside the frame) counts as covered when at least 95 % of its eye region lies inside the
regions pixelated in that frame. The eye region is the one ``benchmarks/privacy_coverage.py`` judges
by: two squares (18 % of the box width) on the eye landmarks of a second, independent detector
(yuface) run on the frame, or, where it misses the face, the data set's calibrated band (rows 15-31 %
of the box height, middle 80 % of its width); the band alone is reported beside it. Our regions are read from
``--frames-jsonl`` (``blurred``: every pixelated region, carried ones included); deface's come from
running its CenterFace with its defaults on every frame (``benchmarks/deface_env.py``: the bounding
box of each blurred ellipse).

**Speed**: wall time of the whole command, start-up included, on the same clip: ``python -m
facemask video`` (writes the anonymised, annotated MP4 and the frames JSONL) and ``deface`` (writes
its anonymised video). Variants of ours (no tracking, no lookback, longer carry, detector on every 2nd
frame, the webcam's single detection pass) are timed in-process. ``frame px`` is the mean share of each frame that ends up pixelated
(the union of the regions): what the coverage costs in hidden picture.

Run: ``PYTHONPATH=. .venv/bin/python -m benchmarks.video_bench [--scenes 12] [--no-deface]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from benchmarks.privacy_coverage import EYE_BANDS, covered_share, eye_region, eye_squares, wilson
from facemask import Pipeline, Settings, load_image
from facemask.config import REPO_DIR, SHARED_DIR
from facemask.detect import YufaceDetector
from facemask.video import FrameRecord, anonymize_video, probe
from training.faces import match_boxes
from training.sources import andrewmvd

WIDTH, HEIGHT = 640, 480
MIN_COVER = 0.95
TARGET_COVERAGE = 0.98
TARGET_SPEED = 0.5
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class BenchClip:
    path: Path
    fps: int
    faces: list[list[Box]]
    """Annotated face boxes of each frame, in frame pixels."""


def view(scene_w: int, scene_h: int, t: float, direction: int) -> np.ndarray:
    """The affine map (2x3) from scene to frame at ``t`` in [0, 1]: zoom in from cover-size x1.0 to x1.25
    while panning from one side of the scene to the other (``direction`` -1 or 1)."""
    scale = max(WIDTH / scene_w, HEIGHT / scene_h) * (1.0 + 0.25 * t)
    spare_x, spare_y = scene_w * scale - WIDTH, scene_h * scale - HEIGHT
    u = t if direction > 0 else 1.0 - t
    return np.array([[scale, 0.0, -u * spare_x], [0.0, scale, -0.5 * spare_y]])


def map_box(box: Box, matrix: np.ndarray) -> Box:
    x, y, w, h = box
    scale = matrix[0, 0]
    return (scale * x + matrix[0, 2], scale * y + matrix[1, 2], scale * w, scale * h)


def build_clip(path: Path, data_dir: Path, scenes: int, seconds: float, fps: int, seed: int) -> BenchClip:
    """Write the panning/zooming clip of ``scenes`` landscape crowd scenes with a sine sound track."""
    items = [s for s in andrewmvd(data_dir) if len(s.faces) >= 3]
    rng = np.random.default_rng(seed)
    chosen = []
    for index in rng.permutation(len(items)):
        image = load_image(items[index].path)
        if image.shape[1] >= image.shape[0]:
            chosen.append((items[index], image))
        if len(chosen) == scenes:
            break
    per_scene = int(round(seconds * fps))
    truth: list[list[Box]] = []
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"crf": "18", "preset": "veryfast"}
        sound = container.add_stream("aac", rate=44100, layout="mono")
        index = 0
        for number, (item, image) in enumerate(chosen):
            for step in range(per_scene):
                matrix = view(image.shape[1], image.shape[0], step / max(per_scene - 1, 1), 1 if number % 2 else -1)
                frame = cv2.warpAffine(image, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
                truth.append([map_box(face.box, matrix) for face in item.faces])
                out = av.VideoFrame.from_ndarray(frame, format="rgb24")
                out.pts = index
                container.mux(video.encode(out))
                index += 1
        container.mux(video.encode(None))
        samples = int(round(index / fps * 44100))
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 44100)).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = 44100, start
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))
    return BenchClip(path, fps, truth)


def face_frames(clip: BenchClip, min_face: float) -> list[tuple[int, Box]]:
    """Every (frame, box) with the box's short side >= ``min_face`` and its centre inside the frame."""
    found = []
    for index, boxes in enumerate(clip.faces):
        for box in boxes:
            cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
            if min(box[2], box[3]) >= min_face and 0 <= cx < WIDTH and 0 <= cy < HEIGHT:
                found.append((index, box))
    return found


def eye_references(clip: BenchClip, targets: list[tuple[int, Box]], min_iou: float = 0.3) -> list[list[Box]]:
    """Each face-frame's eye reference, as in ``privacy_coverage``: two eye squares on the landmarks of a
    second, independent detector (yuface) where it finds the face, else the data set's calibrated band."""
    reference = YufaceDetector(Settings())
    band = EYE_BANDS["andrewmvd_dev"]
    by_frame: dict[int, list[int]] = {}
    for n, (index, _) in enumerate(targets):
        by_frame.setdefault(index, []).append(n)
    found: list[list[Box]] = [[] for _ in targets]
    with av.open(str(clip.path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index not in by_frame:
                continue
            located = [f for f in reference.detect(frame.to_ndarray(format="rgb24")) if f.landmarks is not None]
            members = by_frame[index]
            matches = match_boxes([targets[n][1] for n in members], [f.box for f in located], min_iou)
            for n, match in zip(members, matches):
                box = targets[n][1]
                found[n] = eye_squares(box, located[match].landmarks) if match is not None else [eye_region(box, band)]
    return found


def coverage(targets: list[tuple[int, Box]], regions: list[list[tuple[int, int, int, int]]],
             eyes: list[list[Box]] | None = None) -> dict[str, Any]:
    """Share of face-frames whose eye region is >= 95 % pixelated (``eyes``: the eye-square reference;
    else the calibrated band), with the sizes of the missed faces."""
    band = EYE_BANDS["andrewmvd_dev"]
    references = eyes if eyes is not None else [[eye_region(box, band)] for _, box in targets]
    missed = [(i, box) for (i, box), parts in zip(targets, references)
              if min(covered_share(part, regions[i], WIDTH, HEIGHT) for part in parts) < MIN_COVER]
    n, k = len(targets), len(targets) - len(missed)
    low, high = wilson(k, n)
    return {"face_frames": n, "covered": k, "share": round(k / n, 4) if n else None,
            "pixelated_frame_share": pixelated_share(regions),
            "ci95": [round(low, 4), round(high, 4)], "missed_sizes_px": sorted(round(min(b[2], b[3])) for _, b in missed)}


def pixelated_share(regions: list[list[tuple[int, int, int, int]]]) -> float:
    """Mean share of the frame that is pixelated (union of the regions): the price of the coverage."""
    shares = []
    for rects in regions:
        mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
        for x, y, w, h in rects:
            mask[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = True
        shares.append(float(mask.mean()))
    return round(float(np.mean(shares)), 4) if shares else 0.0


def our_regions(records: list[dict[str, Any]]) -> list[list[tuple[int, int, int, int]]]:
    return [[tuple(r) for r in record["blurred"]] for record in records]  # type: ignore[misc]


def run_cli(clip: Path, work: Path) -> tuple[float, list[dict[str, Any]], dict[str, Any]]:
    """Wall time of ``python -m facemask video`` (start-up included), its frame records and summary line."""
    out, frames = work / "ours.mp4", work / "ours.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "facemask", "video", str(clip), "--out", str(out), "--frames-jsonl",
                           str(frames)], capture_output=True, text=True, env=env, cwd=REPO_DIR)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"facemask video failed: {done.stderr[-600:]}")
    records = [json.loads(line) for line in frames.read_text().splitlines()]
    return seconds, records, json.loads(done.stdout.splitlines()[-1])


def run_variant(pipeline: Pipeline, clip: Path, work: Path, name: str) -> tuple[float, list[dict[str, Any]]]:
    records: list[FrameRecord] = []
    start = time.perf_counter()
    anonymize_video(pipeline, clip, work / f"{name}.mp4", on_frame=records.append)
    return time.perf_counter() - start, [r.to_dict() for r in records]


def deface_figures(clip: BenchClip, work: Path) -> dict[str, Any]:
    """deface's CLI wall time on the clip and its per-frame regions (CenterFace, its defaults)."""
    from benchmarks import deface_env

    seconds = deface_env.anonymize_video(clip.path, work / "deface.mp4")
    frames_dir = work / "frames"
    frames_dir.mkdir()
    paths = []
    with av.open(str(clip.path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            path = frames_dir / f"{index:05d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(frame.to_ndarray(format="rgb24"), cv2.COLOR_RGB2BGR))
            paths.append(path)
    detected = {Path(d.path).name: [tuple(r) for r in d.regions] for d in deface_env.detect_images(paths)}
    regions = [detected.get(p.name, []) for p in paths]
    out = probe(work / "deface.mp4")
    return {"seconds": seconds, "regions": regions, "output": {"frames": out.frames, "fps": out.fps,
                                                              "duration": out.duration, "audio": out.audio}}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=SHARED_DIR / "data")
    parser.add_argument("--scenes", type=int, default=12)
    parser.add_argument("--seconds-per-scene", type=float, default=1.0)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--min-face", type=float, default=24.0, help="short side (px) of the faces counted")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-deface", action="store_true", help="skip the peer")
    parser.add_argument("--no-variants", action="store_true", help="skip the in-process variants")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "artifacts" / "video_bench.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.data_dir / "andrewmvd_dev").is_dir():
        print(f"no andrewmvd_dev under {args.data_dir} (pass --data-dir)", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="facemask-video-bench-") as tmp:
        work = Path(tmp)
        clip = build_clip(work / "crowd.mp4", args.data_dir, args.scenes, args.seconds_per_scene, args.fps, args.seed)
        source = probe(clip.path)
        targets = face_frames(clip, args.min_face)
        eyes = eye_references(clip, targets)
        report["clip"] = {"frames": source.frames, "fps": source.fps, "size": [source.width, source.height],
                          "duration": source.duration, "scenes": args.scenes, "face_frames": len(targets)}
        seconds, records, summary = run_cli(clip.path, work)
        output = probe(work / "ours.mp4")
        report["ours"] = {
            "seconds": round(seconds, 2), "fps_processed": round(source.frames / seconds, 1),
            "coverage": coverage(targets, our_regions(records), eyes),
            "coverage_band": coverage(targets, our_regions(records)),
            "preserved": {key: getattr(output, key) == getattr(source, key)
                          for key in ("width", "height", "fps", "frames", "duration", "audio")},
            "summary": {"faces": summary["faces"], "face_frames": summary["face_frames"]},
        }
        if not args.no_variants:
            pipeline = Pipeline()
            variants = {"no tracking (frame by frame)": Settings(track_carry_frames=0, video_lookback_frames=0),
                        "carry forward only (no lookback)": Settings(video_lookback_frames=0),
                        "carry and lookback 16 frames": Settings(track_carry_frames=16, video_lookback_frames=16),
                        "detector every 2nd frame": Settings(video_detect_every=2),
                        "one detection pass per frame (as the webcam)": Settings(video_thorough_every=0),
                        "still-image passes on every frame": Settings(video_thorough_every=1),
                        "still-image passes on every 3rd frame": Settings(video_thorough_every=3),
                        "one frame analysed at a time": Settings(video_workers=1)}
            report["variants"] = {}
            for name, settings in variants.items():
                variant = Pipeline(settings, classifier=pipeline.classifier, detector=pipeline.detector)
                secs, recs = run_variant(variant, clip.path, work, name.replace(" ", "_"))
                report["variants"][name] = {"seconds_in_process": round(secs, 2),
                                            "coverage": coverage(targets, our_regions(recs), eyes),
                                            "coverage_band": coverage(targets, our_regions(recs))}
            secs, recs = run_variant(pipeline, clip.path, work, "default")
            report["variants"]["default (still-image passes on every 2nd frame, carry)"] = {
                "seconds_in_process": round(secs, 2), "coverage": coverage(targets, our_regions(recs), eyes),
                "coverage_band": coverage(targets, our_regions(recs))}
        if not args.no_deface:
            try:
                peer = deface_figures(clip, work)
                report["deface"] = {"seconds": round(peer["seconds"], 2),
                                    "fps_processed": round(source.frames / peer["seconds"], 1),
                                    "coverage": coverage(targets, peer["regions"], eyes),
                                    "coverage_band": coverage(targets, peer["regions"]), "output": peer["output"]}
                report["speed_ratio"] = round(seconds / peer["seconds"], 3)
            except Exception as exc:  # noqa: BLE001 - the peer is optional; say why it is missing
                report["deface"] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    clip = report["clip"]
    print(f"clip: {clip['frames']} frames, {clip['size'][0]}x{clip['size'][1]}, {clip['fps']:g} fps, "
          f"{clip['duration']} s, {clip['scenes']} scenes, {clip['face_frames']} face-frames")
    rows = [("facemask video (CLI)", report["ours"]["seconds"], report["ours"])]
    if "seconds" in report.get("deface", {}):
        rows.append(("deface (CLI)", report["deface"]["seconds"], report["deface"]))
    for name, row in report.get("variants", {}).items():
        rows.append((f"  ours, {name} (in-process)", row["seconds_in_process"], row))
    print(f"{'':52s} {'wall s':>7s} {'covered (eye squares)':>22s} {'(band)':>7s} {'frame px':>8s}  smallest missed")
    for name, seconds, row in rows:
        cov, band = row["coverage"], row["coverage_band"]
        print(f"{name:52s} {seconds:7.1f} {cov['share']:8.2%} ({cov['covered']:4d}/{cov['face_frames']}) "
              f"{band['share']:7.2%} {cov['pixelated_frame_share']:8.1%}  {cov['missed_sizes_px'][:6]}")
    print("preserved:", report["ours"]["preserved"])
    if "speed_ratio" in report:
        print(f"wall time ours / deface: {report['speed_ratio']:.2f} (target <= {TARGET_SPEED})")
    elif "deface" in report:
        print("deface:", report["deface"].get("error"))
    print(f"coverage target >= {TARGET_COVERAGE:.0%}: {'met' if report['ours']['coverage']['share'] >= TARGET_COVERAGE else 'MISSED'}")


if __name__ == "__main__":
    raise SystemExit(main())
