"""Start-up time of the command line: how long a user waits before livepose does anything.

Each command runs as a fresh process (the console script beside this Python), in an empty
temporary folder, ``--runs`` times after one untimed warm-up run (which fills the OS file cache);
the table gives the median and the fastest run in seconds.

    python benchmarks/bench_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def commands() -> dict[str, list[str]]:
    livepose = shutil.which("livepose", path=str(Path(sys.executable).parent))
    if livepose is None:
        sys.exit(f"no livepose console script beside {sys.executable}; pip install -e . first")
    return {
        "livepose --help": [livepose, "--help"],
        "livepose validate hands_face": [livepose, "validate", "hands_face"],
        'python -c "import livepose"': [sys.executable, "-c", "import livepose"],
    }


def timings(command: list[str], runs: int, cwd: str) -> list[float]:
    subprocess.run(command, cwd=cwd, capture_output=True, check=True)
    result = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        result.append(time.perf_counter() - start)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.platform()}, {args.runs} runs each")
    print(f"{'command':32} {'median s':>9} {'min s':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for name, command in commands().items():
            seconds = timings(command, args.runs, folder)
            print(f"{name:32} {statistics.median(seconds):9.3f} {min(seconds):7.3f}")


if __name__ == "__main__":
    main()
