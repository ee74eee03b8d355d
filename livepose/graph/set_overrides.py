"""``--set`` on the command line: top-level settings and node parameters, and the fixes for a miss.

A ``--set`` that names no node, or a parameter its node does not have, is reported once every node
entry has been read, so that the fix can name the node that has the parameter
(``--set palms.max_faces=1`` means the face detector's ``max_num_faces``).
"""

from __future__ import annotations

import difflib
from typing import Any, Mapping

from livepose.graph.node import Node
from livepose.graph.problems import ProblemCollector, cut, did_you_mean
from livepose.graph.spec import TOP_LEVEL_KEYS
from livepose.graph.yamlsource import LocatedDict, load_yaml_value


class SetOverrides:
    """The ``--set`` strings of one validation, and what the node entries tell about their targets."""

    def __init__(self, settings: list[str], problems: ProblemCollector) -> None:
        self.settings = settings
        self.problems = problems
        self.node_params: dict[str, dict[str, Any]] = {}
        """Node name -> the parameters ``--set`` gives it (see :meth:`read_node_params`)."""
        self._node_types: dict[str, tuple[str, type[Node]]] = {}
        """Every node whose type resolved (even if its parameters did not): name -> (type, class)."""
        self._unknown_params: list[tuple[str, str, str, Any, list[str]]] = []

    def apply_top_level(self, data: LocatedDict) -> None:
        """Write the ``--set setting=value`` items into the file's top level (line 0: the command line)."""
        for item in self.settings:
            key, _, value = item.partition("=")
            if "." not in key:
                if key not in TOP_LEVEL_KEYS or key in ("nodes", "streams", "queue"):
                    self.problems.error(0, None, f"--set {item}: '{key}' is not a top-level setting you can set",
                                        "use --set node.param=value, or one of: name, mode, source, output")
                else:
                    try:
                        data[key] = load_yaml_value(value)
                    except ValueError as exc:
                        self._unreadable_value(item, key, value, exc)
                        continue
                    data.key_lines[key] = 0  # from the command line, not a line of the file

    def read_node_params(self) -> None:
        """Fill :attr:`node_params` from the ``--set node.param=value`` items."""
        for item in self.settings:
            key, sep, value = item.partition("=")
            if not sep:
                self.problems.error(0, None, f"--set {item}: expected node.param=value",
                                    "for example --set palms.max_hands=1")
                continue
            if "." in key:
                node, _, name = key.partition(".")
                try:
                    self.node_params.setdefault(node, {})[name] = load_yaml_value(value) if value else ""
                except ValueError as exc:
                    self._unreadable_value(item, key, value, exc)

    def _unreadable_value(self, item: str, key: str, value: str, exc: ValueError) -> None:
        self.problems.error(0, None, f"--set {cut(item)}: {exc}",
                            f"to pass it as text, quote it: --set '{key}=\"{cut(value)}\"'")

    def node_type_resolved(self, name: str, type_name: str, cls: type[Node]) -> None:
        """Note a node entry's type, for the fixes of a ``--set`` that misses."""
        self._node_types.setdefault(name, (type_name, cls))

    def unknown_param(self, name: str, type_name: str, key: str, value: Any, known: list[str]) -> None:
        """``--set name.key=value`` names a parameter node ``name`` lacks: reported by :meth:`report_misses`."""
        self._unknown_params.append((name, type_name, key, value, known))

    def report_misses(self, node_names: set[str]) -> None:
        """Errors for the ``--set`` items that name no node, then for those that name no parameter."""
        self._report_unknown_targets(node_names)
        for name, type_name, key, value, known in self._unknown_params:
            fix = _setting_fix(self._node_types, key, value, prefer=name)
            hint = f"write {fix}" if fix else (
                "parameters: " + ", ".join(known) if known else f"{type_name} takes no parameters")
            self.problems.error(0, name, f"unknown parameter '{key}' for type {type_name} (from --set {name}.{key})",
                                hint)

    def _report_unknown_targets(self, names: set[str]) -> None:
        for node, params in self.node_params.items():
            if node in names:
                continue
            of_type = [name for name, (type_name, _) in self._node_types.items() if type_name == node]
            close = difflib.get_close_matches(node, list(names), n=1, cutoff=0.6)
            prefer = close[0] if close else (of_type[0] if of_type else None)
            fixes = [fix for key, value in params.items()
                     if (fix := _setting_fix(self._node_types, key, value, prefer))]
            if fixes:
                hint = "write " + " ".join(fixes)
            elif of_type:
                hint = f"--set takes node names, not types: the {node} node here is '{of_type[0]}'"
            else:
                hint = did_you_mean(node, names) or "nodes: " + ", ".join(sorted(names))
            self.problems.error(0, None, f"--set {node}.{next(iter(params), '…')}: there is no node named '{node}'",
                                hint)


def _setting_fix(node_types: Mapping[str, tuple[str, type[Node]]], key: str, value: Any,
                 prefer: str | None = None) -> str:
    """The ``--set node.param=value`` most likely meant by parameter ``key``, searching every node.

    A parameter named alike on another node beats a weaker match on the node given: ``max_faces`` on
    the face mesh node means the detector's ``max_num_faces``, not the mesh's ``parallel_faces``.
    """
    best, best_score = "", 0.6
    for name, (_, cls) in node_types.items():
        for info in cls.param_info():
            score = difflib.SequenceMatcher(None, key, info.name).ratio() + (0.05 if name == prefer else 0.0)
            if score > best_score:
                best, best_score = f"--set {name}.{info.name}={_cli_value(value)}", score
    return best


def _cli_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
