"""The graph runtime: pipeline spec, nodes, queues, runner and metrics."""
