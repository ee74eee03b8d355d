"""Keypoint layouts: the point names, skeleton and landmark roles of the datasets keypoint models are trained on.

A model card names its model's layout (``layout: onehand10k``); the ``keypoints`` node, the visualizer,
the effects and ``livepose eval`` take everything else from here: which point is which, which pairs the
visualizer joins, and how a layout's points map onto another's (``index_map``), so a hand model trained
on InterHand2.6M feeds the tracker and effects that expect MediaPipe's order.

Orders, from each dataset's own definition (as MMPose's ``configs/_base_/datasets`` lists them):

- ``mediapipe_hand``: wrist, then each finger base to tip (thumb CMC, MCP, IP, tip; index MCP, PIP, DIP,
  tip; ...), MediaPipe's ``HandLandmark``. ``onehand10k``, ``freihand``, ``panoptic_hand`` and the hands of
  COCO-WholeBody (``coco_wholebody_hand``) use the same order. ``mediapipe_face_mesh``: the 468-point mesh,
  with its eye corners, mouth corners, nose tip and chin marked as the face layouts mark theirs.
- ``interhand``: InterHand2.6M's one hand: each finger tip to base (thumb first), the wrist last. Its
  models predict 42 points, right hand then left (``interhand_two_hands``).
- ``face68`` (300W, Multi-PIE / iBUG; ``coco_wholebody_face``): jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, lips 48-67.
- ``wflw98``: contour 0-32, brows 33-50, nose 51-59, eyes 60-75, lips 76-95, pupils 96-97.
- ``lapa106``: contour 0-32, brows 33-42 and 64-71, nose 43-51, eyes 52-63 and 72-75, lips 84-103,
  pupils 104-105 (the JD 106-point definition LaPa uses).
- ``coco_wholebody``: COCO's 17 body points, 6 foot points, 68 face points (``face68`` order), the left
  hand and the right hand (21 each, ``mediapipe_hand`` order): 133.

Left and right are the person's own throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Layout", "LAYOUTS", "get_layout", "index_map", "correspondence", "HAND_LAYOUTS", "FACE_LAYOUTS"]


@dataclass(frozen=True)
class Layout:
    """One layout: its point names (the order a model outputs them), the pairs the visualizer joins,
    and named roles (``eye_outer``: the two outer eye corners, which NME normalises by)."""

    name: str
    points: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    roles: dict[str, tuple[int, ...]] = field(default_factory=dict)
    kind: str = "other"
    """``hand``, ``face``, ``body`` or ``wholebody``: what the effects and the tracker may treat it as."""

    @property
    def size(self) -> int:
        return len(self.points)

    def index(self, point: str) -> int:
        return self.points.index(point)


def _chain(indices: range | list[int] | tuple[int, ...], closed: bool = False) -> list[tuple[int, int]]:
    """The pairs joining consecutive points (and the last to the first when ``closed``)."""
    items = list(indices)
    pairs = list(zip(items, items[1:]))
    return pairs + [(items[-1], items[0])] if closed else pairs


_FINGERS = ("thumb", "index", "middle", "ring", "pinky")
_MP_JOINTS = {"thumb": ("cmc", "mcp", "ip", "tip")}
_FINGER_JOINTS = ("mcp", "pip", "dip", "tip")


def _mediapipe_hand_points() -> tuple[str, ...]:
    names = ["wrist"]
    for finger in _FINGERS:
        names += [f"{finger}_{joint}" for joint in _MP_JOINTS.get(finger, _FINGER_JOINTS)]
    return tuple(names)


def _hand_skeleton(offset: int = 0) -> list[tuple[int, int]]:
    pairs = []
    for finger in range(5):
        base = 1 + 4 * finger
        pairs += [(0, base)] + _chain(range(base, base + 4))
    # The palm: the MCP joints joined across, as MediaPipe draws it.
    pairs += _chain([5, 9, 13, 17])
    return [(a + offset, b + offset) for a, b in pairs]


MEDIAPIPE_HAND_POINTS = _mediapipe_hand_points()
_HAND_ROLES = {"wrist": (0,), "fingertips": (4, 8, 12, 16, 20), "index_tip": (8,), "thumb_tip": (4,)}


def _hand(name: str) -> Layout:
    return Layout(name, MEDIAPIPE_HAND_POINTS, tuple(_hand_skeleton()), dict(_HAND_ROLES), "hand")


def _interhand_points() -> tuple[str, ...]:
    names = []
    for finger in _FINGERS:
        names += [f"{finger}_{joint}" for joint in reversed(_MP_JOINTS.get(finger, _FINGER_JOINTS))]
    return tuple(names + ["wrist"])


def _reordered(points: tuple[str, ...], reference: Layout) -> tuple[tuple[int, int], ...]:
    """The reference layout's skeleton re-indexed into ``points``' order (same point names)."""
    where = {name: i for i, name in enumerate(points)}
    return tuple((where[reference.points[a]], where[reference.points[b]]) for a, b in reference.skeleton)


def _face68() -> Layout:
    points = tuple(
        [f"jaw_{i}" for i in range(17)] + [f"right_brow_{i}" for i in range(5)] + [f"left_brow_{i}" for i in range(5)]
        + [f"nose_bridge_{i}" for i in range(4)] + [f"nose_base_{i}" for i in range(5)]
        + [f"right_eye_{i}" for i in range(6)] + [f"left_eye_{i}" for i in range(6)]
        + [f"outer_lip_{i}" for i in range(12)] + [f"inner_lip_{i}" for i in range(8)])
    skeleton = (_chain(range(0, 17)) + _chain(range(17, 22)) + _chain(range(22, 27)) + _chain(range(27, 31))
                + _chain(range(31, 36)) + _chain(range(36, 42), True) + _chain(range(42, 48), True)
                + _chain(range(48, 60), True) + _chain(range(60, 68), True))
    # Image-left is the person's right on an unmirrored photo: 36 is the right eye's outer corner.
    roles = {"eye_outer": (36, 45), "eye_inner": (39, 42), "mouth_corners": (48, 54), "nose_tip": (30,),
             "chin": (8,), "right_eye": tuple(range(36, 42)), "left_eye": tuple(range(42, 48)),
             "outer_lips": tuple(range(48, 60))}
    return Layout("face68", points, tuple(skeleton), roles, "face")


def _wflw98() -> Layout:
    points = tuple(
        [f"contour_{i}" for i in range(33)] + [f"right_brow_{i}" for i in range(9)] + [f"left_brow_{i}" for i in range(9)]
        + [f"nose_bridge_{i}" for i in range(4)] + [f"nose_base_{i}" for i in range(5)]
        + [f"right_eye_{i}" for i in range(8)] + [f"left_eye_{i}" for i in range(8)]
        + [f"outer_lip_{i}" for i in range(12)] + [f"inner_lip_{i}" for i in range(8)] + ["right_pupil", "left_pupil"])
    skeleton = (_chain(range(0, 33)) + _chain(range(33, 42), True) + _chain(range(42, 51), True)
                + _chain(range(51, 55)) + _chain(range(55, 60)) + _chain(range(60, 68), True)
                + _chain(range(68, 76), True) + _chain(range(76, 88), True) + _chain(range(88, 96), True))
    roles = {"eye_outer": (60, 72), "eye_inner": (64, 68), "mouth_corners": (76, 82), "nose_tip": (54,),
             "chin": (16,), "pupils": (96, 97), "right_eye": tuple(range(60, 68)), "left_eye": tuple(range(68, 76)),
             "outer_lips": tuple(range(76, 88))}
    return Layout("wflw98", points, tuple(skeleton), roles, "face")


def _lapa106() -> Layout:
    points = tuple(
        [f"contour_{i}" for i in range(33)] + [f"right_brow_top_{i}" for i in range(5)]
        + [f"left_brow_top_{i}" for i in range(5)] + [f"nose_bridge_{i}" for i in range(4)]
        + [f"nose_base_{i}" for i in range(5)] + [f"right_eye_{i}" for i in range(6)] + [f"left_eye_{i}" for i in range(6)]
        + [f"right_brow_bottom_{i}" for i in range(4)] + [f"left_brow_bottom_{i}" for i in range(4)]
        + [f"right_eye_mid_{i}" for i in range(2)] + [f"left_eye_mid_{i}" for i in range(2)]
        + [f"nose_side_{i}" for i in range(8)] + [f"outer_lip_{i}" for i in range(12)]
        + [f"inner_lip_{i}" for i in range(8)] + ["right_pupil", "left_pupil"])
    skeleton = (_chain(range(0, 33)) + _chain(range(33, 38)) + _chain(range(38, 43)) + _chain(range(43, 47))
                + _chain(range(47, 52)) + _chain(range(52, 58), True) + _chain(range(58, 64), True)
                + _chain(range(84, 96), True) + _chain(range(96, 104), True))
    roles = {"eye_outer": (52, 61), "mouth_corners": (84, 90), "nose_tip": (46,), "chin": (16,), "pupils": (104, 105),
             "outer_lips": tuple(range(84, 96))}
    return Layout("lapa106", points, tuple(skeleton), roles, "face")


_COCO_BODY = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
              "right_knee", "left_ankle", "right_ankle")
_COCO_SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
                  (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))
_FEET = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")


def _coco_wholebody() -> Layout:
    face = _face68()
    points = (_COCO_BODY + _FEET + tuple(f"face_{p}" for p in face.points)
              + tuple(f"left_hand_{p}" for p in MEDIAPIPE_HAND_POINTS) + tuple(f"right_hand_{p}" for p in MEDIAPIPE_HAND_POINTS))
    feet = [(15, 17), (15, 18), (15, 19), (16, 20), (16, 21), (16, 22)]
    skeleton = (list(_COCO_SKELETON) + feet + [(a + 23, b + 23) for a, b in face.skeleton]
                + _hand_skeleton(91) + _hand_skeleton(112) + [(9, 91), (10, 112)])
    roles = {"face": tuple(range(23, 91)), "left_hand": tuple(range(91, 112)), "right_hand": tuple(range(112, 133)),
             "eye_outer": (23 + 36, 23 + 45)}
    return Layout("coco_wholebody", points, tuple(skeleton), roles, "wholebody")


def _interhand_two_hands() -> Layout:
    one = _interhand_points()
    right = Layout("", one, _reordered(one, _hand("")))
    points = tuple(f"right_{p}" for p in one) + tuple(f"left_{p}" for p in one)
    skeleton = right.skeleton + tuple((a + 21, b + 21) for a, b in right.skeleton)
    return Layout("interhand_two_hands", points, skeleton, {"right_hand": tuple(range(21)), "left_hand": tuple(range(21, 42))},
                  "hand")


def _face_mesh() -> Layout:
    # Indices of MediaPipe's canonical face model, as livepose.results.FaceLandmark names them; the
    # visualizer draws the mesh from its own tessellation, so no skeleton here.
    roles = {"eye_outer": (33, 263), "eye_inner": (133, 362), "mouth_corners": (61, 291), "nose_tip": (1,),
             "chin": (152,)}
    return Layout("mediapipe_face_mesh", tuple(f"mesh_{i}" for i in range(468)), (), roles, "face")


def _build() -> dict[str, Layout]:
    interhand = _interhand_points()
    layouts = [_hand("mediapipe_hand"), _hand("onehand10k"), _hand("freihand"), _hand("panoptic_hand"),
               _hand("coco_wholebody_hand"), _face_mesh(),
               Layout("interhand", interhand, _reordered(interhand, _hand("")),
                      {k: tuple(interhand.index(MEDIAPIPE_HAND_POINTS[i]) for i in v) for k, v in _HAND_ROLES.items()},
                      "hand"),
               _interhand_two_hands(), _face68(), _wflw98(), _lapa106(),
               Layout("coco_wholebody_face", _face68().points, _face68().skeleton, _face68().roles, "face"),
               Layout("coco", _COCO_BODY, _COCO_SKELETON, {}, "body"), _coco_wholebody()]
    return {layout.name: layout for layout in layouts}


LAYOUTS: dict[str, Layout] = _build()
HAND_LAYOUTS = tuple(name for name, layout in LAYOUTS.items() if layout.kind == "hand" and layout.size == 21)
FACE_LAYOUTS = tuple(name for name, layout in LAYOUTS.items() if layout.kind == "face")


def get_layout(name: str) -> Layout:
    """The layout called ``name``; a KeyError naming the known ones otherwise."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown layout {name!r}; known: {', '.join(LAYOUTS)}") from None


