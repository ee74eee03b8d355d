"""``livepose eval``: how well a keypoint model finds annotated points, as the keypoint benchmarks measure it.

``datasets`` reads ground truth (COCO-style JSON as MMPose's datasets ship it, iBUG ``.pts`` faces),
``metrics`` holds PCK and NME as pure functions, ``evaluate`` runs a model on each sample and scores it,
``command`` is the command line.
"""
