"""The graph runtime: pipeline spec, nodes, queues, runner and metrics.

``spec`` is what a pipeline file holds and the calls that load it; ``yamlsource`` (with
``textfile`` and ``envrefs``) reads the file, and ``validator`` checks it, with ``node_entry``,
``graph_checks``, ``result_checks``, ``set_overrides`` and ``problems``. ``runner`` runs it on
threads: ``assembly`` builds the nodes with ``queues`` between them and ``admission`` at realtime
sources, and ``frame_flow`` is each node thread's loop. ``worker``, ``worker_process``, ``wire``
and ``prestart`` run a node in its own process; ``stepper`` calls a pipeline one frame at a time
(the one-image Python API); ``metrics`` measures; ``keys`` names the quit and pause keys.
"""
