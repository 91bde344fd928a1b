"""FaceTracker on synthetic sequences: ids, smoothed labels, blur carried over detector misses."""

from __future__ import annotations

from facemask import Settings
from facemask.pipeline import DetectionResult, FaceResult
from facemask.privacy import blur_region
from facemask.tracking import FaceTracker, Lookback

FPS = 25.0
WIDTH, HEIGHT = 640, 480


def face_at(x: float, y: float = 100.0, size: float = 80.0, masked: float = 0.9) -> FaceResult:
    box = (x, y, size, size)
    rest = (1.0 - masked) / 2
    return FaceResult(box=box, score=0.9, label="with_mask" if masked > 0.5 else "without_mask",
                      scores={"with_mask": masked, "without_mask": 1.0 - masked - rest, "incorrect_mask": rest},
                      landmarks=None, blur=blur_region(box, None, "eyes", WIDTH, HEIGHT))


def frame(*faces: FaceResult, hidden: tuple[tuple[int, int, int, int], ...] = ()) -> DetectionResult:
    return DetectionResult(WIDTH, HEIGHT, list(faces), "test", "test",
                           [f.blur for f in faces if f.blur is not None] + list(hidden))


def contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    return (outer[0] <= inner[0] and outer[1] <= inner[1]
            and outer[0] + outer[2] >= inner[0] + inner[2] and outer[1] + outer[3] >= inner[1] + inner[3])


def test_a_face_missed_for_a_few_frames_stays_blurred_where_it_moved_and_keeps_its_id() -> None:
    tracker = FaceTracker(Settings())
    detected = {0, 1, 2, 3, 4, 8, 9, 12}
    ids, carried_ok = [], []
    for i in range(14):
        truth = face_at(100 + 6 * i)
        tracked = tracker.update(frame(truth) if i in detected else frame(), i / FPS)
        if i in detected:
            ids.extend(tracked.track_ids)
            assert tracked.carried == []
        else:
            # the region where the face really is (it kept moving) lies inside a carried region
            carried_ok.append(any(contains(region, truth.blur) for region in tracked.result.blurred))
    assert carried_ok == [True] * 6
    assert set(ids) == {1}


def test_a_track_stops_being_carried_after_the_configured_frames() -> None:
    tracker = FaceTracker(Settings(track_carry_frames=3))
    tracker.update(frame(face_at(100)), 0.0)
    carried = [len(tracker.update(frame(), i / FPS).carried) for i in range(1, 7)]
    assert carried == [1, 1, 1, 0, 0, 0]


def test_a_track_stops_being_carried_after_the_configured_seconds() -> None:
    tracker = FaceTracker(Settings(track_carry_frames=100, track_carry_s=0.5))
    tracker.update(frame(face_at(100)), 0.0)
    assert len(tracker.update(frame(), 0.4).carried) == 1
    assert tracker.update(frame(), 0.6).carried == []


def test_labels_are_smoothed_so_one_odd_frame_does_not_flip_a_face() -> None:
    tracker = FaceTracker(Settings())
    masked = [0.9, 0.85, 0.9, 0.2, 0.9, 0.88]  # frame 3: the classifier says "no mask" once
    labels = [tracker.update(frame(face_at(100 + 2 * i, masked=m)), i / FPS).result.faces[0].label
              for i, m in enumerate(masked)]
    assert labels == ["with_mask"] * len(masked)
    assert tracker.track_labels() == {"with_mask": 1, "without_mask": 0, "incorrect_mask": 0}


def test_a_lasting_change_of_class_is_followed() -> None:
    tracker = FaceTracker(Settings())
    labels = [tracker.update(frame(face_at(100, masked=0.9 if i < 5 else 0.05)), i / FPS).result.faces[0].label
              for i in range(12)]
    assert labels[:5] == ["with_mask"] * 5 and labels[-1] == "without_mask"


def test_two_faces_get_two_tracks_and_the_summary_counts_distinct_faces() -> None:
    tracker = FaceTracker(Settings())
    for i in range(10):
        faces = [face_at(50 + 3 * i, masked=0.9), face_at(400 - 3 * i, masked=0.1)]
        tracked = tracker.update(frame(*faces), i / FPS)
        assert tracked.track_ids == [1, 2]
    for i in range(10, 20):  # both leave; their tracks end
        tracker.update(frame(), i / FPS)
    tracker.update(frame(face_at(300, y=300, masked=0.9)), 20 / FPS)  # someone new
    assert tracker.track_labels() == {"with_mask": 2, "without_mask": 1, "incorrect_mask": 0}


