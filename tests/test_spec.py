"""Every validation error names the file, the line, the node and a fix, before any thread starts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from livepose.graph.assembly import build_node
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
    assert p.node == "tag" and "'factor'" in p.message and "a whole number" in p.fix


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
    assert type(build_node(spec.nodes[1])).__name__ == "WorkerProcessNode" and spec.nodes[0].worker is None
    for value, words in (("{nice: 30}", "from 0 to 19"), ("fast", "is not true, false or {nice: N}"),
                         ("{nice: 1, cores: 2}", "is not true, false or {nice: N}")):
        p = only(GOOD.replace("    params: {key: a, factor: 2}\n", f"    params: {{key: a, factor: 2}}\n    process: {value}\n"))
        assert (p.line, p.node) == (11, "tag") and words in p.message and p.fix
    source = only(GOOD.replace("    outputs: frames\n", "    outputs: frames\n    process: true\n", 1))
    assert source.node == "src" and "inputs and outputs" in source.message
    sink = only(GOOD.replace("    inputs: tagged\n", "    inputs: tagged\n    process: true\n"))
    assert sink.node == "out" and "inputs and outputs" in sink.message


def test_without_output_the_stream_a_node_that_shows_it_reads_is_tapped():
    text = pipeline("""\
      - {name: src, type: graph_check_nodes:Source, outputs: frames}
      - {name: screen, type: graph_check_nodes:Screen, inputs: frames}
      - {name: tag, type: graph_check_nodes:FindsHands, inputs: frames, outputs: tagged}
      - {name: keep, type: graph_check_nodes:Keep, inputs: tagged}
    """)
    assert parse_pipeline(text, "p.yaml").output == "frames", "the node that shows the output, not the last sink"
    shown_by_none = text.replace("graph_check_nodes:Screen", "graph_check_nodes:Keep")
    assert parse_pipeline(shown_by_none, "p.yaml").output == "tagged", "else the last sink's"


def test_validating_leaves_where_a_node_runs_to_the_runtime():
    # The spec says "in a worker process" as data; only building a run starts the worker machinery.
    code = ("import sys; from livepose.graph.spec import parse_pipeline; "
            "assert 'livepose.graph.worker' not in sys.modules, 'spec imported the worker'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- files that are not UTF-8 YAML text, or not files (issue 14) ---------------------------------
def file_problem(path, content: bytes | None = None):
    """The one problem loading ``path`` (written with ``content`` first) reports."""
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ProblemReport) as info:
        load_pipeline(path)
    assert len(info.value.problems) == 1, str(info.value)
    assert str(info.value).startswith(str(path))
    return info.value.problems[0]


def test_latin1_file_names_the_byte_line_and_column(tmp_path):
    p = file_problem(tmp_path / "f.yaml", b"name: cam\xe9ra\nnodes: []\n")
    assert p.line == 1 and "not UTF-8 text: byte 0xe9 at line 1, column 10" in p.message
    assert "UTF-8" in p.fix
    p = file_problem(tmp_path / "f.yaml", GOOD.encode() + b"  # caf\xe9\n")
    assert p.line == 14 and "line 14, column 8" in p.message


def test_binary_file_is_not_text(tmp_path):
    p = file_problem(tmp_path / "clip.mp4", b"\x1aE\xdf\xa3\x9fB\x86\x81\x01" + bytes(range(256)))
    assert p.line == 1 and "not UTF-8 text: byte 0x9f at line 1, column 4" in p.message and "--source" in p.fix


def test_nul_byte_and_control_characters_are_located(tmp_path):
    p = file_problem(tmp_path / "f.yaml", GOOD.replace("name: t\n", "name: a\x00b\n").encode())
    assert p.line == 1 and "NUL character at line 1, column 8" in p.message and "UTF-8" in p.fix
    p = file_problem(tmp_path / "f.yaml", GOOD.replace("    outputs: tagged\n", "    outputs: tag\x01ged\n").encode())
    assert p.line == 9 and "U+0001 at line 9, column 17" in p.message


def test_utf16_and_utf8_with_a_byte_order_mark_are_read(tmp_path):
    for encoding in ("utf-16", "utf-16-be", "utf-8-sig"):
        path = tmp_path / f"{encoding}.yaml"
        text = GOOD.replace("name: t\n", "name: café\n")
        bom = {"utf-16-be": "\ufeff"}.get(encoding, "")
        path.write_bytes((bom + text).encode(encoding))
        spec = load_pipeline(path)
        assert spec.name == "café" and [n.name for n in spec.nodes] == ["src", "tag", "out"]


def test_utf16_without_a_byte_order_mark_is_reported(tmp_path):
    p = file_problem(tmp_path / "f.yaml", GOOD.encode("utf-16-le"))
    assert p.line == 1 and "NUL character at line 1, column 2" in p.message and "UTF-16" in p.message
    p = file_problem(tmp_path / "f.yaml", "\ufeffname: t\n".encode("utf-16-le") + b"\x00\xd8")  # a lone surrogate
    assert p.line == 2 and "not UTF-16 text: bytes 00 d8 at line 2, column 1" in p.message


def test_deep_nesting_is_located_not_a_recursion_error(tmp_path):
    for nested in ("[" * 5000, "[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000):
        p = file_problem(tmp_path / "f.yaml", f"name: t\ndescription: {nested}\n".encode())
        assert p.line == 2 and "nested more than 32 levels deep" in p.message and "column" in p.message
    block = "".join("  " * depth + "- \n" for depth in range(200))
    p = file_problem(tmp_path / "f.yaml", f"name: t\ndescription:\n{block}".encode())
    assert p.line > 2 and "nested more than 32 levels deep" in p.message


def test_recursive_alias_unhashable_key_and_unreadable_values_are_located():
    p = only("description: &a [*a]\n" + GOOD)
    assert p.line == 1 and "recursive" in p.message
    p = only("[a]: 1\n" + GOOD)
    assert p.line == 1 and "a key cannot be a list" in p.message
    p = only("max_in_flight: " + "9" * 5000 + "\n" + GOOD)
    assert p.line == 1 and "too large" in p.message and "4300" not in p.message
    p = only(GOOD.replace("name: t\n", "name: 2024-02-30\n"))
    assert p.line == 1 and "not a date" in p.message and "quote" in p.fix


def test_folder_unreadable_empty_and_oversized_files(tmp_path, monkeypatch):
    p = file_problem(tmp_path)
    assert "cannot read the pipeline file: it is a folder" in p.message
    for content in (b"", b"\n\n", b"# only a comment\n"):
        p = file_problem(tmp_path / "empty.yaml", content)
        assert "the pipeline file is empty" in p.message and p.fix
    p = file_problem(tmp_path / "big.yaml", b"# " + b"x" * (1 << 20) + b"\n")
    assert "over 1 MiB" in p.message
    locked = tmp_path / "locked.yaml"
    locked.write_text(GOOD)

    def refuse(self, *args, **kwargs):  # tests may run as root, whom chmod does not stop
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr("pathlib.Path.open", refuse)
    p = file_problem(locked)
    assert "cannot read the pipeline file: permission denied" in p.message and "readable" in p.fix


def test_livepose_validate_reports_an_encoding_error_with_exit_2(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_bytes(b"name: cam\xe9ra\nnodes: []\n")
    result = subprocess.run([str(Path(sys.executable).parent / "livepose"), "validate", str(path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{path}:1: error: not UTF-8 text: byte 0xe9 at line 1, column 10\n    fix: " in result.stderr


# -- settings `validate` accepted and `run` tripped over (issue 14) --------------------------------
def test_source_must_be_text_or_a_camera_index():
    for value in ("{a: 1}", "[1, 2]", "-1", "true", "''"):
        p = only(f"source: {value}\n" + GOOD)
        assert p.line == 1 and "source must be a camera index, a path, a URL or 'synthetic'" in p.message, value
    assert parse_pipeline("source: 0\n" + GOOD, "p.yaml").nodes[0].params["source"] == "0"


def test_null_source_means_no_pipeline_default():
    for text in ("source: null\n", "source:\n", "source: ${UNSET_SOURCE_VAR:-}\n"):
        spec = parse_pipeline(text + GOOD, "p.yaml")
        assert spec.source is None and spec.nodes[0].params["source"] == "counter"


def test_broken_environment_references_are_errors():
    for value, words in (("${LIVEPOSE_SOURCE", "'${LIVEPOSE_SOURCE' has no closing '}'"),
                         ("${LIVEPOSE_SOURCE:-0", "has no closing '}'"),
                         ("cam-${ LIVEPOSE_SOURCE }", "'${ LIVEPOSE_SOURCE }' is not an environment reference"),
                         ("${1ABC}", "is not an environment reference"),
                         ("${A:-${B}}", "puts a reference inside a default")):
        p = only(f"source: {value}\n" + GOOD)
        assert p.line == 1 and words in p.message and "default" in p.fix, value


def test_text_settings_must_be_text():
    p = only(GOOD.replace("name: t\n", "name: [a, b]\n"))
    assert p.line == 1 and "name must be text, got ['a', 'b']" in p.message
    p = only(GOOD.replace("name: t\n", "name:\n"))
    assert p.line == 1 and "name must be text, got null" in p.message
    assert parse_pipeline(GOOD.replace("name: t\n", "name: 2024\n"), "p.yaml").name == "2024"
    p = only("description: {a: 1}\n" + GOOD)
    assert p.line == 1 and "description must be text" in p.message
    p = only("output: [tagged]\n" + GOOD)
    assert p.line == 1 and "output must be text" in p.message
    p = only("output: nope\n" + GOOD)
    assert p.line == 1 and "output stream 'nope' is not produced" in p.message
    p = only("mode:\n" + GOOD)
    assert p.line == 1 and "mode null is not one of realtime, offline" in p.message


def test_queue_size_wording_bounds_and_types():
    for value, shown in (("null", "null"), ("true", "true"), ("0", "0"), ("301", "301"), ("2.5", "2.5"),
                         ("[1]", "[1]")):
        p = only(f"queue: {{size: {value}}}\n" + GOOD)
        assert p.line == 1 and p.message == f"queue: size must be a whole number from 1 to 300, got {shown}", p.message
    assert parse_pipeline("queue: {size: 300}\n" + GOOD, "p.yaml").streams["frames"].size == 300
    p = only("streams:\n  tagged: {size: 2}\n  frames:\n    policy: latest\n    size: 999\n" + GOOD)
    assert p.line == 5 and p.message.startswith("stream 'frames': size must be a whole number from 1 to 300")


def test_feedback_stream_size_extremes():
    loop = pipeline("""\
      - {name: src, type: pipeline_nodes:Counter, outputs: frames}
      - {name: loop, type: pipeline_nodes:Loop, inputs: {frame: frames, previous: back}, outputs: looped}
      - {name: delay, type: pipeline_nodes:Tag, inputs: looped, outputs: back}
      - {name: out, type: pipeline_nodes:Collect, inputs: looped}
    """)
    p = only("streams: {back: {feedback: true, size: 99999999999999999999999}}\n" + loop)
    assert p.line == 1 and "99999999999999999999999 is too large" in p.message
    p = only("streams: {back: {feedback: true, size: null}}\n" + loop)
    assert p.line == 1 and "stream 'back': size must be a whole number from 1 to 300, got null" in p.message
    found = problems("streams: {back: {feedback: null}}\n" + loop)
    assert any(p.line == 1 and "stream 'back': feedback must be true or false, got null" in p.message for p in found)


def test_stream_and_queue_sections_of_the_wrong_shape():
    p = only("streams: {tagged: [1]}\n" + GOOD)
    assert p.line == 1 and "settings of stream 'tagged' must be a mapping" in p.message and p.fix
    p = only("queue: [1]\n" + GOOD)
    assert p.line == 1 and "'queue' must be a mapping" in p.message and p.fix
    p = only("streams: {tagged: {policy: null}}\n" + GOOD)
    assert "policy null is not one of" in p.message
    spec = parse_pipeline("queue:\nstreams:\n" + GOOD, "p.yaml")
    assert spec.streams["frames"].size == 1


def test_max_in_flight_and_booleans_where_numbers_belong():
    for value, shown in (("1e9", "'1e9'"), ("1.0e+9", "1000000000.0"), ("true", "true"), ("null", "null")):
        p = only(f"max_in_flight: {value}\n" + GOOD)
        assert p.line == 1 and p.message == f"max_in_flight must be a whole number from 0 to 64, got {shown}"
    p = only(GOOD.replace("    params: {key: a, factor: 2}\n", "    params: {key: a, factor: 2}\n    enabled: 1\n"))
    assert (p.line, p.node) == (11, "tag") and "enabled must be true or false, got 1" in p.message
    p = only(GOOD.replace("    params: {key: a, factor: 2}\n",
                          "    params: {key: a, factor: 2}\n    process: {nice: true}\n"))
    assert "process nice true must be a whole number" in p.message
    p = only(GOOD.replace("    params: {key: a, factor: 2}\n", "    params: {key: a, factor: 2}\n    hotkey: 1\n"))
    assert "hotkey 1 must be a single character" in p.message and "hotkey: '1'" in p.fix


def test_long_values_are_cut_short_in_messages():
    p = only(f"mode: {'x' * 5000}\n" + GOOD)
    assert len(p.message) < 200 and "..." in p.message


def test_set_values_yaml_cannot_read_are_errors_not_crashes():
    for setting in ("name=[a", "tag.factor=[1", "tag.factor=" + "[" * 5000):
        p = only(GOOD, Overrides(settings=[setting]))
        assert p.line == 0 and "YAML cannot read it" in p.message and "quote" in p.fix


@pytest.mark.parametrize("setting, message", [
    ("camera.frames=true", "valid integer (got true)"),
    ('camera.width="64"', "valid integer (got '64')"),
    ("camera.fps=.inf", "finite number"),
    ("camera.width=9000000000000000000", "less than or equal to 16384"),
    ("camera.mirror=1", "valid boolean (got 1)"),
])
def test_numbers_and_booleans_are_taken_as_written(setting, message):
    from livepose.pipelines import find

    with pytest.raises(ProblemReport) as report:
        load_pipeline(find("hands"), Overrides(settings=[setting]))
    assert message in str(report.value) and "fix: give " in str(report.value)


def test_the_node_base_class_is_not_a_node_type(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text('nodes:\n  - {name: a, type: "livepose.graph.node:Node"}\n')
    with pytest.raises(ProblemReport, match="is not a livepose Node subclass"):
        load_pipeline(path)
