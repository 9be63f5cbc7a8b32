"""A private tmux server for end-to-end tests that read a real terminal.

tmux gives the app a genuine pty: what ``capture-pane`` returns is what a user sees.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class Tmux:
    """A private tmux server (own socket) with helpers to type and read the screen."""

    def __init__(self, workdir: Path) -> None:
        self.socket = f"ocrtop-e2e-{os.getpid()}"
        self.workdir = workdir

    def run(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                             text=True, timeout=30, check=True)  # fmt: skip
        return out.stdout

    def start(self, window: str, command: str, first: bool = False) -> None:
        shell = f"cd {shlex.quote(str(self.workdir))} && {command}; sleep 600"
        if first:
            self.run("new-session", "-d", "-s", "e2e", "-n", window, "-x", "120", "-y", "40", shell)
        else:
            self.run("new-window", "-t", "e2e", "-n", window, shell)

    def screen(self, window: str) -> str:
        return self.run("capture-pane", "-p", "-t", f"e2e:{window}")

    def keys(self, window: str, *keys: str) -> None:
        self.run("send-keys", "-t", f"e2e:{window}", *keys)

    def wait(self, window: str, check: Callable[[str], object], what: str,
             timeout: float = 120.0) -> str:  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen(window)
            if check(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{text}")
            time.sleep(0.3)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
