"""Soak: the demo pipeline for N minutes, realtime, sampling memory, files, threads and latency.

The clip (hands1.webm, hands and a face) is looped by remuxing its packets into one long file (no
re-encoding), so the run is one ordinary ``livepose.run("hands_face", ...)`` on a file paced at its
own rate, as a camera would deliver it. Every ``--every`` seconds it records, for the pipeline's
process and its worker processes together: resident memory, open file descriptors, threads, and
the delivered rate and end-to-end latency over the last second. At the end: the samples, and the
growth from the first minute to the last.

    python benchmarks/soak.py [--minutes 30] [--every 10] [--json soak.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import av

import livepose

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media"))
CLIP = MEDIA / "Hand-keypoints/test_examples/webm/hands1.webm"


def looped_clip(clip: Path, seconds: float, out: Path) -> Path:
    """``clip`` repeated until it lasts ``seconds``, packets copied with shifted timestamps."""
    with av.open(str(clip)) as source:
        stream = source.streams.video[0]
        packets = [p for p in source.demux(stream) if p.dts is not None]
        time_base = stream.time_base
        span = max(p.pts for p in packets) - min(p.pts for p in packets) + (packets[1].pts - packets[0].pts)
        with av.open(str(out), "w", format="matroska") as sink:
            copy = sink.add_stream_from_template(stream)
            loops = int(seconds / float(span * time_base)) + 1
            for loop in range(loops):
                for packet in packets:
                    packet.pts += span if loop else 0
                    packet.dts += span if loop else 0
                    packet.stream = copy
                    sink.mux(packet)
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the worker processes)."""
    tree, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        # A child belongs to the thread that started it: every thread's list is read.
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(pid) for pid in (task / "children").read_text().split()]
            except OSError:
                continue
            tree += children
            frontier += children
    return tree


def usage(pids: list[int]) -> dict[str, float]:
    rss = threads = files = 0
    for pid in pids:
        try:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
            rss += int(status["VmRSS"].split()[0])
            threads += int(status["Threads"])
            files += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return {"rss_mb": rss / 1024, "threads": threads, "open_files": files, "processes": len(pids)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--json", type=Path, help="write the samples here")
    args = parser.parse_args()
    samples = []
    with tempfile.TemporaryDirectory() as folder:
        clip = looped_clip(CLIP, args.minutes * 60 + 30, Path(folder) / "looped.mkv")
        started = time.monotonic()
        next_sample = started + args.every
        frames = 0
        with livepose.run("hands_face", source=clip, realtime=True) as run:
            for _ in run:
                frames += 1
                now = time.monotonic()
                if now >= next_sample:
                    live = run.metrics.live()
                    samples.append({"t": round(now - started, 1), "frames": frames, "fps": round(live.fps, 2),
                                    "latency_ms": round(live.latency_ms, 1), **usage(process_tree(os.getpid()))})
                    print(json.dumps(samples[-1]), flush=True)
                    next_sample += args.every
                if now - started >= args.minutes * 60:
                    break
    first = [s for s in samples if s["t"] <= 60] or samples[:1]
    last = [s for s in samples if s["t"] >= samples[-1]["t"] - 60] or samples[-1:]
    print(f"{platform.node()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {args.minutes:g} min, "
          f"{frames} frames, {len(samples)} samples")
    for key in ("rss_mb", "open_files", "threads", "fps", "latency_ms"):
        values = [s[key] for s in samples]
        print(f"{key:11} first minute {statistics.median(s[key] for s in first):8.1f}  last minute "
              f"{statistics.median(s[key] for s in last):8.1f}  min {min(values):8.1f}  max {max(values):8.1f}")
    if args.json:
        args.json.write_text(json.dumps(samples, indent=1))


if __name__ == "__main__":
    main()
