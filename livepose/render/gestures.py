"""Writing each hand's gesture beside it: a label above the hand, laid out with the other labels.

Pure drawing, in place, as :mod:`livepose.render.draw`: results are read by attribute name
(``landmarks``, ``track_id`` of hands; ``track_id``, ``name``, ``score`` of gestures), so any
objects with those attributes can be drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

import cv2
import numpy as np

from livepose.render.draw import (BGR, FaceStyle, HandStyle, Label, LabelStyle, draw_hands_and_faces,
                                  draw_labels, face_labels, hand_labels)
from livepose.render.labels import Rect

GESTURE_TITLES: dict[str, str] = {
    "open_palm": "open palm", "fist": "fist", "pointing": "pointing", "pinch": "pinch",
    "victory": "victory", "thumbs_up": "thumbs up", "none": "no gesture",
}
"""What a label says for each of ``livepose.vision.gestures``' names; other names are shown as given."""


@dataclass(frozen=True)
class GestureStyle:
    color: BGR = (255, 255, 255)
    """Box colour of gesture labels: white, unlike the hands' coloured labels, so the two read apart."""
    show_none: bool = False
    """Label hands whose gesture is ``none`` too (off: a label on every idle hand is clutter)."""
    score: bool = False
    """Add the gesture's score (``pinch 72%``)."""


def gesture_text(name: str, score: float, with_score: bool = False) -> str:
    """``thumbs up``, or ``thumbs up  72%`` with the score."""
    title = GESTURE_TITLES.get(name, name.replace("_", " "))
    return f"{title}  {float(score):.0%}" if with_score else title


def _hand_box(landmarks: Any, margin: float) -> Rect | None:
    points = np.asarray(landmarks, dtype=np.float32)
    if points.ndim != 2 or points.shape[0] != 21 or points.shape[1] < 2 or not np.isfinite(points[:, :2]).all():
        return None  # not drawn as a hand either
    x, y, width, height = cv2.boundingRect(np.ascontiguousarray(points[:, :2]))
    pad = int(np.ceil(margin))
    return Rect(x - pad, y - pad, x + width + pad, y + height + pad)


def _gesture_of(index: int, hand: Any, gestures: Sequence[Any], by_id: dict[int, Any]) -> Any | None:
    # Gestures come in the order of the hands; a node that reordered or filtered the hands
    # in between still gets each hand its own, by track id.
    if index < len(gestures) and getattr(gestures[index], "track_id", None) == hand.track_id:
        return gestures[index]
    return by_id.get(hand.track_id)


def gesture_labels(hands: Iterable[Any], gestures: Sequence[Any], hand_style: HandStyle = HandStyle(),
                   style: GestureStyle = GestureStyle()) -> list[Label]:
    """One label per hand with a gesture (``none`` only with ``style.show_none``), anchored to the
    same box as the hand's own label."""
    gestures = list(gestures)
    by_id = {g.track_id: g for g in gestures}
    margin = hand_style.joint_radius + 1 + hand_style.thickness / 2  # as the hands' own labels
    labels = []
    for index, hand in enumerate(hands):
        gesture = _gesture_of(index, hand, gestures, by_id)
        if gesture is None or (gesture.name == "none" and not style.show_none):
            continue
        box = _hand_box(hand.landmarks, margin)
        if box is not None:
            labels.append(Label(gesture_text(gesture.name, gesture.score, style.score), box, style.color))
    return labels


def draw_hands_faces_and_gestures(image: np.ndarray, hands: Iterable[Any], faces: Iterable[Any],
                                  gestures: Sequence[Any], hand_style: HandStyle = HandStyle(),
                                  face_style: FaceStyle = FaceStyle(), style: GestureStyle = GestureStyle(),
                                  label_style: LabelStyle = LabelStyle(), avoid: Sequence[Rect] = ()) -> None:
    """:func:`~livepose.render.draw.draw_hands_and_faces`, with each hand's gesture written above it.

    All labels are laid out together, the gestures first so that they get the place just above
    their hands and the hands' own labels (handedness, id, score) the next best one."""
    hands, faces = list(hands), list(faces)
    if not gestures:
        draw_hands_and_faces(image, hands, faces, hand_style, face_style, label_style, avoid)
        return
    draw_hands_and_faces(image, hands, faces, replace(hand_style, labels=False),
                         replace(face_style, labels=False), label_style, avoid)
    labels = [*gesture_labels(hands, gestures, hand_style, style),
              *(face_labels(faces, face_style) if face_style.labels else ()),
              *(hand_labels(hands, hand_style) if hand_style.labels else ())]
    draw_labels(image, labels, label_style, avoid)
