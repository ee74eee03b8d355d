"""Testing nodes and pipelines without a camera: ``livepose.testing``.

- :func:`run_node` runs one node class on frames (images, made-up frames, a clip, a keypoint file),
  with ``setup`` and ``close`` called as in a pipeline and no threads, and checks that the node
  keeps its contract (:class:`ContractError`). :class:`NodeHarness` does it one call at a time.
- :func:`frame`, :func:`hand`, :func:`face` make frames and results of the types
  ``livepose.results`` documents; :func:`frames_from` reads them from a clip or a ``.jsonl``.
- :func:`run_pipeline` runs a whole pipeline offline; a :class:`Collect` sink keeps its frames.

A test of an effect node::

    from livepose.testing import frame, hand, run_node
    from my_effects import FingerDots

    def test_a_dot_on_the_index_fingertip():
        [drawn] = run_node(FingerDots, [frame(hands=[hand()])], params={"radius": 3})
        ...
"""

from livepose.testing.harness import ContractError, NodeHarness, run_node
from livepose.testing.pipeline import Collect, PipelineOutcome, run_pipeline
from livepose.testing.samples import face, frame, frames_from, hand, open_hand_landmarks

__all__ = ["Collect", "ContractError", "NodeHarness", "PipelineOutcome", "face", "frame",
           "frames_from", "hand", "open_hand_landmarks", "run_node", "run_pipeline"]