def index_map(source: str, target: str) -> np.ndarray:
    """For each point of ``target``, its index in ``source`` (by point name): ``points[index_map(a, b)]``
    reorders points of layout ``a`` into layout ``b``. Raises ValueError when ``source`` lacks a point."""
    src, dst = get_layout(source), get_layout(target)
    where = {name: i for i, name in enumerate(src.points)}
    missing = [name for name in dst.points if name not in where]
    if missing:
        raise ValueError(f"layout {source} has no {', '.join(missing[:3])}{'...' if len(missing) > 3 else ''} "
                         f"of {target}")
    return np.array([where[name] for name in dst.points], dtype=np.intp)


CORRESPONDING_ROLES = ("eye_outer", "eye_inner", "mouth_corners", "nose_tip", "chin")
"""Points every face layout marks the same way, for layouts that share no point names (a 68-point model
scored on WFLW's 98 points, MediaPipe's mesh on 300W)."""


def correspondence(source: str, target: str) -> list[tuple[int, int]]:
    """Pairs ``(index in source, index in target)`` of the same point: every point of ``target`` when
    ``source`` has them all by name, else the corresponding face roles both layouts mark; may be empty."""
    try:
        return list(zip(index_map(source, target).tolist(), range(get_layout(target).size)))
    except ValueError:
        pass
    src, dst = get_layout(source), get_layout(target)
    pairs = []
    for role in CORRESPONDING_ROLES:
        a, b = src.roles.get(role, ()), dst.roles.get(role, ())
        if a and len(a) == len(b):
            pairs += list(zip(a, b))
    return pairs
