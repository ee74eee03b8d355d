"""The results nodes pass each other: every well-known key of ``Frame.results``, its type and its writers.

A node finds what the nodes before it found in ``frame.results`` and adds its own with
``frame.with_results(...)``. The keys below are the contract between livepose's nodes and yours:
use the constants (``results.HANDS`` is ``"hands"``) and declare what a node reads and writes::

    class FingerDots(Node):
        inputs = ("frame",)
        outputs = ("frame",)
        reads = (results.HANDS,)      # used when present: a missing writer upstream is a warning
        requires = ()                 # cannot work without: a missing writer is an error
        writes = ()                   # adds nothing

``livepose validate`` checks every pipeline against those declarations, ``livepose nodes`` prints
them, and ``livepose.testing.run_node`` checks that a node writes what it declares, with the types
given here.

Coordinates: landmark x and y are pixels of the frame as the source delivered it (after mirroring,
if the source mirrors), origin at the top-left corner, y down; z is in the scale of x (pixels)
and relative to a reference point of the object, smaller is closer to the camera. ROIs are
``NormalizedRect``: centre and size in [0, 1] of the image's width and height, rotation in radians,
clockwise on screen.

Your own keys need no registration: any name a node declares in ``writes`` is a result the
validator follows downstream. Keep the values immutable (tuples, frozen dataclasses, read-only
arrays): one frame fans out to every consumer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from livepose.graph.frame import Frame
from livepose.vision.rects import NormalizedRect, TrackedRoi

__all__ = [
    "Face", "FaceLandmark", "Hand", "HandLandmark", "NormalizedRect", "ResultKey", "TrackedRoi",
    "WELL_KNOWN", "MEDIA_TIME", "STILL_IMAGE", "RGB", "HANDS", "HAND_ROIS", "PALMS", "HAND_TRACKS",
    "FACES", "FACE_ROIS", "FACE_DETECTIONS", "FACE_TRACKS", "GESTURES", "HandGesture", "frame_time", "type_problem",
    "SEGMENTATION_MASK", "Keypoints", "KEYPOINTS", "Pose", "PoseLandmark", "POSES", "POSE_ROIS", "POSE_DETECTIONS", "POSE_TRACKS",
]


class HandLandmark(enum.IntEnum):
    """Index of each of a hand's 21 landmarks, MediaPipe's names and order
    (``mediapipe/python/solutions/hands.py``, ``HandLandmark``): ``hand.landmarks[HandLandmark.INDEX_FINGER_TIP]``."""

    WRIST = 0
    THUMB_CMC = 1
    THUMB_MCP = 2
    THUMB_IP = 3
    THUMB_TIP = 4
    INDEX_FINGER_MCP = 5
    INDEX_FINGER_PIP = 6
    INDEX_FINGER_DIP = 7
    INDEX_FINGER_TIP = 8
    MIDDLE_FINGER_MCP = 9
    MIDDLE_FINGER_PIP = 10
    MIDDLE_FINGER_DIP = 11
    MIDDLE_FINGER_TIP = 12
    RING_FINGER_MCP = 13
    RING_FINGER_PIP = 14
    RING_FINGER_DIP = 15
    RING_FINGER_TIP = 16
    PINKY_MCP = 17
    PINKY_PIP = 18
    PINKY_DIP = 19
    PINKY_TIP = 20


class FaceLandmark(enum.IntEnum):
    """Indices of well-known points of the 468-point face mesh (MediaPipe's canonical face model,
    ``mediapipe/modules/face_geometry/data/canonical_face_model_uv_visualization.png``). Left and
    right are the person's own: on an unmirrored camera image the person's right eye is on the
    image's left. ``render.topology`` holds the full contours (eyes, brows, lips, face oval)."""

    NOSE_TIP = 1
    FOREHEAD = 10
    UPPER_LIP = 13
    LOWER_LIP = 14
    RIGHT_EYE_OUTER = 33
    MOUTH_RIGHT = 61
    RIGHT_EYE_INNER = 133
    CHIN = 152
    RIGHT_CHEEK = 234
    LEFT_EYE_OUTER = 263
    MOUTH_LEFT = 291
    LEFT_EYE_INNER = 362
    LEFT_CHEEK = 454
    # With ``refine_landmarks: true`` the mesh has 478 points: 468-472 are the right iris (centre first,
    # then its rim), 473-477 the left (MediaPipe's face_mesh_connections FACEMESH_RIGHT_IRIS / LEFT_IRIS).
    RIGHT_IRIS_CENTER = 468
    LEFT_IRIS_CENTER = 473