def test_regions_of_faces_under_the_display_threshold_are_carried_too() -> None:
    tracker = FaceTracker(Settings())
    region = (200, 150, 60, 50)
    tracker.update(frame(hidden=(region,)), 0.0)
    tracked = tracker.update(frame(), 1 / FPS)
    assert len(tracked.carried) == 1 and contains(tracked.carried[0], region)
    assert tracked.result.faces == [] and tracker.track_labels()["with_mask"] == 0


def test_without_blur_nothing_is_carried_but_faces_are_still_tracked() -> None:
    tracker = FaceTracker(Settings())
    unblurred = [FaceResult(f.box, f.score, f.label, f.scores, None, None) for f in (face_at(100), face_at(104))]
    first = tracker.update(DetectionResult(WIDTH, HEIGHT, [unblurred[0]], "t", "t"), 0.0, blur=False)
    gap = tracker.update(DetectionResult(WIDTH, HEIGHT, [], "t", "t"), 1 / FPS, blur=False)
    again = tracker.update(DetectionResult(WIDTH, HEIGHT, [unblurred[1]], "t", "t"), 2 / FPS, blur=False)
    assert gap.carried == [] and gap.result.blurred == []
    assert first.track_ids == again.track_ids == [1]


def test_carried_regions_are_clipped_to_the_frame() -> None:
    tracker = FaceTracker(Settings(track_carry_frames=4, track_carry_s=10.0))
    for i in range(3):
        tracker.update(frame(face_at(500 + 20 * i)), i / FPS)  # moving right, towards the edge
    regions = [tracker.update(frame(), i / FPS).carried for i in range(3, 9)]
    assert [len(r) for r in regions] == [1, 1, 1, 1, 0, 0]
    for x, y, w, h in (r for carried in regions for r in carried):
        assert x >= 0 and y >= 0 and x + w <= WIDTH and y + h <= HEIGHT


def test_a_wild_velocity_guess_cannot_move_the_carried_region_off_the_face() -> None:
    tracker = FaceTracker(Settings())
    tracker.update(frame(face_at(100)), 0.0)
    tracker.update(frame(face_at(130)), 1 / FPS)  # two jittery boxes: 750 px/s if taken at face value
    truth = face_at(130)
    for i in range(2, 8):
        carried = tracker.update(frame(), i / FPS).carried
        assert any(contains(region, truth.blur) for region in carried), i


def test_the_same_sequence_gives_the_same_tracks() -> None:
    def run() -> list[tuple]:
        tracker = FaceTracker(Settings())
        out = []
        for i in range(12):
            faces = [face_at(80 + 5 * i)] if i % 3 else []
            tracked = tracker.update(frame(*faces, face_at(400, y=250 + i)), i / FPS)
            out.append((tracked.track_ids, tracked.result.blurred, [f.scores for f in tracked.result.faces]))
        return out

    assert run() == run()


def test_lookback_blurs_a_face_in_the_frames_before_it_was_found() -> None:
    tracker, lookback = FaceTracker(Settings()), Lookback(3, 0.05)
    released = []
    for i in range(8):
        truth = face_at(100 + 4 * i)
        result = frame(truth) if i >= 5 else frame()  # the face is there all along, found from frame 5
        released += lookback.push((i, truth), tracker.update(result, i / FPS))
    released += lookback.flush()

    assert [i for (i, _), _ in released] == list(range(8))
    covered = [any(contains(region, truth.blur) for region in tracked.result.blurred) for (_, truth), tracked in released]
    assert covered == [False, False, True, True, True, True, True, True]  # 3 frames back, no further


def test_a_scene_cut_ends_tracks_but_keeps_their_count() -> None:
    tracker = FaceTracker(Settings())
    tracker.update(frame(face_at(100)), 0.0)
    tracker.cut()
    after = tracker.update(frame(), 1 / FPS)
    assert after.carried == [] and tracker.track_labels()["with_mask"] == 1
