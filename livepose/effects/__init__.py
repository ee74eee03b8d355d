"""Effects: pure functions that change a frame's pixels from what the nodes found: ``sunglasses`` over
the eyes of each face mesh, ``big_eyes``, ``face_paint`` (colour or a texture on the mesh),
``privacy`` (faces and hands blurred or pixelated), ``finger_paint`` (strokes drawn while a hand
pinches) and ``background`` (the background behind the people blurred or replaced, from the person mask).

Like :mod:`livepose.render`, each function works in place on a writable BGR image and reads results
only as landmark arrays in pixels, so it is tested without a pipeline; the nodes of
:mod:`livepose.nodes.effects` are thin wrappers over them.
"""

from livepose.effects.background import replace_background
from livepose.effects.big_eyes import big_eyes, magnify
from livepose.effects.face_paint import FaceTexture, load_texture, paint_face, paint_faces
from livepose.effects.finger_paint import FingerPaint, Stroke, StrokeCanvas, draw_strokes
from livepose.effects.privacy import blur_region, blur_regions, face_region, grown, hand_region, region_size
from livepose.effects.sunglasses import (ASSET_ANCHORS, ASSET_SIZE, SunglassesImage, as_rgba, draw_sunglasses,
                                         eye_centres, load_rgba, make_sunglasses, placement)

__all__ = [
    "ASSET_ANCHORS", "ASSET_SIZE", "FaceTexture", "FingerPaint", "Stroke", "StrokeCanvas", "SunglassesImage",
    "as_rgba", "big_eyes", "blur_region", "blur_regions", "draw_strokes", "load_texture", "magnify", "paint_face",
    "paint_faces", "replace_background",
    "draw_sunglasses", "eye_centres", "face_region", "grown", "hand_region", "load_rgba", "make_sunglasses",
    "placement", "region_size",
]
