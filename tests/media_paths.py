"""Where the shared test media live (``<repo>/../shared/media``, or ``$LIVEPOSE_MEDIA``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", REPO.parent / "shared" / "media"))

SHORT_CLIP = "sign-language-processing_pose/src/python/tests/data/test_video.mp4"
"""540x720, 30 fps (359/12), 58 frames: the quickest real clip."""
HD_CLIP = "pose-pipelines/example_2.mp4"
"""1280x720, 25 fps, 237 decodable frames."""
WEBM_CLIP = "Hand-keypoints/test_examples/webm/hands3.webm"
"""640x360, 29.97 fps, no frame count in the container."""


def media_file(relative: str) -> Path:
    """The path of a shared media file; skips the test, saying why, when it is absent."""
    path = MEDIA / relative
    if not path.exists():
        pytest.skip(f"shared media not found: {path} (set LIVEPOSE_MEDIA to the media folder)")
    return path
