"""The results check: a node that requires a result no node upstream writes is refused, one that
only reads it is warned about, with the node type that writes it as the fix."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

from cli_runs import LIVEPOSE, TESTS
from livepose.graph.problems import Problem, ProblemReport
from livepose.graph.spec import parse_pipeline


def pipeline(nodes: str, streams: str = "") -> str:
    return f"name: t\n{streams}nodes:\n" + textwrap.indent(textwrap.dedent(nodes), "  ")


def problems(text: str) -> list[Problem]:
    """Every problem validating ``text`` finds, errors first, then warnings."""
    try:
        return parse_pipeline(text, "p.yaml").warnings
    except ProblemReport as report:
        return report.problems


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    return subprocess.run([str(LIVEPOSE), "validate", str(path)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


EFFECT_WITHOUT_HANDS = pipeline("""\
    - name: camera
      type: graph_check_nodes:Source
      outputs: frames
    - name: dots
      type: graph_check_nodes:NeedsHands
      inputs: frames
      outputs: dotted
    - name: out
      type: graph_check_nodes:Keep
      inputs: dotted
""")
DOTS_LINE = EFFECT_WITHOUT_HANDS.splitlines().index("  - name: dots") + 1


def test_livepose_validate_refuses_a_node_whose_required_result_no_node_upstream_writes(tmp_path):
    path = tmp_path / "no_hands.yaml"
    path.write_text(EFFECT_WITHOUT_HANDS)
    result = validate(path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert (f"{path}:{DOTS_LINE}: error: node 'dots': requires result 'hands', which no node upstream writes\n"
            "    fix: add a hand_landmarks, holistic or hand_keypoints node before it (each writes 'hands')") in result.stderr, result.stderr


def test_livepose_validate_warns_of_a_read_result_no_node_upstream_writes_and_passes(tmp_path):
    path = tmp_path / "reads.yaml"
    path.write_text(EFFECT_WITHOUT_HANDS.replace("NeedsHands", "ReadsHands"))
    result = validate(path)
    assert result.returncode == 0, result.stderr
    assert (f"{path}:{DOTS_LINE}: warning: node 'dots': reads result 'hands', which no node upstream writes: "
            "it will never see one\n    fix: add a hand_landmarks, holistic or hand_keypoints node before it (each writes 'hands')") in result.stderr
    assert f"{path}: ok (3 nodes" in result.stdout


def test_a_result_written_upstream_satisfies_every_node_after_the_writer():
    text = pipeline("""\
        - {name: camera, type: graph_check_nodes:Source, outputs: frames}
        - {name: hands, type: graph_check_nodes:FindsHands, inputs: frames, outputs: found}
        - {name: pass, type: graph_check_nodes:ReadsHands, inputs: found, outputs: passed}
        - {name: dots, type: graph_check_nodes:NeedsHands, inputs: passed, outputs: dotted}
        - {name: out, type: graph_check_nodes:Keep, inputs: dotted}
    """)
    assert problems(text) == []


def test_a_result_that_comes_round_a_feedback_loop_satisfies_the_node_it_is_fed_back_to():
    loop = pipeline("""\
        - {name: camera, type: graph_check_nodes:Source, outputs: frames}
        - {name: detect, type: graph_check_nodes:NeedsTracks, inputs: {frame: frames, previous: tracks},
           outputs: rois}
        - {name: track, type: graph_check_nodes:TracksHands, inputs: rois, outputs: {frame: found, tracked: tracks}}
        - {name: dots, type: graph_check_nodes:NeedsHands, inputs: found, outputs: dotted}
        - {name: out, type: graph_check_nodes:Keep, inputs: dotted}
    """, streams="streams: {tracks: {feedback: true}}\n")
    assert problems(loop) == []


def test_what_a_node_writes_on_one_port_is_not_on_its_others():
    text = pipeline("""\
        - {name: camera, type: graph_check_nodes:Source, outputs: frames}
        - {name: track, type: graph_check_nodes:TracksHands, inputs: frames, outputs: {frame: found, tracked: tracks}}
        - {name: detect, type: graph_check_nodes:NeedsTracks, inputs: {frame: found, previous: found}, outputs: rois}
        - {name: out, type: graph_check_nodes:Keep, inputs: rois}
        - {name: loop_end, type: graph_check_nodes:Keep, inputs: tracks}
    """)
    [problem] = problems(text)
    assert (problem.node, problem.warning) == ("detect", False)
    assert problem.message == "requires result 'hand_tracks', which no node upstream writes"


def test_a_node_that_declares_no_writes_upstream_makes_a_missing_requirement_a_warning():
    text = pipeline("""\
        - {name: camera, type: graph_check_nodes:Source, outputs: frames}
        - {name: mystery, type: graph_check_nodes:Undeclared, inputs: frames, outputs: maybe}
        - {name: dots, type: graph_check_nodes:NeedsHands, inputs: maybe, outputs: dotted}
        - {name: glance, type: graph_check_nodes:ReadsHands, inputs: dotted, outputs: seen}
        - {name: out, type: graph_check_nodes:Keep, inputs: seen}
    """)
    [problem] = problems(text)
    assert (problem.node, problem.line, problem.warning) == ("dots", 5, True)
    assert problem.message == ("requires result 'hands', which no node upstream declares it writes; "
                               "node 'mystery' declares no writes, so it may add it")
    assert problem.fix.startswith("if 'mystery' adds it, declare writes = ('hands',) on its class; else add a "
                                  "hand_landmarks, holistic or hand_keypoints node")


def test_the_fix_for_a_result_no_built_in_node_writes_is_a_declaration():
    [problem] = problems(EFFECT_WITHOUT_HANDS.replace("NeedsHands", "NeedsGlow"))
    assert problem.message == "requires result 'glow', which no node upstream writes"
    assert problem.fix == "declare writes = ('glow',) on the node that adds it"


def test_a_node_reading_several_results_is_warned_only_when_it_can_see_none():
    with_hands = pipeline("""\
        - {name: camera, type: graph_check_nodes:Source, outputs: frames}
        - {name: hands, type: graph_check_nodes:FindsHands, inputs: frames, outputs: found}
        - {name: draw, type: graph_check_nodes:DrawsWhatIsThere, inputs: found, outputs: drawn}
        - {name: out, type: graph_check_nodes:Keep, inputs: drawn}
    """)
    assert problems(with_hands) == [], "it draws the hands; that no faces are written is no fault"
    [problem] = problems(EFFECT_WITHOUT_HANDS.replace("NeedsHands", "DrawsWhatIsThere"))
    assert (problem.node, problem.warning) == ("dots", True)
    assert problem.message == ("reads results 'hands', 'faces', none of which a node upstream writes: "
                               "it will never see one")
    assert problem.fix == ("add a hand_landmarks, holistic or hand_keypoints node before it (each writes 'hands'); or add a "
                           "face_landmarks, face_tracker or holistic node before it (each writes 'faces')")


def test_an_input_no_node_produces_is_reported_once_by_the_wiring_check():
    [problem] = problems(EFFECT_WITHOUT_HANDS.replace("inputs: frames", "inputs: framez"))
    assert problem.node == "dots" and "reads stream 'framez', which no node produces" in problem.message
