"""``livepose batch`` throughput against the number of worker processes, and the cost of one input.

Runs the real command (``livepose batch PIPELINE FOLDER --out ... --workers N``) over a folder of links to
shared clips, fresh output folders each time, workers 1 to ``--max-workers``, in interleaved rounds;
reports frames per second of wall time and the ratio to one worker in the same round. With ``--ray`` the same
counts run as Ray tasks on a local Ray the command starts (its start-up included). The per-input
overhead is a batch of the same inputs cut to one frame each (``--max-frames 1``): start-up, model
loading and output writing, divided by the number of inputs.

    python benchmarks/bench_batch.py [--pipeline pose] [--rounds 2] [--max-workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media"))
LIVEPOSE = Path(sys.executable).parent / "livepose"
CLIPS = ("sign-language-processing_pose/videos/SOUP.mp4", "sign-language-processing_pose/videos/FOOTBALL.mp4",
         "sign-language-processing_pose/src/python/tests/data/test_video.mp4",
         "Hand-keypoints/test_examples/webm/hands1.webm", "Hand-keypoints/test_examples/webm/hands3.webm",
         "Hand-keypoints/test_examples/webm/hands5.webm")


def batch(pipeline: str, folder: Path, out: Path, workers: int, max_frames: int | None = None,
          ray: bool = False) -> tuple[float, int]:
    command = [str(LIVEPOSE), "batch", pipeline, str(folder), "--out", str(out), "--workers", str(workers),
               "--no-progress"] + (["--max-frames", str(max_frames)] if max_frames else []) + (["--ray"] if ray else [])
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"batch failed: {result.stderr[-2000:]}")
    frames = sum(row["frames"] for row in json.loads((out / "summary.json").read_text()))
    return seconds, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", default="pose")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-workers", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="also each worker count on a local Ray")
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "clips"
        folder.mkdir()
        for clip in CLIPS:
            (folder / Path(clip).name).symlink_to(MEDIA / clip)
        variants = [(n, False) for n in range(1, args.max_workers + 1)]
        if args.ray:
            variants += [(n, True) for n in range(1, args.max_workers + 1)]
        results: dict[tuple[int, bool], list[tuple[float, int]]] = {v: [] for v in variants}
        ratios: dict[tuple[int, bool], list[float]] = {v: [] for v in variants}
        for round_index in range(args.rounds):
            rates = {}
            for workers, ray in variants:
                out = Path(scratch) / f"out-{round_index}-{workers}-{ray}"
                seconds, frames = batch(args.pipeline, folder, out, workers, ray=ray)
                results[(workers, ray)].append((seconds, frames))
                rates[(workers, ray)] = frames / seconds
            for variant in variants:
                ratios[variant].append(rates[variant] / rates[(1, False)])
        overhead, _ = batch(args.pipeline, folder, Path(scratch) / "overhead", 1, max_frames=1)
    print(f"pipeline {args.pipeline}, {len(CLIPS)} clips, {results[(1, False)][0][1]} frames, {args.rounds} rounds")
    print("| workers | where | wall s (median) | frames/s (median) | vs 1 local worker (median of rounds) |")
    print("|---|---|---|---|---|")
    for (workers, ray), runs in results.items():
        seconds = median(s for s, _ in runs)
        print(f"| {workers} | {'local Ray' if ray else 'processes'} | {seconds:.1f} "
              f"| {median(f / s for s, f in runs):.1f} | {median(ratios[(workers, ray)]):.2f} |")
    print(f"per-input overhead (one frame each, 1 worker): {overhead / len(CLIPS):.2f} s")


if __name__ == "__main__":
    main()
