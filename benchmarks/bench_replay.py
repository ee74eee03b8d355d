"""Replay speed (issue 18): effects on replayed keypoints against the same effects behind the models.

``python benchmarks/bench_replay.py [--clip PATH] [--rounds N]``: records the keypoints of a real clip
once with ``hands_face`` (offline), then runs, alternately in the same minutes, (a) ``hands_face`` on
the clip, models and all, and (b) a ``replay`` of the clip with those keypoints followed by the same
``visualize`` node, both offline and headless to a counting sink; prints frames per second of each
and their ratio. Machine, load and commit are printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from livepose.testing import run_pipeline
from machine import machine_line

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = "Hand-keypoints/test_examples/webm/hands1.webm"


def models_run(clip: Path, keypoints: Path | None = None) -> dict:  # type: ignore[type-arg]
    nodes = [{"name": "keys", "type": "export_keypoints", "inputs": "$output", "params": {"path": str(keypoints)}}
             ] if keypoints else []
    spec = {**_packaged("hands_face"), "name": "models", "mode": "offline", "source": str(clip)}
    spec["nodes"] = spec["nodes"] + nodes
    return _timed(spec)


def replay_run(clip: Path, keypoints: Path) -> dict:  # type: ignore[type-arg]
    spec = {"name": "replay", "mode": "offline", "nodes": [
        {"name": "replay", "type": "replay", "outputs": "frames",
         "params": {"source": str(clip), "keypoints": str(keypoints)}},
        {"name": "draw", "type": "visualize", "inputs": "frames", "outputs": "annotated"},
        {"name": "sink", "type": "display", "inputs": "annotated"}]}
    return _timed(spec)


def _packaged(name: str) -> dict:  # type: ignore[type-arg]
    """A packaged pipeline as data, its window and recorder replaced by a headless sink."""
    import yaml

    from livepose.pipelines import find

    data = yaml.safe_load(Path(find(name)).read_text())
    data["nodes"] = [n for n in data["nodes"] if n["type"] not in ("viewer", "record")]
    data["nodes"].append({"name": "sink", "type": "display", "inputs": "annotated"})
    return data


def _timed(spec: dict) -> dict:  # type: ignore[type-arg]
    started = time.perf_counter()
    outcome = run_pipeline(spec, mode="offline")
    wall = time.perf_counter() - started
    assert outcome.exit_code == 0, outcome.result.reason
    frames = outcome.result.metrics.delivered()
    return {"frames": frames, "wall": wall, "fps": frames / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" /
                                                                         "media")) / DEFAULT_CLIP)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        keypoints = Path(folder) / "keypoints.jsonl"
        models_run(args.clip, keypoints)  # the recording; also warms the caches
        lines = keypoints.read_text().splitlines()
        print(f"clip: {args.clip.name}, {len(lines)} frames of keypoints, {keypoints.stat().st_size / 1e6:.1f} MB")
        models, replays = [], []
        for _ in range(args.rounds):
            models.append(models_run(args.clip))
            replays.append(replay_run(args.clip, keypoints))
    print("\n| run | frames | frames/s per round | median frames/s |\n|---|---|---|---|")
    for name, runs in (("hands_face with its models, then visualize", models),
                       ("replay of the keypoints, then visualize", replays)):
        rates = [r["fps"] for r in runs]
        print(f"| {name} | {runs[0]['frames']} | {', '.join(f'{r:.0f}' for r in rates)} | "
              f"{statistics.median(rates):.0f} |")
    ratios = [r["fps"] / m["fps"] for r, m in zip(replays, models)]
    print(f"\nreplay / models, same round: {', '.join(f'{r:.1f}' for r in ratios)} "
          f"(median {statistics.median(ratios):.1f}); load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
