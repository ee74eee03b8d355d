"""Make the README's screenshot of the viewer: ``python tools/make_viewer_screenshot.py [OUT.png]``.

Runs the packaged ``hands_face`` demo on the synthetic test pattern (no person in the picture, so
the image may be committed) with Qt offscreen, lets the plots fill for ``--seconds``, grabs the
whole window and writes it (default ``assets/viewer.png``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from livepose.graph.runner import Runner  # noqa: E402 (after the platform is chosen)
from livepose.graph.spec import Overrides, load_pipeline  # noqa: E402
from livepose.pipelines import find  # noqa: E402
from livepose.viewer.app import use_pyqt_plugins  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "assets" / "viewer.png")
    parser.add_argument("--seconds", type=float, default=12.0, help="run this long before the grab")
    parser.add_argument("--size", default="1400x800", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    use_pyqt_plugins()
    from PyQt5 import QtCore, QtWidgets

    from livepose.viewer.window import ViewerWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["livepose"])
    spec = load_pipeline(find("hands_face"), Overrides(source="synthetic"))
    runner = Runner(spec, install_signal_handlers=False)

    def grab() -> None:
        window = next(w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, ViewerWindow))
        window._tick()
        window.grab().save(str(args.out))
        print(f"wrote {args.out} ({window.width()}x{window.height()})")
        window.close()

    def size_window() -> None:
        for window in QtWidgets.QApplication.topLevelWidgets():
            if isinstance(window, ViewerWindow):
                window.resize(width, height)

    QtCore.QTimer.singleShot(200, size_window)
    QtCore.QTimer.singleShot(round(args.seconds * 1000), grab)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = runner.run()
    del app
    raise SystemExit(result.exit_code)


if __name__ == "__main__":
    main()
