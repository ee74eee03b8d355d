"""The replay node: a video's frames with the keypoints a run wrote for it, and no model at all.

Record the keypoints once (``livepose run ... --source clip.mp4 --keypoints out.jsonl``), then run any
pipeline of effects on ``clip.mp4`` with them: frames and keypoints are paired by frame index, so
developing an effect costs no CPU for models. A realtime recording drops frames (its file then skips
their indices); those frames are skipped here too, and counted.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.node import param
from livepose.io.keypoints import KeypointReader, replayed_poses, replayed_results
from livepose.io.sources import open_source
from livepose.nodes.capture import Capture
from livepose.results import FACES, HANDS, MEDIA_TIME, POSES, STILL_IMAGE

log = logging.getLogger(__name__)

OUTSIDE_TOLERANCE = 0.5
"""Landmarks may lie outside the frame (a hand half out of view), but not by more than half its size:
beyond that the keypoints were not made on this video."""


class Replay(Capture):
    """A video file's frames with the hands, faces and poses of a keypoint file (--keypoints), paired by frame index."""

    writes = (MEDIA_TIME, STILL_IMAGE, HANDS, FACES, POSES)
    pipeline_source_param: ClassVar[str] = "source"

    keypoints: str = param(..., "the JSON Lines file that --keypoints (or an export_keypoints node) wrote "
                           "for this video")
    loop: bool = param(False, "start again at the end, for ever (developing an effect with --reload)")

    def setup(self) -> None:
        self._reader = KeypointReader(self.keypoints)
        super().setup()
        if self._spec.kind not in ("file", "images"):
            raise UserError(f"replay needs the video (or image folder) the keypoints were made on, not a "
                            f"{self._spec.kind}: {self.source}")
        self._pending = self._reader.next_record()
        if self._pending is None:
            raise UserError(f"{self._reader.path} holds no frames: was it written by a run that ended at once?")
        last, total = self._reader.last_frame(), self.expected_frames()
        if last is not None and total and last >= total:
            raise UserError(f"{self._reader.path} has keypoints up to frame {last}, but {self.source} has "
                            f"{total} frames: these keypoints were not made on this video")
        self._skipped = 0
        self._checked_size = False
        self._first_index = 0  # the index this pass of the video started at (looping: they go on rising)

    def process(self) -> Frame | None:
        record = self._pending
        if record is None:
            # The keypoints end here (a recording stopped early: --max-frames, Ctrl-C), or the video did.
            if not self.loop or self.stopping:
                return None
            self._start_again()
            record = self._pending
            assert record is not None
        while True:
            frame = super().process()
            if frame is None:
                return None if self.stopping else self._ended(record)
            if frame.index - self._first_index >= record["frame"]:
                break
            self._skipped += 1  # no keypoints for it: dropped when the keypoints were recorded
        self._pending = self._reader.next_record()
        if not self._checked_size:
            self._check_fits(record, frame)
        size = (frame.height, frame.width)
        hands, faces = replayed_results(record, size)
        found = {HANDS: hands, FACES: faces}
        poses = replayed_poses(record, size)
        if poses is not None:
            found[POSES] = poses
        return frame.with_results(**found)

    def _start_again(self) -> None:
        self._source.close()
        self._source = open_source(self._spec, width=self.width, height=self.height, fps=self.fps,
                                   fourcc=self.fourcc, frames=self.frames or None, color_matrix=self.color_matrix)
        self._reader.close()
        self._reader = KeypointReader(self.keypoints)
        self._pending = self._reader.next_record()
        self._first_index, self._clock_start = self._emitted, None

    def _check_fits(self, record: dict, frame: Frame) -> None:  # type: ignore[type-arg]
        self._checked_size = True
        for kind in ("hands", "faces"):
            for item in record[kind]:
                for (x, y, _z) in item["landmarks"]:
                    if x is None or y is None:
                        continue
                    if not (-OUTSIDE_TOLERANCE * frame.width <= x <= (1 + OUTSIDE_TOLERANCE) * frame.width
                            and -OUTSIDE_TOLERANCE * frame.height <= y <= (1 + OUTSIDE_TOLERANCE) * frame.height):
                        raise UserError(
                            f"{self._reader.path}:{self._reader.line - 1}: a landmark at ({x:.0f}, {y:.0f}) lies "
                            f"far outside {self.source}'s {frame.width}x{frame.height} frames: these keypoints "
                            "were made on another video (or another size of it)")

    def _ended(self, record: dict) -> None:  # type: ignore[type-arg]
        raise UserError(f"{self._reader.path}:{self._reader.line}: keypoints for frame {record['frame']}, but "
                        f"{self.source} has no such frame: these keypoints were not made on this video")

    def close(self) -> None:
        self._reader.close()
        if getattr(self, "_skipped", 0):
            log.info("replay: %d frames of %s have no keypoints in %s (dropped when they were recorded) and "
                     "were skipped", self._skipped, self.source, Path(self.keypoints).name)
        super().close()
