"""Whether a Qt window can open here, decided without importing Qt.

Qt aborts the whole process when its platform plugin cannot connect to a display, so the display
is checked before Qt is loaded, as the OpenCV window's is.
"""

from __future__ import annotations

import importlib.util
import os

from livepose.nodes.display import x_display_problem

HEADLESS_PLATFORMS = ("offscreen", "minimal")
"""``QT_QPA_PLATFORM`` values that need no display (tests, screenshots on a server)."""

INSTALL_HINT = "pip install PyQt5 pyqtgraph"


def qt_unavailable_reason() -> str | None:
    """Why the Qt viewer cannot open a window here, or ``None`` if it can."""
    missing = [name for name in ("PyQt5", "pyqtgraph") if importlib.util.find_spec(name) is None]
    if missing:
        return f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed ({INSTALL_HINT})"
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in HEADLESS_PLATFORMS:
        return None
    if platform in ("", "xcb"):
        return x_display_problem()
    return None
