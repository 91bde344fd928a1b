"""Load test of the app's ``/detect`` API: many concurrent ``gradio_client`` users against one server.

Phase 1, users: ``--users`` clients (own session each) send ``--requests`` photos each, as fast as
answers come, cycling through the repo's test photos; every answer is checked (faces found, image
size). Phase 2, streams: ``--streams`` simulated webcams send a 640 x 480 frame every
``1 / --fps`` s for ``--stream-seconds`` (a frame is skipped while the previous one is still
pending, as Gradio's webcam does), through ``/detect`` since ``gradio_client`` cannot drive a
streaming event. Reported: errors, wrong answers, latency percentiles, throughput, frames answered
per stream, and the server process's peak resident memory (sampled every 0.1 s).

The server is started here on 127.0.0.1 (or ``--url`` names a running one, loopback only), its
queue as the app configures it. Bounded: at most ``--users x --requests`` requests, ``--timeout``
seconds in all, ``--request-timeout`` per request.

Run: ``python -m benchmarks.load_test [--users 32 --requests 10] [--out artifacts/load_test.json]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from PIL import Image

from facemask.config import REPO_DIR

TEST_DATA = REPO_DIR / "tests" / "data"
EXPECTED_FACES = {"astronaut.jpg": 1, "astronaut_masked.jpg": 1, "group.jpg": 6, "no_face.jpg": 0}
"""The repo's test photos and how many faces each holds."""
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Outcome:
    """One request: who sent what, how long the answer took, and what was wrong with it (if anything)."""

    kind: str
    client: int
    image: str
    started: float
    seconds: float
    error: str | None = None


def check_answer(answer: Any, image: Path, expected_faces: int | None) -> str | None:
    """Why a ``/detect`` answer is wrong for ``image``, or ``None`` when it is right."""
    output_path, results = answer
    with Image.open(image) as sent, Image.open(output_path) as output:
        size, output_size = sent.size, output.size
    if output_size != size:
        return f"output size {output_size} != input size {size}"
    if (results["width"], results["height"]) != size:
        return "results give the wrong image size"
    if expected_faces is not None and len(results["faces"]) != expected_faces:
        return f"{len(results['faces'])} faces instead of {expected_faces}"
    for face in results["faces"]:
        if abs(sum(face["scores"].values()) - 1.0) > 1e-3:
            return "probabilities do not sum to 1"
    return None


def _request(client: Any, kind: str, number: int, image: Path, expected: int | None, timeout: float) -> Outcome:
    from gradio_client import handle_file

    started = time.perf_counter()
    try:
        answer = client.submit(handle_file(str(image)), api_name="/detect").result(timeout=timeout)
        error = check_answer(answer, image, expected)
    except Exception as exc:  # every failure is counted, none stops the run
        error = f"{type(exc).__name__}: {exc}"[:300]
    return Outcome(kind, number, image.name, started, time.perf_counter() - started, error)


def _client(url: str, downloads: Path) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, download_files=str(downloads))


def user_session(url: str, user: int, requests: int, downloads: Path, deadline: float, timeout: float) -> list[Outcome]:
    """One user: a client of its own, ``requests`` photos one after another."""
    try:
        client = _client(url, downloads / f"user{user}")
    except Exception as exc:
        return [Outcome("user", user, "-", time.perf_counter(), 0.0, f"connect: {type(exc).__name__}: {exc}"[:300])]
    names = list(EXPECTED_FACES)
    outcomes = []
    for index in range(requests):
        if time.perf_counter() > deadline:
            outcomes.append(Outcome("user", user, "-", time.perf_counter(), 0.0, "not sent: the run's time is up"))
            continue
        name = names[(user + index) % len(names)]
        outcomes.append(_request(client, "user", user, TEST_DATA / name, EXPECTED_FACES[name], timeout))
    return outcomes


def run_users(url: str, users: int, requests: int, downloads: Path, budget_s: float, timeout: float) -> list[Outcome]:
    """``users`` concurrent sessions of ``requests`` requests each."""
    deadline = time.perf_counter() + budget_s
    with ThreadPoolExecutor(max_workers=users) as pool:
        sessions = [pool.submit(user_session, url, u, requests, downloads, deadline, timeout) for u in range(users)]
        return [outcome for session in sessions for outcome in session.result()]


def webcam_frame(folder: Path) -> Path:
    """A 640 x 480 JPEG frame with the masked astronaut's head in it."""
    canvas = np.full((480, 640, 3), 120, dtype=np.uint8)
    head = np.asarray(Image.open(TEST_DATA / "astronaut_masked.jpg").convert("RGB"))[20:300, 90:370]
    canvas[100:380, 180:460] = head
    path = folder / "frame.jpg"
    Image.fromarray(canvas).save(path, quality=80)
    return path


def run_streams(url: str, streams: int, seconds: float, fps: float, downloads: Path, timeout: float) -> list[Outcome]:
    """``streams`` simulated webcams at ``fps`` for ``seconds``, each skipping frames while one is pending."""
    frame = webcam_frame(downloads)

    def stream(number: int) -> list[Outcome]:
        client = _client(url, downloads / f"stream{number}")
        outcomes: list[Outcome] = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            tick = time.perf_counter()
            outcomes.append(_request(client, "stream", number, frame, 1, timeout))
            time.sleep(max(0.0, 1.0 / fps - (time.perf_counter() - tick)))
        return outcomes

    with ThreadPoolExecutor(max_workers=max(streams, 1)) as pool:
        return [o for result in pool.map(stream, range(streams)) for o in result]


