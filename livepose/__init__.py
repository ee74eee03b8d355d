"""livepose: real-time hand and face keypoint pipelines."""

from livepose.graph.frame import Frame
from livepose.graph.node import Node, param

__all__ = ["Frame", "Node", "param", "__version__"]
__version__ = "0.1.0"
