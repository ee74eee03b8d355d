"""Finding node classes by the ``type:`` a pipeline names.

Three ways, in order: a built-in name (``livepose.nodes.BUILTIN_NODES``), a name registered by
an installed package under the ``livepose.nodes`` entry point, or ``package.module:Class``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from livepose.graph.node import Node
from livepose.nodes import BUILTIN_NODES

ENTRY_POINT_GROUP = "livepose.nodes"


class NodeTypeError(LookupError):
    """A ``type:`` that names no usable node class; the message says why."""


def known_node_types() -> dict[str, str]:
    """Every registered type name -> ``module:Class``, built-ins first."""
    types = dict(BUILTIN_NODES)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        types.setdefault(ep.name, ep.value)
    return types


def _import_class(target: str) -> type:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise NodeTypeError(f"'{target}' is not of the form package.module:ClassName")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise NodeTypeError(f"cannot import module '{module_name}' ({exc})") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise NodeTypeError(f"module '{module_name}' has no class '{attr}'") from None


def resolve_node_type(type_name: str) -> type[Node]:
    """The Node subclass for a pipeline ``type:``; raises NodeTypeError saying why not."""
    target = known_node_types().get(type_name)
    if target is None and ":" not in type_name:
        raise NodeTypeError(f"unknown node type '{type_name}'")
    cls = _import_class(target or type_name)
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise NodeTypeError(f"'{type_name}' is not a livepose Node subclass")
    return cls
