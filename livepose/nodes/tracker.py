"""The tracker node: persistent ids and smoothed landmarks for the hands and faces of each frame."""

from __future__ import annotations

from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.results import FACES, HANDS, MEDIA_TIME, STILL_IMAGE, Face, Hand, frame_time
from livepose.vision.smoothing import FACE_LANDMARKS, HAND_LANDMARKS, WORLD_LANDMARKS, OneEuroSettings

_CUTOFF = "One Euro filter: cutoff frequency (Hz) when still; lower is smoother"
_BETA = "One Euro filter: how fast the cutoff rises with speed, per object size a second; higher lags less"
_DERIVATE = "One Euro filter: cutoff frequency (Hz) of the speed estimate"


class Tracker(Node):
    """Give hands and faces ids that last through short losses and crossings, and smooth their landmarks.

    Ids follow each object by position (with a motion prediction), handedness and the detect-or-track
    loop's own continuity, solved as an assignment; they are small integers, never reused, separate
    for hands and faces (``livepose.vision.identity``). Landmarks are smoothed by MediaPipe's One
    Euro filter, scaled by the object's size so the same settings work near and far, in frame time
    (``livepose.vision.smoothing``: MediaPipe's cutoffs, and a lower beta than MediaPipe's 80,
    measured on the shared clips; the sources are named there); the model's landmarks stay in
    ``raw_landmarks``. Frames of unrelated stills are not tracked across.
    """

    inputs = ("frame",)
    outputs = ("frame",)
    reads = (HANDS, FACES, MEDIA_TIME, STILL_IMAGE)
    writes = (HANDS, FACES)

    max_lost: float = param(0.5, "seconds of frame time an object may be missing and keep its id", ge=0, le=60)
    smoothing: bool = param(True, "smooth the landmarks (false: exactly as the models found them)")
    hand_min_cutoff: float = param(HAND_LANDMARKS.min_cutoff, _CUTOFF, gt=0)
    hand_beta: float = param(HAND_LANDMARKS.beta, _BETA + " (MediaPipe's face and pose value: 80)", ge=0)
    hand_derivate_cutoff: float = param(HAND_LANDMARKS.derivate_cutoff, _DERIVATE, gt=0)
    world_min_cutoff: float = param(WORLD_LANDMARKS.min_cutoff, "hands' world landmarks: " + _CUTOFF, gt=0)
    world_beta: float = param(WORLD_LANDMARKS.beta, "hands' world landmarks: " + _BETA.replace("object size", "metre"),
                              ge=0)
    world_derivate_cutoff: float = param(WORLD_LANDMARKS.derivate_cutoff, "hands' world landmarks: " + _DERIVATE,
                                         gt=0)
    face_min_cutoff: float = param(FACE_LANDMARKS.min_cutoff, _CUTOFF, gt=0)
    face_beta: float = param(FACE_LANDMARKS.beta, _BETA + " (MediaPipe's FaceLandmarker: 80)", ge=0)
    face_derivate_cutoff: float = param(FACE_LANDMARKS.derivate_cutoff, _DERIVATE, gt=0)

    def setup(self) -> None:
        # Imported here: scipy's solver takes 0.4 s to import, which set-up overlaps with the models'.
        from livepose.vision.object_tracker import ObjectTracker

        def settings(kind: str) -> OneEuroSettings | None:
            if not self.smoothing:
                return None
            return OneEuroSettings(getattr(self, f"{kind}_min_cutoff"), getattr(self, f"{kind}_beta"),
                                   getattr(self, f"{kind}_derivate_cutoff"))

        self._hands = ObjectTracker[Hand](
            max_lost=self.max_lost, label_of=lambda hand: hand.handedness, image=settings("hand"),
            world=settings("world"))
        self._faces = ObjectTracker[Face](
            max_lost=self.max_lost, label_of=lambda face: None, image=settings("face"))

    def process(self, frame: Frame) -> Frame:
        timestamp = frame_time(frame)
        updated = {}
        for key, tracker in ((HANDS, self._hands), (FACES, self._faces)):
            if key in frame.results:
                if frame.results.get(STILL_IMAGE, False):
                    tracker.reset()
                updated[key] = tracker.update(frame.results[key], timestamp)
        return frame.with_results(**updated) if updated else frame
