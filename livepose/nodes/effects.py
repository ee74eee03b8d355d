"""Built-in effect nodes: thin wrappers over the pure functions of :mod:`livepose.effects`."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from livepose import results
from livepose.effects.background import fitted_background, replace_background, solid_background
from livepose.effects.big_eyes import MAX_STRENGTH, big_eyes
from livepose.effects.face_paint import FaceTexture, load_texture, paint_faces, parse_colour
from livepose.effects.finger_paint import COLOUR_SCHEMES, PINCH_OFF, PINCH_ON, StrokeCanvas, draw_strokes
from livepose.effects.finger_paint import FingerPaint as PaintStrokes
from livepose.effects.privacy import blur_regions, privacy_regions
from livepose.effects.sunglasses import (ASSET_ANCHORS, SunglassesImage, draw_sunglasses, load_rgba,
                                         make_sunglasses)
from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.render.draw import roi_corners


class Sunglasses(Node):
    """Sunglasses over the eyes of every face, turned and scaled with the face."""

    inputs = ("frame",)
    outputs = ("frame",)
    requires = (results.FACES,)
    writes = ()

    image: str | None = param(None, "RGBA image (a PNG with alpha) to draw; none: livepose's own pair")
    anchors: tuple[float, float, float, float] = param(
        ASSET_ANCHORS, "where the eye centres go on the image: x, y of its left one, then its right one, "
        "as fractions of the image's width and height")
    scale: float = param(1.0, "size, times what the eye distance and the anchors give", gt=0, le=5)
    opacity: float = param(1.0, "0: invisible, 1: as the image's own alpha", ge=0, le=1)

    def setup(self) -> None:
        rgba = load_rgba(self.image) if self.image else make_sunglasses()
        self._glasses = SunglassesImage.from_rgba(rgba, self.anchors)

    def process(self, frame: Frame) -> Frame:
        faces = frame.results.get(results.FACES, ())
        if not faces or self.opacity == 0:
            return frame
        image = frame.image.copy()
        draw_sunglasses(image, [face.landmarks for face in faces], self._glasses, self.scale, self.opacity)
        return frame.with_image(image)


class PrivacyBlur(Node):
    """Blur or pixelate every face (its mesh's oval, else the detector's box) and optionally the hands."""

    inputs = ("frame",)
    outputs = ("frame",)
    requires = (results.FACES,)
    reads = (results.FACE_DETECTIONS, results.HANDS)
    writes = ()

    mode: str = param("blur", "blur, or pixelate into blocks", choices=("blur", "pixelate"))
    strength: float = param(0.12, "the blur's spread, or a block's side, as a fraction of the face's size",
                            gt=0, le=1)
    margin: float = param(0.1, "how much larger than the face oval (or hand) the covered region is, "
                          "as a fraction of its size", ge=0, le=1)
    feather: float = param(0.08, "how far beyond the region the effect fades out, as a fraction of "
                           "its size (0: a hard edge)", ge=0, le=1)
    hands: bool = param(False, "also blur the hands")

    def process(self, frame: Frame) -> Frame:
        found = frame.results
        boxes = [roi_corners(roi.rect, frame.width, frame.height) for roi in found.get(results.FACE_DETECTIONS, ())]
        hands = [hand.landmarks for hand in found.get(results.HANDS, ())] if self.hands else []
        regions = privacy_regions([face.landmarks for face in found.get(results.FACES, ())], boxes, hands,
                                  self.margin)
        if not regions:
            return frame
        image = frame.image.copy()
        blur_regions(image, regions, self.mode, self.strength, self.feather)  # type: ignore[arg-type]
        return frame.with_image(image)


class BigEyes(Node):
    """Magnify the eyes of every face: a smooth bulge that meets the picture at its rim."""

    inputs = ("frame",)
    outputs = ("frame",)
    requires = (results.FACES,)
    writes = ()

    strength: float = param(0.35, "magnification at the eye's centre: 1 / (1 - strength) times",
                            ge=0, le=MAX_STRENGTH)
    radius: float = param(1.1, "the magnified disc's radius, in eye widths", gt=0, le=3)

    def process(self, frame: Frame) -> Frame:
        faces = frame.results.get(results.FACES, ())
        if not faces or self.strength == 0:
            return frame
        image = frame.image.copy()
        big_eyes(image, [face.landmarks for face in faces], strength=self.strength, radius=self.radius)
        return frame.with_image(image)


class FingerPaint(Node):
    """Paint with the index fingertip while the hand pinches; an open palm held clears that hand's strokes."""

    inputs = ("frame",)
    outputs = ("frame",)
    requires = (results.HANDS,)
    reads = (results.GESTURES, results.MEDIA_TIME)
    writes = ()

    colours: str = param("bright", "colour scheme: each hand id draws in its own colour of it",
                         choices=tuple(COLOUR_SCHEMES))
    thickness: int = param(6, "the strokes' width in pixels", ge=1, le=64)
    clear_seconds: float = param(0.5, "seconds of frame time an open palm is held to clear that hand's strokes",
                                 ge=0, le=10)
    pinch_on: float = param(PINCH_ON, "without a gestures node: thumb tip to index tip, in palm sizes, "
                            "below which a hand starts drawing", gt=0, le=2)
    pinch_off: float = param(PINCH_OFF, "without a gestures node: the distance above which it stops "
                             "(at least pinch_on: the gap keeps a stroke through a flicker)", gt=0, le=2)

    def __init__(self, name: str | None = None, **params: Any) -> None:
        super().__init__(name, **params)
        if self.pinch_off < self.pinch_on:
            raise UserError(f"{self.name}: pinch_off ({self.pinch_off}) must be at least pinch_on ({self.pinch_on})")
        self._paint = PaintStrokes(clear_seconds=self.clear_seconds, pinch_on=self.pinch_on, pinch_off=self.pinch_off)
        self._canvas = StrokeCanvas()

    def process(self, frame: Frame) -> Frame:
        hands = frame.results.get(results.HANDS, ())
        gestures = frame.results.get(results.GESTURES)
        names: list[str | None] = [None] * len(hands)
        if gestures is not None:
            # The gestures node writes one per hand in the order of hands; matched by id all the
            # same, should a node between have reordered either.
            by_id = {gesture.track_id: gesture.name for gesture in gestures}
            names = [by_id.get(hand.track_id) for hand in hands]
        self._paint.update([(hand.track_id, hand.landmarks, name) for hand, name in zip(hands, names)],
                           results.frame_time(frame), size=(frame.height, frame.width))
        strokes = self._paint.strokes
        if not strokes:
            return frame
        image = frame.image.copy()
        draw_strokes(image, strokes, thickness=self.thickness, colours=COLOUR_SCHEMES[self.colours],
                     canvas=self._canvas)
        return frame.with_image(image)


