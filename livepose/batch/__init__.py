"""``livepose batch``: one pipeline over many videos, offline, resumable (see ``livepose.batch.runner``)."""
