"""Start-up time of the command line: how long a user waits before livepose does anything.

Each command runs as a fresh process (the console script beside this Python), in an empty
temporary folder, ``--runs`` times after one untimed warm-up run (which fills the OS file cache).
For most the time is launch to exit; for a pipeline run it is launch to the first frame a sink
finished (``first_delivery_unix`` in ``--metrics``). With ``--load N`` the same again while N busy
processes compete for the CPU (these machines are shared). The table gives the median and the
fastest run in seconds.

    python benchmarks/bench_startup.py [--runs 10] [--load 6]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_realtime import busy_load

MODEL_FREE = """\
nodes:
  - {name: camera, type: capture, outputs: frames}
  - {name: draw, type: visualize, inputs: frames, outputs: annotated}
  - {name: window, type: display, inputs: annotated}
"""


def commands(folder: Path) -> dict[str, tuple[list[str], str]]:
    """Name -> (command, what is timed: 'exit' or 'first frame')."""
    livepose = shutil.which("livepose", path=str(Path(sys.executable).parent))
    if livepose is None:
        sys.exit(f"no livepose console script beside {sys.executable}; pip install -e . first")
    (folder / "model_free.yaml").write_text(MODEL_FREE)
    run = ["--source", "synthetic", "--max-frames", "5", "--headless", "--metrics", "metrics.json"]
    return {
        "livepose --help": ([livepose, "--help"], "exit"),
        "livepose validate hands_face": ([livepose, "validate", "hands_face"], "exit"),
        'python -c "import livepose"': ([sys.executable, "-c", "import livepose"], "exit"),
        "run hands_face without a camera (exit 2)": ([livepose, "run", "hands_face"], "exit"),
        "run model-free pipeline: first frame": ([livepose, "run", "model_free.yaml", *run], "first frame"),
        "run hands_face: first frame": ([livepose, "run", "hands_face", *run], "first frame"),
    }


def once(command: list[str], measure: str, cwd: Path) -> float:
    environment = {k: v for k, v in os.environ.items() if k != "LIVEPOSE_SOURCE"}
    launched = time.time()
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, env=environment)
    if measure == "exit":
        return time.perf_counter() - start
    first = json.loads((cwd / "metrics.json").read_text())["first_delivery_unix"]
    return first - launched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--load", type=int, default=0, help="also run with this many busy processes")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d')}, {args.runs} runs each")
    print(f"{'command':42} {'load':>5} {'median s':>9} {'min s':>7}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for load in [0] + ([args.load] if args.load else []):
            with busy_load(load):
                for label, (command, measure) in commands(folder).items():
                    once(command, measure, folder)
                    seconds = [once(command, measure, folder) for _ in range(args.runs)]
                    print(f"{label:42} {load:5d} {statistics.median(seconds):9.3f} {min(seconds):7.3f}")


if __name__ == "__main__":
    main()
