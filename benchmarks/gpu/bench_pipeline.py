"""hands+face on a 720p clip: offline frames/s, where the time goes, realtime latency, concurrent streams.

    python benchmarks/gpu/bench_pipeline.py --clip CLIP.mp4 --json out.json [--budget 200]

1. **Offline** (``livepose run hands_face --offline --headless``, one process per variant): frames/s of
   the CPU provider with OpenCV crops (the baseline, measured in the same run) and of each GPU variant
   (CUDA provider; crops by OpenCV, by torch bit-exact, by torch grid_sample; ``max_batch`` 2 for the
   hands), with the ratio to the baseline. Without a working CUDA provider every variant runs on the CPU
   and the rows say so (the rehearsal).
2. **Where the time goes**: the same models and algorithm on one thread, one frame after another,
   each stage timed (the device synchronised after each, which serialises what the pipeline overlaps):
   decode, colour conversion, upload, crops, each model, the rest of the post-processing.
3. **Realtime**: the clip paced at its own rate (prepare.sh re-times example_2 to 30 fps): frames
   delivered and latency p50/p95 at the sink.
4. **Streams**: N such realtime pipelines at once, each its own process (one camera each; batching
   across the streams of one pipeline needs several cameras in one pipeline, issue 21), with
   ``max_batch`` 1 and 2. A count holds when every stream delivers >= 95 % of its frames.
   Counts are tried from the largest down, within ``--budget`` seconds.
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
from collections import defaultdict
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "pipelines" / "hands_face.yaml"
MODEL_NODES = ("palms", "hands", "face")
HELD = 0.95


def cuda_works() -> bool:
    from livepose.models.runtime import provider_problem

    return provider_problem("cuda") is None


def node_settings(provider: str, preprocess: str, max_batch: int) -> list[str]:
    settings = [f"{node}.provider={provider}" for node in MODEL_NODES]
    settings += [f"{node}.preprocess={preprocess}" for node in MODEL_NODES]
    settings += [f"hands.max_batch={max_batch}", "face.max_num_faces=2"]
    return [item for setting in settings for item in ("--set", setting)]


def livepose_command(clip: Path, metrics: Path, offline: bool, settings: list[str]) -> list[str]:
    return [sys.executable, "-m", "livepose", "run", str(PIPELINE), "--source", str(clip), "--headless",
            "--metrics", str(metrics), *(["--offline"] if offline else []), *settings]


def read_metrics(path: Path) -> dict[str, float]:
    data = json.loads(path.read_text())
    sink = data["nodes"]["window"]
    latency = sink.get("latency_ms") or {}
    return {"captured": data["captured"], "delivered": data["delivered"],
            "kept": data["delivered"] / data["captured"] if data["captured"] else 0.0,
            "fps": sink["fps"], "wall_s": data["wall_seconds"],
            "latency_p50": latency.get("p50") or 0.0, "latency_p95": latency.get("p95") or 0.0}


def offline_rows(clip: Path, work: Path, gpu: bool) -> list[dict[str, object]]:
    provider = "cuda" if gpu else "cpu"
    variants = [("CPU provider, OpenCV crops (baseline)", "cpu", "opencv", 1),
                (f"{provider}, OpenCV crops", provider, "opencv", 1),
                (f"{provider}, torch crops (bit-exact)", provider, "torch", 1),
                (f"{provider}, torch crops (grid_sample)", provider, "torch-float", 1),
                (f"{provider}, torch crops (grid_sample), max_batch 2", provider, "torch-float", 2)]
    rows: list[dict[str, object]] = []
    for label, node_provider, preprocess, max_batch in variants:
        metrics = work / "offline.json"
        done = subprocess.run(livepose_command(clip, metrics, True, node_settings(node_provider, preprocess, max_batch)), check=False,
                              capture_output=True, text=True, cwd=work)
        if done.returncode != 0:
            rows.append({"variant": label, "error": done.stderr.strip().splitlines()[-1:]})
            print(f"offline {label}: FAILED {done.stderr[-400:]}", flush=True)
            continue
        figures = read_metrics(metrics)
        rows.append({"variant": label, **figures})
        print(f"offline {label}: {figures['delivered']} frames at {figures['fps']:.1f} fps", flush=True)
    baseline = rows[0].get("fps") or 0.0
    for row in rows:
        if "fps" in row and baseline:
            row["ratio_to_baseline"] = round(float(row["fps"]) / float(baseline), 2)  # type: ignore[arg-type]
    return rows


class StageClock:
    """Milliseconds per named stage, summed over a run; ``sync`` waits for the device before a reading."""

    def __init__(self, sync) -> None:
        self.sync = sync
        self.totals: dict[str, float] = defaultdict(float)

    def timed(self, stage: str, work, *args):
        start = time.perf_counter()
        result = work(*args)
        self.sync()
        self.totals[stage] += (time.perf_counter() - start) * 1e3
        return result


def breakdown(clip: Path, gpu: bool, preprocess: str) -> dict[str, object]:
    """One thread, frame after frame: decode → RGB → hands (detect or track) → face (detect or track)."""
    import cv2

    from livepose.io.sources import open_source, parse_source
    from livepose.nodes.tracking import open_model
    from livepose.vision.face import FaceDetector, FaceLandmarker
    from livepose.vision.hands import HandLandmarker, PalmDetector
    from livepose.vision.tracking import DetectionStep

    provider = "cuda" if gpu else "cpu"
    sync = lambda: None
    if gpu and preprocess != "opencv":
        import torch

        sync = torch.cuda.synchronize
    clock = StageClock(sync)

    class TimedModel:
        def __init__(self, name: str, run) -> None:
            self.name, self.run = name, run

        def __call__(self, batch):
            return clock.timed(f"model {self.name}", self.run, batch)

    class TimedCropper:
        def __init__(self, cropper) -> None:
            self.cropper = cropper
            self.frames = getattr(cropper, "frames", None)

        def _upload(self, image) -> None:
            if self.frames is not None:
                clock.timed("upload", self.frames.get, image)

        def crops(self, image, rects, spec):
            self._upload(image)
            return clock.timed("crops", self.cropper.crops, image, rects, spec)

        def letterbox(self, image, spec):
            self._upload(image)
            return clock.timed("crops", self.cropper.letterbox, image, spec)

    def opened(name: str, short: str, max_batch: int = 1):
        model, cropper = open_model(name, provider, 1, max_batch=max_batch, preprocess=preprocess)
        return TimedModel(short, model), TimedCropper(cropper)

    palm, palm_crops = opened("mediapipe/palm_detection_full", "palm_detection")
    hand, hand_crops = opened("mediapipe/hand_landmark_full", "hand_landmark")
    face_detector, face_detector_crops = opened("mediapipe/face_detection_short_range", "face_detection")
    face_mesh, face_mesh_crops = opened("mediapipe/face_landmark", "face_landmark")
    hands_detect = DetectionStep(PalmDetector(palm, cropper=palm_crops))
    hands_landmarks = HandLandmarker(hand, cropper=hand_crops)
    faces_detect = DetectionStep(FaceDetector(face_detector, cropper=face_detector_crops, max_num_faces=2))
    faces_landmarks = FaceLandmarker(face_mesh, cropper=face_mesh_crops)

    source = open_source(parse_source(str(clip)))
    hand_rois: tuple = ()
    face_rois: tuple = ()
    frames = 0
    start = time.perf_counter()
    in_steps = 0.0
    while True:
        frame = clock.timed("decode", source.read)
        if frame is None:
            break
        rgb = clock.timed("colour conversion", cv2.cvtColor, frame.image, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        step_start = time.perf_counter()
        rois = hands_detect(rgb, hand_rois)
        hand_rois = hands_landmarks(rgb, rois).next_rois
        rois = faces_detect(rgb, face_rois)
        face_rois = faces_landmarks(rgb, rois).next_rois
        in_steps += (time.perf_counter() - step_start) * 1e3
        frames += 1
    total = (time.perf_counter() - start) * 1e3
    source.close()
    stages = dict(clock.totals)
    measured_in_steps = sum(v for k, v in stages.items() if k not in ("decode", "colour conversion"))
    stages["post-processing and Python"] = in_steps - measured_in_steps
    stages["loop and other Python"] = total - in_steps - stages["decode"] - stages["colour conversion"]
    per_frame = {stage: round(ms / max(frames, 1), 3) for stage, ms in stages.items()}
    return {"provider": provider, "preprocess": preprocess, "frames": frames,
            "fps": round(frames / (total / 1e3), 1), "ms_per_frame": per_frame}


def realtime_runs(clip: Path, work: Path, count: int, settings: list[str]) -> list[dict[str, float]]:
    """``count`` realtime pipelines at once on the paced clip, each in its own process."""
    runs = []
    for i in range(count):
        metrics = work / f"stream{i}.json"
        metrics.unlink(missing_ok=True)
        runs.append((subprocess.Popen(livepose_command(clip, metrics, False, settings), cwd=work,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True), metrics))
    results = []
    for process, metrics in runs:
        _, errors = process.communicate()
        if process.returncode != 0 or not metrics.exists():
            results.append({"error": errors.strip()[-300:], "kept": 0.0})
        else:
            results.append(read_metrics(metrics))
    return results


def summarise_streams(count: int, max_batch: int, runs: list[dict[str, float]]) -> dict[str, object]:
    kept = [float(r["kept"]) for r in runs]
    good = [r for r in runs if "error" not in r]
    return {"streams": count, "max_batch": max_batch, "held": min(kept) >= HELD,
            "kept_min": round(min(kept), 3), "kept_median": round(median(kept), 3),
            "fps_median": round(median(float(r["fps"]) for r in good), 1) if good else 0.0,
            "latency_p50_median": round(median(float(r["latency_p50"]) for r in good), 1) if good else 0.0,
            "latency_p95_max": round(max(float(r["latency_p95"]) for r in good), 1) if good else 0.0,
            "errors": [r["error"] for r in runs if "error" in r][:2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, required=True, help="a 720p clip with hands and a face (30 fps)")
    parser.add_argument("--streams", type=int, nargs="+", default=[32, 16, 8, 4, 2, 1])
    parser.add_argument("--budget", type=float, default=200.0, help="seconds for the stream counts")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    gpu = cuda_works()
    provider = "cuda" if gpu else "cpu"
    best = "torch-float" if gpu else "opencv"
    results: dict[str, object] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": platform.node(),
                                  "cpus": os.cpu_count(), "load_1min": os.getloadavg()[0], "cuda": gpu,
                                  "clip": str(args.clip)}
    if gpu:
        from livepose.models.runtime import gpu_name

        results["gpu"] = gpu_name()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        results["offline"] = offline_rows(args.clip, work, gpu)
        results["breakdown"] = [breakdown(args.clip, gpu, preprocess) for preprocess in ("opencv", "torch-float")]
        for row in results["breakdown"]:  # type: ignore[union-attr]
            print(f"breakdown {row['provider']} {row['preprocess']}: {row['fps']} fps, ms/frame {row['ms_per_frame']}",
                  flush=True)
        [single] = realtime_runs(args.clip, work, 1, node_settings(provider, best, 2))
        results["realtime"] = single
        print(f"realtime: {single}", flush=True)
        streams: list[dict[str, object]] = []
        deadline = time.monotonic() + args.budget
        for max_batch in (2, 1):
            for count in sorted(args.streams, reverse=True):
                if time.monotonic() > deadline:
                    break
                row = summarise_streams(count, max_batch,
                                        realtime_runs(args.clip, work, count, node_settings(provider, best, max_batch)))
                streams.append(row)
                print(f"streams {row}", flush=True)
                if row["held"]:
                    break
        results["streams"] = streams
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