class FacePaint(Node):
    """Paint every face: its mesh triangles filled with a colour or a texture in livepose's UV layout
    (``assets/face_uv_template.png``), the eyes and lips left out."""

    inputs = ("frame",)
    outputs = ("frame",)
    requires = (results.FACES,)
    writes = ()

    colour: str = param("#3a7bd5", "paint colour as '#rrggbb' (used when there is no texture)")
    opacity: float = param(0.5, "0: invisible, 1: opaque (a texture's alpha multiplies it)", ge=0, le=1)
    texture: str | None = param(None, "texture image (BGR or BGRA) in livepose's face UV layout; "
                                "none: fill with the colour")

    def setup(self) -> None:
        # Both checked before the first frame, so a bad value stops the pipeline with one message.
        self._colour = parse_colour(self.colour)
        self._texture: FaceTexture | None = load_texture(self.texture) if self.texture else None

    def process(self, frame: Frame) -> Frame:
        faces = frame.results.get(results.FACES, ())
        if not faces or self.opacity == 0:
            return frame
        image = frame.image.copy()
        paint_faces(image, [face.landmarks for face in faces], colour=self._colour, opacity=self.opacity,
                    texture=self._texture)
        return frame.with_image(image)


class Background(Node):
    """Blur the background behind the people, or replace it with a colour or an image, through the
    selfie_segmentation node's person mask."""

    inputs = ("frame",)
    outputs = ("frame",)
    requires = (results.SEGMENTATION_MASK,)
    writes = ()

    mode: str = param("blur", "blur the background, or replace it with the colour or the image",
                      choices=("blur", "colour", "image"))
    strength: float = param(0.02, "blur: the Gaussian's sigma as a fraction of the frame's height", gt=0, le=0.5)
    colour: str = param("#00b140", "colour: the background as '#rrggbb'")
    image: str | None = param(None, "image: the picture behind the people (scaled to cover the frame, centred)")
    threshold: float = param(0.5, "mask value where a pixel is half person, half background", gt=0, lt=1)
    softness: float = param(0.2, "width of the mask range blended across the outline (0: a hard edge)", ge=0, le=1)

    def setup(self) -> None:
        # Both checked before the first frame, so a bad colour or image stops the pipeline with one message.
        self._colour = parse_colour(self.colour)
        self._picture: np.ndarray | None = None
        if self.mode == "image":
            if not self.image:
                raise UserError(f"{self.name}: mode 'image' needs the image parameter (a picture file)")
            self._picture = cv2.imread(self.image, cv2.IMREAD_COLOR)
            if self._picture is None:
                raise UserError(f"{self.name}: cannot read the background image {self.image!r}")
        # The colour or image at the frame's size, made once per size rather than every frame.
        self._behind: np.ndarray | None = None

    def _background_for(self, width: int, height: int) -> np.ndarray | None:
        if self.mode == "blur":
            return None
        if self._behind is None or self._behind.shape[:2] != (height, width):
            if self._picture is not None:
                self._behind = fitted_background(self._picture, width, height)
            else:
                self._behind = solid_background(self._colour, width, height)
        return self._behind

    def process(self, frame: Frame) -> Frame:
        mask = frame.results.get(results.SEGMENTATION_MASK)
        if mask is None or mask.shape != (frame.height, frame.width):
            return frame
        image = frame.image.copy()
        replace_background(image, mask, self.mode, strength=self.strength,  # type: ignore[arg-type]
                           background=self._background_for(frame.width, frame.height),
                           threshold=self.threshold, softness=self.softness)
        return frame.with_image(image)
