"""The video area: the newest frame, aspect kept, fitted to the widget, on black."""

from __future__ import annotations

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets

from livepose.viewer.bridge import ShownFrame, ViewerBridge, fit_size


class VideoView(QtWidgets.QWidget):
    """Paints the frames the viewer node scaled for it; tells the bridge its size in device pixels."""

    def __init__(self, bridge: ViewerBridge, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._pixels: np.ndarray | None = None  # keeps the QImage's memory alive
        self._image: QtGui.QImage | None = None
        self.setAttribute(QtCore.Qt.WA_OpaquePaintEvent)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Expanding)
        self.setMinimumSize(160, 90)
        self.waiting_text = "starting: loading the models, opening the source..."
        """Shown until the first frame arrives (the window opens while the nodes set up)."""

    def show_frame(self, frame: ShownFrame) -> None:
        view = frame.view
        height, width = view.shape[:2]
        self._pixels = view
        self._image = QtGui.QImage(view.data, width, height, view.strides[0], QtGui.QImage.Format_BGR888)
        self.update()

    def image_rect(self) -> QtCore.QRect:
        """Where the frame is drawn, in widget coordinates."""
        if self._image is None:
            return QtCore.QRect()
        ratio = self.devicePixelRatioF()
        width, height = fit_size((self._image.width(), self._image.height()),
                                 (max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))))
        width, height = round(width / ratio), round(height / ratio)
        return QtCore.QRect((self.width() - width) // 2, (self.height() - height) // 2, width, height)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtCore.Qt.black)
        if self._image is not None:
            # Scaled by the node's thread to this size: drawn 1:1, unless the widget was just resized.
            painter.drawImage(self.image_rect(), self._image)
        else:
            painter.setPen(QtGui.QColor(200, 200, 200))
            painter.drawText(self.rect(), QtCore.Qt.AlignCenter, self.waiting_text)
        painter.end()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802
        ratio = self.devicePixelRatioF()
        self._bridge.set_view_area(round(self.width() * ratio), round(self.height() * ratio))
        super().resizeEvent(event)
