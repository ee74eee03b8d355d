"""Every validation error names the file, the line, the node and a fix, before any thread starts."""

from __future__ import annotations

import textwrap

import pytest

from livepose.graph.problems import ProblemReport
from livepose.graph.spec import Overrides, load_pipeline, parse_pipeline

HEADER = "name: t\nnodes:\n"


def pipeline(body: str) -> str:
    return HEADER + textwrap.indent(textwrap.dedent(body), "  ")


GOOD = pipeline("""\
  - name: src
    type: pipeline_nodes:Counter
    outputs: frames
  - name: tag
    type: pipeline_nodes:Tag
    inputs: frames
    outputs: tagged
    params: {key: a, factor: 2}
  - name: out
    type: pipeline_nodes:Collect
    inputs: tagged
""")


def problems(text: str, overrides: Overrides | None = None) -> list:
    with pytest.raises(ProblemReport) as info:
        parse_pipeline(text, "p.yaml", overrides)
    return info.value.problems


def only(text: str, overrides: Overrides | None = None):
    found = problems(text, overrides)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_good_pipeline_builds_with_defaults():
    spec = parse_pipeline(GOOD, "p.yaml")
    assert [n.name for n in spec.nodes] == ["src", "tag", "out"]
    assert spec.nodes[1].params == {"key": "a", "factor": 2, "delay": 0.0}
    assert spec.nodes[1].inputs == {"frame": "frames"}
    assert spec.mode == "realtime"
    assert spec.streams["frames"].policy == "latest" and spec.streams["frames"].size == 1
    assert spec.output == "tagged"
    assert spec.warnings == []


def test_unknown_node_type_suggests_closest_name():
    p = only(GOOD.replace("pipeline_nodes:Tag", "pipeline_nodes:Tagg"))
    assert (p.line, p.node) == (7, "tag")
    assert "no class 'Tagg'" in p.message


def test_unknown_builtin_type_suggests_closest(monkeypatch):
    monkeypatch.setattr("livepose.graph.registry.BUILTIN_NODES", {"capture": "pipeline_nodes:Counter"})
    p = only(GOOD.replace("type: pipeline_nodes:Counter", "type: captur"))
    assert p.line == 4 and p.node == "src"
    assert "unknown node type 'captur'" in p.message and "did you mean 'capture'?" in p.fix


def test_unknown_parameter_names_line_and_suggests():
    p = only(GOOD.replace("factor: 2", "factr: 2"))
    assert p.line == 10 and p.node == "tag"
    assert "unknown parameter 'factr'" in p.message and "'factor'" in p.fix
    assert "p.yaml:10: error: node 'tag':" in str(p)


def test_parameter_of_wrong_type():
    p = only(GOOD.replace("factor: 2", "factor: two"))
    assert p.node == "tag" and "'factor'" in p.message and "int" in p.fix


def test_parameter_out_of_range_on_its_own_line():
    text = GOOD.replace("    outputs: frames\n", "    outputs: frames\n    params:\n      count: -1\n", 1)
    p = only(text)
    assert p.line == 7 and p.node == "src" and "greater than or equal to 0" in p.message


def test_input_no_node_produces():
    p = only(GOOD.replace("inputs: tagged", "inputs: taged"))
    assert p.node == "out" and "'taged'" in p.message and "did you mean 'tagged'" in p.fix


def test_missing_input_connection():
    p = only(GOOD.replace("    inputs: tagged\n", ""))
    assert p.node == "out" and "not connected" in p.message


def test_duplicate_node_names():
    p = only(GOOD.replace("name: out", "name: tag").replace("inputs: tagged", "inputs: frames"))
    assert "duplicate node name" in p.message and p.line == 11


def test_cycle_is_an_error_unless_marked_feedback():
    text = pipeline("""\
      - {name: src, type: pipeline_nodes:Counter, outputs: frames}
      - {name: loop, type: pipeline_nodes:Loop, inputs: {frame: frames, previous: back}, outputs: looped}
      - {name: delay, type: pipeline_nodes:Tag, inputs: looped, outputs: back}
      - {name: out, type: pipeline_nodes:Collect, inputs: looped}
    """)
    p = only(text)
    assert "cycle" in p.message and "feedback: true" in p.fix
    spec = parse_pipeline(text.replace("name: t\n", "name: t\nstreams: {back: {feedback: true}}\n"), "p.yaml")
    assert spec.streams["back"].feedback
    found = problems(text.replace("name: t\n", "name: t\nstreams: {looped: {feedback: true}}\n"))
    assert {p.node for p in found if "every input of this node is a feedback stream" in p.message} == {"delay", "out"}


def test_yaml_syntax_error_has_line():
    p = only(GOOD.replace("    outputs: tagged\n", "    outputs: [tagged\n"))
    assert "YAML syntax error" in p.message and p.line >= 10


def test_duplicate_yaml_key():
    p = only(GOOD.replace("    outputs: tagged\n", "    outputs: tagged\n    outputs: other\n"))
    assert "duplicate key 'outputs'" in p.message and p.line == 10


def test_unknown_node_key_and_top_level_key():
    found = problems(GOOD.replace("    inputs: tagged", "    input: tagged").replace("name: t", "nmae: t"))
    messages = [p.message for p in found]
    assert any("unknown top-level setting 'nmae'" in m for m in messages)
    assert any("unknown node key 'input'" in m for m in messages)
    assert any(p.fix == "did you mean 'inputs'?" for p in found)