class PeakMemory:
    """Samples a process's resident memory (with its children) in a background thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.start_rss = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        import psutil

        try:
            return self.process.memory_info().rss + sum(c.memory_info().rss for c in self.process.children(recursive=True))
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def summarise(outcomes: list[Outcome], wall_s: float) -> dict[str, Any]:
    """Counts, error kinds and latency percentiles of a phase."""
    answered = [o for o in outcomes if o.error is None]
    latencies = np.array([o.seconds for o in answered]) if answered else np.zeros(0)
    errors: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.error is not None:
            errors[outcome.error] = errors.get(outcome.error, 0) + 1
    summary: dict[str, Any] = {
        "requests": len(outcomes),
        "ok": len(answered),
        "errors": len(outcomes) - len(answered),
        "error_kinds": errors,
        "wall_s": round(wall_s, 2),
        "throughput_rps": round(len(answered) / wall_s, 2) if wall_s > 0 else None,
    }
    if latencies.size:
        for p in (50, 90, 95, 99):
            summary[f"p{p}_s"] = round(float(np.percentile(latencies, p)), 3)
        summary["max_s"] = round(float(latencies.max()), 3)
    return summary


def per_stream(outcomes: list[Outcome], seconds: float) -> dict[str, float]:
    """Answered frames per second of each simulated webcam."""
    counts: dict[int, int] = {}
    for outcome in outcomes:
        if outcome.error is None:
            counts[outcome.client] = counts.get(outcome.client, 0) + 1
    clients = {o.client for o in outcomes}
    return {f"stream{c}": round(counts.get(c, 0) / seconds, 2) for c in sorted(clients)}


def app_queue_settings() -> dict[str, Any]:
    """The queue settings the app declares (read from app/app.py without importing Gradio)."""
    import ast

    tree = ast.parse((REPO_DIR / "app" / "app.py").read_text())
    names = {"CONCURRENCY", "QUEUE_SIZE", "STREAM_EVERY_S", "STREAM_TIME_LIMIT_S", "CACHE_CLEANUP"}
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in names
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app on this machine (default: start one)")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--requests", type=int, default=10, help="requests per user")
    parser.add_argument("--streams", type=int, default=4, help="simulated webcams (0: skip)")
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=5.0, help="frames a second each webcam tries to send")
    parser.add_argument("--timeout", type=float, default=540.0, help="seconds for the users phase in all")
    parser.add_argument("--request-timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=REPO_DIR / "artifacts" / "load_test.json")
    args = parser.parse_args(argv)
    if args.url and urlparse(args.url).hostname not in LOOPBACK:
        parser.error("--url must be a server on this machine (127.0.0.1 / localhost)")
    if not (1 <= args.users <= 64 and 1 <= args.requests <= 50 and 0 <= args.streams <= 16):
        parser.error("keep it bounded: 1-64 users, 1-50 requests each, 0-16 streams")
    return args


def measure(url: str, pid: int | None, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Both phases against ``url``; memory of process ``pid`` when given."""
    memory = PeakMemory(pid) if pid is not None else None
    report: dict[str, Any] = {"url": url, "queue": app_queue_settings(), "users": args.users,
                              "requests_per_user": args.requests}
    with memory or contextlib.nullcontext():
        started = time.perf_counter()
        users = run_users(url, args.users, args.requests, work, args.timeout, args.request_timeout)
        report["users_phase"] = summarise(users, time.perf_counter() - started)
        if args.streams:
            started = time.perf_counter()
            streams = run_streams(url, args.streams, args.stream_seconds, args.fps, work, args.request_timeout)
            report["streams_phase"] = {
                **summarise(streams, time.perf_counter() - started),
                "streams": args.streams,
                "target_fps": args.fps,
                "answered_fps": per_stream(streams, args.stream_seconds),
            }
    if memory is not None:
        report["server_rss_mb"] = {"at_start": round(memory.start_rss / 2**20), "peak": round(memory.peak / 2**20)}
    report["slowest"] = [asdict(o) for o in sorted(users, key=lambda o: -o.seconds)[:3]]
    return report


def print_report(report: dict[str, Any]) -> None:
    for phase in ("users_phase", "streams_phase"):
        if phase in report:
            r = report[phase]
            print(f"{phase}: {r['ok']}/{r['requests']} ok, {r['errors']} errors, "
                  f"p50 {r.get('p50_s')} s, p95 {r.get('p95_s')} s, max {r.get('max_s')} s, "
                  f"{r['throughput_rps']} req/s over {r['wall_s']} s")
            for kind, count in r["error_kinds"].items():
                print(f"  {count} x {kind}")
    if "streams_phase" in report:
        print("answered frames per second per stream:", report["streams_phase"]["answered_fps"])
    if "server_rss_mb" in report:
        print(f"server memory: {report['server_rss_mb']['at_start']} MB at start, peak {report['server_rss_mb']['peak']} MB")
    print("queue settings:", report["queue"])


def main(argv: list[str] | None = None) -> int:
    """Run the load test; exit 1 if any request failed or was answered wrongly."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="facemask-load-") as tmp:
        work = Path(tmp)
        if args.url:
            report = measure(args.url, None, args, work)
        else:
            sys.path.insert(0, str(REPO_DIR))
            from tests.appserver import start_app, stop_app

            server = start_app(work / "server", env={"HF_HUB_OFFLINE": "1"})
            try:
                report = measure(server.url, server.process.pid, args, work)
            finally:
                stop_app(server)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    print(f"wrote {args.out}")
    failed = report["users_phase"]["errors"] + report.get("streams_phase", {}).get("errors", 0)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
