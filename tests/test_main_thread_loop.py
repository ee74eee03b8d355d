"""A node that owns the main thread (``Node.main_thread_loop``), without Qt: the runner's side of the viewer."""

from __future__ import annotations

import threading

from livepose.graph.controls import RunControls
from livepose.graph.node import Node
from livepose.graph.runner import Runner
from livepose.graph.spec import Overrides, parse_pipeline

PIPELINE = """\
nodes:
  - {name: src, type: "pipeline_nodes:Counter", params: {count: COUNT}, outputs: a}
  - {name: tag, type: "pipeline_nodes:Tag", inputs: a, outputs: b, hotkey: t}
  - {name: gui, type: "test_main_thread_loop:LoopOwner", inputs: b}
"""


class LoopOwner(Node):
    """Records what its main-thread loop saw of the run, then waits for the run to end."""

    inputs = ("frame",)
    seen: dict = {}
    stop_early = False

    def main_thread_loop(self):  # type: ignore[no-untyped-def]
        def loop(controls: RunControls) -> None:
            seen = LoopOwner.seen
            seen["thread"] = threading.current_thread() is threading.main_thread()
            seen["toggles"] = [(t.name, t.hotkey) for t in controls.toggles()]
            seen["mode"] = controls.mode
            if LoopOwner.stop_early:
                controls.request_stop("closed early")
                return
            controls.press_key("t")
            seen["tag enabled after t"] = controls.enabled("tag")
            controls.finished.wait(30)
            seen["result"] = controls.result

        return loop

    def process(self, frame):  # type: ignore[no-untyped-def]
        LoopOwner.seen.setdefault("node threads", set()).add(threading.current_thread() is threading.main_thread())


def run(stop_early: bool = False):  # type: ignore[no-untyped-def]
    LoopOwner.seen, LoopOwner.stop_early = {}, stop_early
    # Stopped early, the source is endless (count 0): only the loop's request can end the run.
    spec = parse_pipeline(PIPELINE.replace("COUNT", "0" if stop_early else "20"), "main_thread.yaml",
                          Overrides(mode="offline"))
    return Runner(spec, install_signal_handlers=False).run()


def test_the_loop_gets_the_main_thread_while_the_nodes_run_on_theirs():
    result = run()
    seen = LoopOwner.seen
    assert result.exit_code == 0
    assert seen["thread"] is True and seen["node threads"] == {False}
    assert seen["toggles"] == [("tag", "t")] and seen["mode"] == "offline"
    assert seen["tag enabled after t"] is False  # the key did what it does from a display
    assert seen["result"] is result  # the loop is told how the run ended


def test_a_loop_that_returns_early_stops_the_run_in_order():
    result = run(stop_early=True)
    assert result.exit_code == 0 and result.reason == "closed early"


def test_off_the_main_thread_no_node_is_asked_for_a_loop():
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(result=run()))
    thread.start()
    thread.join(30)
    assert outcome["result"].exit_code == 0
    assert "thread" not in LoopOwner.seen and LoopOwner.seen["node threads"] == {False}
