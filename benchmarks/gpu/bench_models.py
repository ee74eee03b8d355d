"""Model latency per execution provider: the hand and face models through ``ModelSession.run`` (host
arrays in and out) and through ``livepose.gpu.binding.TorchBinding`` (torch tensors already on the
session's device, outputs kept there), CPU provider vs CUDA provider, plus a CUDA-vs-CPU output check.

    python benchmarks/gpu/bench_models.py --json results.json        # every provider that initialises

Rows: model, provider, path (``session.run`` or ``binding``), batch, median and p95 ms per call of the
whole batch. CUDA rows are timed after ``torch.cuda.synchronize()``. The ``agreement`` section gives
the largest absolute difference of each output between the CUDA and the CPU provider on the same input.
The landmark models also run in their dynamic-batch conversion (``max_batch`` > 1): a batch in one call.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import onnxruntime as ort
import torch

from timing import time_calls
from livepose.gpu.binding import TorchBinding
from livepose.models.runtime import ModelSession, gpu_name, provider_problem

MODELS = ("mediapipe/hand_landmark_full", "mediapipe/face_landmark",
          "mediapipe/palm_detection_full", "mediapipe/face_detection_short_range")
DYNAMIC_BATCH_MODELS = ("mediapipe/hand_landmark_full", "mediapipe/face_landmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--threads", type=int, default=0, help="CPU provider's intra-op threads (0: default)")
    parser.add_argument("--json", help="write the results here as JSON too")
    args = parser.parse_args()

    providers = ["cpu"] + (["cuda"] if provider_problem("cuda") is None and torch.cuda.is_available() else [])
    results: dict[str, object] = {
        "onnxruntime": ort.__version__, "onnxruntime_file": ort.__file__, "torch": torch.__version__,
        "available_providers": ort.get_available_providers(), "gpu": gpu_name(),
        "cuda_problem": provider_problem("cuda"), "rows": [], "agreement": [],
    }
    rows: list[dict[str, object]] = results["rows"]  # type: ignore[assignment]
    rng = np.random.default_rng(0)
    for model in DYNAMIC_BATCH_MODELS:
        # The dynamic-batch conversion (max_batch > 1): the whole batch in one call, against one call per item.
        for provider in providers:
            session = ModelSession(model, provider=provider, intra_op_threads=args.threads, dynamic_batch=True)
            device = torch.device(f"cuda:{session.device_id}" if session.on_gpu else "cpu")
            sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
            binding = TorchBinding(session)
            for batch in args.batches:
                shape = [int(d) for d in session.inputs[0].shape[1:]]
                tensors = torch.from_numpy(rng.random((batch, *shape), dtype=np.float32)).to(device)
                median, p95 = time_calls(lambda: binding.run(tensors), args.repeats, sync)  # noqa: B023
                rows.append({"model": model, "provider": session.provider, "path": "binding, dynamic batch",
                             "batch": batch, "median_ms": round(median, 3), "p95_ms": round(p95, 3)})
                print(f"{model:<40} {session.provider:<5} dynamic batch {batch}: "
                      f"median {median:8.3f} ms  p95 {p95:8.3f} ms", flush=True)
    for model in MODELS:
        sessions = {p: ModelSession(model, provider=p, intra_op_threads=args.threads) for p in providers}
        shape = [int(d) for d in sessions["cpu"].inputs[0].shape[1:]]
        outputs_by_provider: dict[str, dict[str, np.ndarray]] = {}
        for batch in args.batches:
            host = rng.random((batch, *shape), dtype=np.float32)
            for provider, session in sessions.items():
                device = torch.device(f"cuda:{session.device_id}" if session.on_gpu else "cpu")
                sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
                items = [host[i:i + 1] for i in range(batch)]  # MediaPipe's models take a batch of 1
                run = lambda: [session.run(item) for item in items]  # noqa: E731
                binding = TorchBinding(session)
                tensors = torch.from_numpy(host).to(device)
                bound = lambda: binding.run(tensors)  # noqa: E731
                for path, work in (("session.run", run), ("binding", bound)):
                    median, p95 = time_calls(work, args.repeats, sync)
                    rows.append({"model": model, "provider": session.provider, "path": path, "batch": batch,
                                 "median_ms": round(median, 3), "p95_ms": round(p95, 3)})
                    print(f"{model:<40} {session.provider:<5} {path:<12} batch {batch}: "
                          f"median {median:8.3f} ms  p95 {p95:8.3f} ms", flush=True)
                if batch == args.batches[0]:
                    outputs_by_provider[provider] = {k: v.detach().cpu().numpy().copy()
                                                     for k, v in binding.run(tensors).items()}
        if "cuda" in outputs_by_provider:
            for name, value in outputs_by_provider["cpu"].items():
                diff = float(np.abs(outputs_by_provider["cuda"][name] - value).max())
                scale = float(np.abs(value).max())
                results["agreement"].append({"model": model, "output": name, "max_abs_diff": diff,  # type: ignore[union-attr]
                                             "max_abs_value": scale})
                print(f"{model:<40} cuda vs cpu {name}: max |diff| {diff:.3g} (max |value| {scale:.3g})")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(results, stream, indent=2)


if __name__ == "__main__":
    main()