def test_all_errors_reported_together():
    found = problems(GOOD.replace("factor: 2", "factr: 2").replace("    inputs: tagged", "    inputs: tagged\n    on_error: explode"))
    assert [(p.node, p.line) for p in found] == [("tag", 10), ("out", 14)]


def test_stream_nobody_reads_is_a_warning():
    text = GOOD + "  - {name: extra, type: pipeline_nodes:Tag, inputs: frames, outputs: unused}\n"
    spec = parse_pipeline(text, "p.yaml")
    assert len(spec.warnings) == 1 and "unused" in spec.warnings[0].message


def test_queue_settings_per_stream_and_bad_policy():
    text = "queue: {size: 3}\nstreams: {tagged: {size: 8, policy: drop_oldest}}\n" + GOOD
    spec = parse_pipeline(text, "p.yaml")
    assert spec.streams["frames"].size == 3 and spec.streams["frames"].policy == "latest"
    assert spec.streams["tagged"].size == 8 and spec.streams["tagged"].policy == "drop_oldest"
    p = only("streams: {tagged: {policy: newest}}\n" + GOOD)
    assert p.line == 1 and "policy 'newest'" in p.message
    p = only("streams: {taged: {size: 2}}\n" + GOOD)
    assert "no node reads or writes" in p.message and "did you mean 'tagged'" in p.fix


def test_env_substitution_with_types(monkeypatch):
    text = GOOD.replace("params: {key: a, factor: 2}", "params:\n      factor: ${FACTOR:-5}")
    assert parse_pipeline(text, "p.yaml").nodes[1].params["factor"] == 5
    monkeypatch.setenv("FACTOR", "7")
    assert parse_pipeline(text, "p.yaml").nodes[1].params["factor"] == 7
    p = only(GOOD.replace("params: {key: a, factor: 2}", "params:\n      factor: ${UNSET_FACTOR_VAR}"))
    assert p.line == 11 and "UNSET_FACTOR_VAR" in p.message


def test_set_overrides_and_their_errors():
    spec = parse_pipeline(GOOD, "p.yaml", Overrides(settings=["tag.factor=9", "mode=offline"]))
    assert spec.nodes[1].params["factor"] == 9 and spec.mode == "offline"
    p = only(GOOD, Overrides(settings=["tag.factor=nine"]))
    assert "--set tag.factor" in p.message and p.line == 0
    p = only(GOOD, Overrides(settings=["tgs.factor=1"]))
    assert "no node named 'tgs'" in p.message and p.fix == "write --set tag.factor=1"


def test_mode_and_source_overrides():
    spec = parse_pipeline("source: from-file\n" + GOOD, "p.yaml", Overrides(mode="offline"))
    assert spec.mode == "offline" and spec.nodes[0].params["source"] == "from-file"
    assert spec.streams["frames"].size == 4
    spec = parse_pipeline("source: from-file\n" + GOOD, "p.yaml", Overrides(source="cli"))
    assert spec.nodes[0].params["source"] == "cli"


def test_hotkey_checks():
    p = only(GOOD.replace("    params: {key: a, factor: 2}", "    hotkey: q"))
    assert "reserved" in p.message
    p = only(GOOD.replace("    params: {key: a, factor: 2}", "    hotkey: x"))
    assert "already used by node 'out'" in p.message
    spec = parse_pipeline(GOOD.replace("    params: {key: a, factor: 2}", "    hotkey: t\n    enabled: false"), "p.yaml")
    assert spec.nodes[1].hotkey == "t" and spec.nodes[1].enabled is False


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(ProblemReport) as info:
        load_pipeline(tmp_path / "nope.yaml")
    assert "cannot read the pipeline file" in str(info.value)


def test_extra_nodes_tap_the_output():
    spec = parse_pipeline(GOOD, "p.yaml", Overrides(extra_nodes=[
        {"name": "tap", "type": "pipeline_nodes:Collect", "inputs": "$output"}]))
    assert spec.nodes[-1].inputs == {"frame": "tagged"}


def test_process_setting_runs_a_node_in_a_worker_and_bad_values_name_the_line_and_fix():
    spec = parse_pipeline(GOOD.replace("    params: {key: a, factor: 2}\n",
                                       "    params: {key: a, factor: 2}\n    process: {nice: 7}\n"), "p.yaml")
    assert spec.nodes[1].worker is not None and spec.nodes[1].worker.nice == 7
    assert type(spec.nodes[1].build()).__name__ == "WorkerProcessNode" and spec.nodes[0].worker is None
    for value, words in (("{nice: 30}", "from 0 to 19"), ("fast", "is not true, false or {nice: N}"),
                         ("{nice: 1, cores: 2}", "is not true, false or {nice: N}")):
        p = only(GOOD.replace("    params: {key: a, factor: 2}\n", f"    params: {{key: a, factor: 2}}\n    process: {value}\n"))
        assert (p.line, p.node) == (11, "tag") and words in p.message and p.fix
    source = only(GOOD.replace("    outputs: frames\n", "    outputs: frames\n    process: true\n", 1))
    assert source.node == "src" and "inputs and outputs" in source.message
    sink = only(GOOD.replace("    inputs: tagged\n", "    inputs: tagged\n    process: true\n"))
    assert sink.node == "out" and "inputs and outputs" in sink.message