class PoseLandmark(enum.IntEnum):
    """Index of each of a body pose's 33 landmarks, MediaPipe's names and order
    (``mediapipe/python/solutions/pose.py``, ``PoseLandmark``). Left and right are the person's own."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


@dataclass(frozen=True)
class Hand:
    """One hand in one frame, as ``hand_landmarks`` writes it to ``results["hands"]``.

    - ``landmarks``: ``(21, 3)`` float64, read-only. x, y in pixels of the frame; z = the model's
      normalised depth times the frame width (same scale as x), relative to the wrist, smaller is
      closer to the camera. Index with :class:`HandLandmark`.
    - ``world_landmarks``: ``(21, 3)`` float64 metres, origin near the hand's centre, axes rotated
      like the image (x right, y down, z away from the camera).
    - ``handedness``: ``"Left"`` or ``"Right"``, the person's physical hand (livepose accounts for a
      mirrored source); ``handedness_score``: confidence of that label, in [0.5, 1]. A hand model you
      bring (``hand_keypoints``) that does not tell writes ``"Unknown"`` and 0, and zero world landmarks.
    - ``presence``: the model's hand presence score, above the node's ``min_tracking_confidence``.
    - ``roi``: the rotated rectangle the landmarks were read from.
    - ``track_id``: a small integer that stays the same while the hand is tracked from frame to
      frame. From ``hand_landmarks`` a hand lost and found again gets a new one; after a
      ``tracker`` node it keeps its id through short losses and crossings.
    - ``raw_landmarks``, ``raw_world_landmarks``: after a ``tracker`` node that smooths, the
      landmarks as the model found them (``landmarks`` and ``world_landmarks`` are then the
      smoothed ones); ``None`` otherwise.
    """

    landmarks: np.ndarray = field(repr=False)
    world_landmarks: np.ndarray = field(repr=False)
    handedness: str
    handedness_score: float
    presence: float
    roi: NormalizedRect
    track_id: int
    raw_landmarks: np.ndarray | None = field(default=None, repr=False)
    raw_world_landmarks: np.ndarray | None = field(default=None, repr=False)

    @property
    def score(self) -> float:
        """The score MediaPipe reports with a hand: its handedness confidence."""
        return self.handedness_score


@dataclass(frozen=True)
class Face:
    """One face in one frame, as ``face_landmarks`` (or ``face_tracker``) writes it to ``results["faces"]``.

    - ``landmarks``: ``(468, 3)`` float64, read-only, or ``(478, 3)`` with ``refine_landmarks: true``
      (the irises added, and the eyes and lips refined). x, y in pixels of the frame; z = the model's
      normalised depth times the frame width (same scale as x), smaller is closer to the camera.
      Index with :class:`FaceLandmark`.
    - ``score``: face presence, the sigmoid of the model's face flag, above ``min_tracking_confidence``.
    - ``roi``: the rectangle the landmarks were read from; ``track_id`` and ``raw_landmarks``: as
      for :class:`Hand`.
    """

    landmarks: np.ndarray = field(repr=False)
    score: float
    roi: NormalizedRect
    track_id: int
    raw_landmarks: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Pose:
    """One body in one frame, as ``pose_landmarks`` writes it to ``results["poses"]``.

    - ``landmarks``: ``(33, 3)`` float64, read-only. x, y in pixels of the frame; z = the model's
      depth times the frame width (same scale as x), relative to the midpoint of the hips, smaller is
      closer to the camera. Index with :class:`PoseLandmark`.
    - ``visibility``, ``presence``: ``(33,)`` float64 in [0, 1] per landmark: how likely the point is
      visible (not occluded) and present in the frame (MediaPipe's ``visibility`` and ``presence``).
    - ``world_landmarks``: ``(33, 3)`` float64 metres, origin at the midpoint of the hips, axes rotated
      like the image (x right, y down, z away from the camera).
    - ``score``: the pose presence score, above the node's ``min_tracking_confidence``.
    - ``roi``: the rotated rectangle the landmarks were read from; ``track_id`` and ``raw_landmarks``:
      as for :class:`Hand`.
    """

    landmarks: np.ndarray = field(repr=False)
    visibility: np.ndarray = field(repr=False)
    presence: np.ndarray = field(repr=False)
    world_landmarks: np.ndarray = field(repr=False)
    score: float
    roi: NormalizedRect
    track_id: int
    raw_landmarks: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Keypoints:
    """One object's points from a model you bring, as ``keypoints`` (or ``hand_keypoints``) writes them to
    ``results["keypoints"]``: one per ROI, in the order of the ROIs it read.

    - ``layout``: the name of the points' layout (``livepose.vision.layouts``: ``onehand10k``, ``face68``...),
      which says what each point is and how the visualizer joins them.
    - ``points``: ``(K, 2)`` float64 pixels of the frame, read-only, or ``(K, 3)`` for a 3D model (z relative
      to the model's reference point, in the model's unit); ``scores``: ``(K,)`` the decoder's confidence per
      point (its scale is the model's: a heatmap's peak, SimCC's maximum, 1 - RLE's sigma).
    - ``score``: the mean of ``scores``; ``roi``: the rectangle the points were read from; ``track_id``: the ROI's.
    - ``model``: the model card's name.
    """

    layout: str
    points: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)
    score: float
    roi: NormalizedRect
    track_id: int
    model: str = ""


@dataclass(frozen=True)
class HandGesture:
    """The gesture of one hand in one frame, as ``gestures`` writes it to ``results["gestures"]``,
    one per hand in the order of ``results["hands"]``.

    - ``track_id``: the hand's ``track_id``.
    - ``name``: one of ``livepose.vision.gestures.GESTURES`` (``"open_palm"``, ``"fist"``,
      ``"pointing"``, ``"pinch"``, ``"victory"``, ``"thumbs_up"``) or ``"none"``; held through
      brief flickers (the node's hysteresis).
    - ``score``: how clearly the landmarks fit it, in [0, 1]: the margin of the rule's weakest
      condition (0 for ``"none"``).
    """

    track_id: int
    name: str
    score: float


@dataclass(frozen=True)
class ResultKey:
    """One well-known result: its key, what its value is, which built-in node types write it, which
    rewrite it once written (they need a writer before them), and which sources read it back from a
    file instead (``replay``: the keypoints a run wrote, with no model)."""

    name: str
    type_name: str
    doc: str
    writers: tuple[str, ...]
    check: Callable[[Any], bool] = field(repr=False, compare=False)
    updated_by: tuple[str, ...] = ()
    replayed_by: tuple[str, ...] = ()


def _tuple_of(kind: type) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, tuple) and all(isinstance(item, kind) for item in value)


def _image(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 3 and value.shape[2] == 3 and value.dtype == np.uint8


def _mask(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype == np.float32


def _seconds(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


_KEYS = [
    ResultKey("media_time", "float | None",
              "seconds since the stream's first frame on the source's own clock (a file's timestamps); "
              "the recorder and the keypoint export take it as the frame's time", ("capture",), _seconds,
              replayed_by=("replay",)),
    ResultKey("camera", "str",
              "the camera a frame came from, in a pipeline with several (its name under cameras:); the "
              "keypoint export writes it", ("capture",), lambda value: isinstance(value, str)),
    ResultKey("still_image", "bool",
              "true on frames from an image folder, glob or file: unrelated stills, which detectors "
              "detect afresh rather than track", ("capture",), lambda value: isinstance(value, bool),
              replayed_by=("replay",)),
    ResultKey("rgb", "ndarray (H, W, 3) uint8, read-only",
              "the frame's image in RGB order, converted once by the first model node and reused by the next",
              ("palm_detector", "face_detector", "pose_detector", "holistic"), _image),
    ResultKey("hand_rois", "tuple[TrackedRoi, ...]",
              "the hand regions the landmark model runs on this frame: tracked from the previous frame or "
              "found by the palm detector", ("palm_detector",), _tuple_of(TrackedRoi)),
    ResultKey("palms", "tuple[TrackedRoi, ...]",
              "the hand regions the palm detector found this frame (from_detection is true), for drawing",
              ("palm_detector",), _tuple_of(TrackedRoi)),
    ResultKey("hand_tracks", "tuple[TrackedRoi, ...]",
              "next frame's hand regions, computed from this frame's landmarks; carried by the loop's "
              "feedback stream back to the palm detector", ("hand_landmarks",), _tuple_of(TrackedRoi)),
    ResultKey("hands", "tuple[Hand, ...]",
              "the hands found in the frame (see Hand); a tracker gives them lasting ids and smooths them",
              ("hand_landmarks", "holistic", "hand_keypoints"), _tuple_of(Hand), ("tracker",), ("replay",)),
    ResultKey("face_rois", "tuple[TrackedRoi, ...]",
              "the face regions the face mesh runs on this frame: tracked or found by the face detector",
              ("face_detector", "face_tracker"), _tuple_of(TrackedRoi)),
    ResultKey("face_detections", "tuple[TrackedRoi, ...]",
              "the face regions the face detector found this frame, for drawing",
              ("face_detector", "face_tracker"), _tuple_of(TrackedRoi)),
    ResultKey("face_tracks", "tuple[TrackedRoi, ...]",
              "next frame's face regions, from this frame's mesh; the face loop's feedback",
              ("face_landmarks",), _tuple_of(TrackedRoi)),
    ResultKey("faces", "tuple[Face, ...]",
              "the faces found in the frame (see Face); a tracker gives them lasting ids and smooths them",
              ("face_landmarks", "face_tracker", "holistic"), _tuple_of(Face), ("tracker",), ("replay",)),
    ResultKey("keypoints", "tuple[Keypoints, ...]",
              "the points a model you bring found in each ROI (see Keypoints): its layout's points, a score each",
              ("keypoints", "hand_keypoints"), _tuple_of(Keypoints)),
    ResultKey("gestures", "tuple[HandGesture, ...]",
              "each hand's gesture (see HandGesture), in the order of hands: open palm, fist, pointing, "
              "pinch, victory, thumbs up or none", ("gestures",), _tuple_of(HandGesture)),
    ResultKey("pose_rois", "tuple[TrackedRoi, ...]",
              "the body region the pose landmark model runs on this frame: tracked from the previous frame "
              "or found by the pose detector (at most one)", ("pose_detector",), _tuple_of(TrackedRoi)),
    ResultKey("pose_detections", "tuple[TrackedRoi, ...]",
              "the body region the pose detector found this frame, for drawing", ("pose_detector",),
              _tuple_of(TrackedRoi)),
    ResultKey("pose_tracks", "tuple[TrackedRoi, ...]",
              "next frame's body region, from this frame's auxiliary landmarks; the pose loop's feedback",
              ("pose_landmarks",), _tuple_of(TrackedRoi)),
    ResultKey("poses", "tuple[Pose, ...]",
              "the body found in the frame (see Pose; MediaPipe's Pose tracks one): 33 landmarks with "
              "visibility and presence, and world landmarks in metres", ("pose_landmarks", "holistic"), _tuple_of(Pose),
              replayed_by=("replay",)),
    ResultKey("segmentation_mask", "ndarray (H, W) float32 in [0, 1], read-only",
              "the person mask at frame size, the probability per pixel: from selfie segmentation, or "
              "from the pose model (pose_landmarks with enable_segmentation; zero without a body)",
              ("selfie_segmentation", "pose_landmarks", "holistic"), _mask),
]

WELL_KNOWN: dict[str, ResultKey] = {key.name: key for key in _KEYS}
"""Every well-known result, by key."""

MEDIA_TIME = "media_time"
STILL_IMAGE = "still_image"
CAMERA = "camera"
RGB = "rgb"
HANDS = "hands"
HAND_ROIS = "hand_rois"
PALMS = "palms"
HAND_TRACKS = "hand_tracks"
FACES = "faces"
FACE_ROIS = "face_rois"
FACE_DETECTIONS = "face_detections"
FACE_TRACKS = "face_tracks"
GESTURES = "gestures"
SEGMENTATION_MASK = "segmentation_mask"
POSES = "poses"
POSE_ROIS = "pose_rois"
POSE_DETECTIONS = "pose_detections"
POSE_TRACKS = "pose_tracks"
KEYPOINTS = "keypoints"


def frame_time(frame: Frame) -> float:
    """A frame's time in seconds: its ``media_time`` (the source's own clock) when the source gave
    one, else its capture time. Recording and tracking measure intervals with it."""
    media_time = frame.results.get(MEDIA_TIME)
    return float(media_time) if media_time is not None else frame.timestamp


def type_problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` as the well-known result ``key`` (None: nothing, or not well known)."""
    known = WELL_KNOWN.get(key)
    if known is None or known.check(value):
        return None
    shown = type(value).__name__
    if isinstance(value, tuple) and value:
        shown = f"tuple of {', '.join(sorted({type(item).__name__ for item in value}))}"
    return f"result '{key}' must be {known.type_name}, got {shown}"
