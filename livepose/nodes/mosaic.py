"""The mosaic node: the cameras of a ``cameras:`` pipeline tiled into one frame for the viewer and recorder."""

from __future__ import annotations

import time

from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.render.mosaic import tile_images
from livepose.results import CAMERA, MEDIA_TIME


class Mosaic(Node):
    """Tiles every camera's newest frame, once per frame that arrives from any camera.

    It gathers its inputs (``gathers_inputs``): each camera's frames come as they are made, so a slow or
    stalled camera never holds back the others; its tile keeps its last picture and says for how long
    nothing came. The tiled frame carries the results of the frame that made it (its camera's).
    """

    inputs = ("frame",)
    outputs = ("frame",)
    reads = (CAMERA,)
    writes = (MEDIA_TIME,)
    gathers_inputs = True

    width: int = param(1280, "width of the tiled frame", ge=16, le=16384)
    height: int = param(720, "height of the tiled frame", ge=16, le=16384)
    stalled_after: float = param(1.0, "seconds without a frame after which a camera's tile says so", gt=0)
    cameras: str = param("", "tile order, camera names separated by commas (a cameras: pipeline sets it); "
                         "others follow in the order they first send")

    def setup(self) -> None:
        self._order = [name for name in self.cameras.split(",") if name]
        self._latest: dict[str, Frame] = {}
        self._seen_at: dict[str, float] = {}
        self._media_time = 0.0

    def process(self, frame: Frame) -> Frame:
        camera = str(frame.results.get(CAMERA, ""))
        if camera not in self._order:
            self._order.append(camera)
        now = time.monotonic()
        self._latest[camera], self._seen_at[camera] = frame, now
        captions = []
        for name in self._order:
            quiet = now - self._seen_at[name] if name in self._seen_at else None
            waiting = " (waiting)" if quiet is None else f" (no frame for {quiet:.0f} s)" if quiet > self.stalled_after else ""
            captions.append(f"{name or 'camera'}{waiting}")
        images = [self._latest[name].image if name in self._latest else None for name in self._order]
        tiled = tile_images(images, captions, (self.width, self.height))
        # Cameras' clocks interleave: the tiled stream's time only moves forward (the recorder's clock).
        self._media_time = max(self._media_time, float(frame.results.get(MEDIA_TIME) or 0.0))
        return Frame(tiled, frame.index, frame.timestamp, False, {**frame.results, MEDIA_TIME: self._media_time})
