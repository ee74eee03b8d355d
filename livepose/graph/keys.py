"""The keys the pipeline itself answers, whichever nodes it has: quit and pause.

A display turns them into controls; the runner quits on a quit key that reaches it another way
(a node's ``ctx.press_key``); the validator refuses them as a node's ``hotkey``.
"""

from __future__ import annotations

QUIT_KEYS = ("q", "\x1b")
"""``q`` and Esc."""
PAUSE_KEY = " "
RESERVED_KEYS = {QUIT_KEYS[0]: "quit", QUIT_KEYS[1]: "quit (Esc)", PAUSE_KEY: "pause"}
"""Each key a hotkey may not be, and what it does instead (for the validator's message)."""
