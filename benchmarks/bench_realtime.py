"""Realtime delivery: how many of a paced clip's frames reach the sinks, at what rate and latency.

Runs the real ``livepose run`` command (``--headless --record``), the clip paced at its own rate as
a camera would deliver it, for each variant, in interleaved rounds, on a quiet machine and with
``--load N`` busy processes started by this script (the machines this project runs on are shared,
at a load of 5 to 10). Variants:

- ``hands``: pipelines/hands.yaml, the baseline that hands+face is held to;
- ``hands_face``: pipelines/hands_face.yaml with admission at the source (the default,
  ``max_in_flight=1``) and with two frames in flight;
- ``hands_face, no admission``: ``max_in_flight=0``, every queue dropping on its own (the behaviour
  before admission).

Per run: frames captured, frames that entered the model nodes, frames delivered to every sink (the
recorder's count), delivered/entered, delivered fps and latency at the sinks. Medians over rounds.

    python benchmarks/bench_realtime.py [--rounds 3] [--load 6] [--clip PATH] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media"))
CLIP = MEDIA / "Hand-keypoints/test_examples/webm/hands1.webm"
LIVEPOSE = Path(sys.executable).parent / "livepose"
MODEL_NODES = {"palms", "hands", "face"}

VARIANTS = {
    "hands": ("hands", []),
    "hands_face": ("hands_face", []),
    "hands_face, 2 in flight": ("hands_face", ["--set", "max_in_flight=2"]),
    "hands_face, no admission": ("hands_face", ["--set", "max_in_flight=0"]),
}


@contextmanager
def busy_load(processes: int) -> Iterator[None]:
    """``processes`` Python processes spinning on the CPU for the duration of the block."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def run_once(pipeline: str, extra: list[str], clip: Path, work: Path) -> dict[str, float]:
    metrics = work / "metrics.json"
    command = [str(LIVEPOSE), "run", str(ROOT / "pipelines" / f"{pipeline}.yaml"), "--source", str(clip), "--headless",
               "--record", str(work / "out.mp4"), "--metrics", str(metrics), *extra]
    subprocess.run(command, check=True, capture_output=True, cwd=work)
    data = json.loads(metrics.read_text())
    nodes = data["nodes"]
    entered = max(n["frames_in"] for name, n in nodes.items() if name in MODEL_NODES)
    sink = nodes["record_cli"]
    return {"captured": data["captured"], "entered": entered, "delivered": data["delivered"],
            "kept": data["delivered"] / entered if entered else 0.0, "fps": sink["fps"],
            "latency_p50": sink["latency_ms"]["p50"] or 0.0, "latency_p95": sink["latency_ms"]["p95"] or 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", type=int, default=6, help="busy processes for the loaded runs (0: quiet only)")
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    args = parser.parse_args()
    conditions = [("quiet", 0)] + ([(f"load +{args.load}", args.load)] if args.load else [])
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for condition, load in conditions:
            with busy_load(load):
                time.sleep(1.0 if load else 0.0)  # let the spinners reach the scheduler's steady state
                for _ in range(args.rounds):
                    for variant, (pipeline, extra) in VARIANTS.items():
                        results.setdefault((condition, variant), []).append(run_once(pipeline, extra, args.clip, work))
    print(f"{platform.node()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end, "
          f"{time.strftime('%Y-%m-%d')}, clip {args.clip.name}, medians of {args.rounds} rounds")
    header = ("condition", "variant", "captured", "entered", "delivered", "kept", "fps", "ratio", "p50 ms", "p95 ms")
    print(" | ".join(header))
    for (condition, variant), runs in results.items():
        med = {key: median(r[key] for r in runs) for key in runs[0]}
        # Same-condition, same-round ratio against hands.yaml alone.
        baseline = results[(condition, "hands")]
        ratio = median(r["fps"] / b["fps"] for r, b in zip(runs, baseline) if b["fps"])
        print(" | ".join([condition, variant, f"{med['captured']:.0f}", f"{med['entered']:.0f}",
                          f"{med['delivered']:.0f}", f"{100 * med['kept']:.0f} %", f"{med['fps']:.1f}",
                          f"{ratio:.2f}", f"{med['latency_p50']:.0f}", f"{med['latency_p95']:.0f}"]))
    if args.json:
        args.json.write_text(json.dumps({f"{c} / {v}": runs for (c, v), runs in results.items()}, indent=1))


if __name__ == "__main__":
    main()
