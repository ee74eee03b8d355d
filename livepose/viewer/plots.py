"""The live plots (pyqtgraph): throughput, latency, processing time per node, queues, landmark trace."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtCore, QtWidgets

from livepose.viewer.series import PLOT_SECONDS, RunSeries, Series
from livepose.viewer.trace import LandmarkTrace, trace_choices

_DASHED = QtCore.Qt.DashLine

# Wide pens would be drawn segment by segment, and with PyQt5 5.15's sip every redraw leaks the
# segment arrays (about 70 bytes each, twenty curves ten times a second): drawn as one path, none.
pg.setConfigOptions(segmentedLineMode="off")


def _pen(index: int, count: int, width: float = 1.0, style: QtCore.Qt.PenStyle = QtCore.Qt.SolidLine) -> QtCore.QObject:
    # One-pixel cosmetic pens: Qt's raster engine strokes wider ones several times slower, and the
    # plots are repainted ten times a second on the main thread.
    return pg.mkPen(pg.intColor(index, hues=max(count, 6), values=1, maxValue=255, minValue=150), width=width,
                    style=style)


class PlotsPanel(QtWidgets.QWidget):
    """Six stacked plots sharing a time axis (the last ``PLOT_SECONDS``), redrawn by :meth:`refresh`."""

    def __init__(self, series: RunSeries, trace: LandmarkTrace, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._series = series
        self._trace = trace
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        layout.addWidget(self.graphics)
        chooser_row = QtWidgets.QHBoxLayout()
        chooser_row.addWidget(QtWidgets.QLabel("trace"))
        self.chooser = QtWidgets.QComboBox()
        self.chooser.setFocusPolicy(QtCore.Qt.NoFocus)
        self._choices = trace_choices()
        for choice in self._choices:
            self.chooser.addItem(choice.label)
        self.chooser.setCurrentIndex(self._choices.index(trace.choice) if trace.choice in self._choices else 0)
        if trace.choice not in self._choices:
            self._choices.insert(0, trace.choice)
            self.chooser.insertItem(0, trace.choice.label)
            self.chooser.setCurrentIndex(0)
        self.chooser.currentIndexChanged.connect(lambda i: self._trace.choose(self._choices[i]))
        chooser_row.addWidget(self.chooser, 1)
        layout.addLayout(chooser_row)

        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, dict[str, pg.PlotDataItem]] = {}
        self._add("throughput", "frames/s", {f"{n}": _pen(i, 2) for i, n in enumerate(series.throughput)})
        self._add("latency", "ms", {"p50": _pen(0, 2), "p95": _pen(1, 2, style=_DASHED)})
        self._add("processing", "ms", {n: _pen(i, len(series.processing)) for i, n in enumerate(series.processing)})
        self._add("queue fill", "%", {n: _pen(i, len(series.queue_fill)) for i, n in enumerate(series.queue_fill)})
        drops = {n: _pen(i, len(series.drops) + 1) for i, n in enumerate(series.drops)}
        drops["not admitted"] = _pen(len(series.drops), len(series.drops) + 1, style=_DASHED)
        self._add("drops", "/s", drops)
        self._add("trace", "px", {"x raw": pg.mkPen((150, 150, 150), width=1),
                                  "y raw": pg.mkPen((150, 150, 150), width=1, style=_DASHED),
                                  "x": _pen(0, 2), "y": _pen(1, 2, style=_DASHED)})
        self.plots["queue fill"].setYRange(0, 100)

    def _add(self, title: str, unit: str, pens: dict[str, QtCore.QObject]) -> None:
        plot = self.graphics.addPlot(row=len(self.plots), col=0, title=title)
        plot.setLabel("left", unit)
        plot.setXRange(-PLOT_SECONDS, 0, padding=0)
        plot.setMouseEnabled(x=False, y=True)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.getAxis("left").enableAutoSIPrefix(False)
        if title != "trace":
            plot.getViewBox().setLimits(yMin=0)  # rates, times and fills: never below zero
        if len(pens) > 1:
            legend = plot.addLegend(offset=(2, 2), labelTextSize="7pt", verSpacing=-6, horSpacing=6,
                                    colCount=3 if len(pens) > 4 else 2, brush=pg.mkBrush(0, 0, 0, 140))
            legend.setZValue(-1)  # under the curves: they stay readable where the legend is
        if self.plots:
            plot.setXLink(next(iter(self.plots.values())))
        self.plots[title] = plot
        self.curves[title] = {name: plot.plot(name=name, pen=pen) for name, pen in pens.items()}

    def refresh(self, now: float) -> None:
        """Redraw every curve from the series and the trace, ``now`` (monotonic) at the right edge."""
        series = self._series
        for title, group in (("throughput", series.throughput), ("latency", series.latency),
                             ("processing", series.processing), ("queue fill", series.queue_fill),
                             ("drops", {**series.drops, "not admitted": series.source_drops})):
            for name, line in group.items():
                self._set(self.curves[title][name], line, now)
        points = self._trace.points()
        times = np.array([p.time for p in points]) - now
        raw = np.array([p.raw for p in points]).reshape(-1, 2)
        smoothed_points = [p.smoothed for p in points]
        curves = self.curves["trace"]
        if points and all(s is not None for s in smoothed_points):
            smoothed = np.array(smoothed_points)
            curves["x raw"].setData(times, raw[:, 0], connect="finite")
            curves["y raw"].setData(times, raw[:, 1], connect="finite")
            curves["x"].setData(times, smoothed[:, 0], connect="finite")
            curves["y"].setData(times, smoothed[:, 1], connect="finite")
        else:  # no tracker smoothing: the landmarks as found, in the bold lines
            curves["x raw"].setData([], [])
            curves["y raw"].setData([], [])
            curves["x"].setData(times, raw[:, 0])
            curves["y"].setData(times, raw[:, 1])

    @staticmethod
    def _set(curve: pg.PlotDataItem, line: Series, now: float) -> None:
        times, values = line.arrays(now)
        if len(values) and not np.isfinite(values).any():
            curve.setData([], [])
            return
        curve.setData(times, values, connect="finite")

    def has_data(self) -> bool:
        """Whether any plotted line holds a finite point (for tests)."""
        for group in self.curves.values():
            for curve in group.values():
                _, y = curve.getData()
                if y is not None and len(y) and any(math.isfinite(v) for v in y):
                    return True
        return False
