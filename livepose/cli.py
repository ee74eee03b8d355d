"""The ``livepose`` command line."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="livepose")
def main() -> None:
    """livepose: real-time hand and face keypoint pipelines."""
