"""The live viewer: a PyQt5 + pyqtgraph window with the video, live plots of the run and controls.

The ``viewer`` node (``livepose.nodes.viewer``) is the pipeline's side; the window runs on the main
thread (:meth:`~livepose.graph.node.Node.main_thread_loop`). Qt and pyqtgraph are imported only
by the modules that draw (``app``, ``window``, ``video``, ``plots``), and only once a
window opens. ``availability``, ``bridge``, ``trace`` and ``series`` are plain Python, unit-tested
without Qt: the frame hand-off between the threads, the landmark trace and the plotted series.
"""
