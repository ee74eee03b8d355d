"""The graph runtime: pipeline spec, nodes, queues, runner and metrics.

``spec`` validates a pipeline file; ``runner`` runs it on threads, with ``queues`` between nodes and
``admission`` at realtime sources; ``worker`` and ``prestart`` run a node in its own process;
``stepper`` calls a pipeline one frame at a time (the one-image Python API); ``metrics`` measures.
"""
