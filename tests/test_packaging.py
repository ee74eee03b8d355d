"""What pip installs where: the onnxruntime package each platform gets from pyproject.toml's markers."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="Python 3.11 reads TOML")
requirements = pytest.importorskip("packaging.requirements", reason="the packaging library evaluates markers")

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = {
    "macOS, Apple silicon": ("darwin", "arm64", "onnxruntime"),
    "macOS, Intel": ("darwin", "x86_64", "onnxruntime"),
    "Linux x86_64": ("linux", "x86_64", "onnxruntime-gpu"),
    "Linux ARM": ("linux", "aarch64", "onnxruntime"),
    "Windows x64": ("win32", "AMD64", "onnxruntime-gpu"),
    "Windows ARM": ("win32", "ARM64", "onnxruntime"),
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_gets_exactly_one_onnxruntime_and_the_gpu_build_only_where_it_has_wheels(platform):
    sys_platform, machine, expected = PLATFORMS[platform]
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    environment = {"sys_platform": sys_platform, "platform_machine": machine, "python_version": "3.11"}
    chosen = [r.name for r in map(requirements.Requirement, dependencies)
              if r.name.startswith("onnxruntime") and (r.marker is None or r.marker.evaluate(environment))]
    assert chosen == [expected]
