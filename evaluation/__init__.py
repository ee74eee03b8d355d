"""Evaluation helpers: MediaPipe reference outputs and comparisons against them."""
