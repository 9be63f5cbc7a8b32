"""``ssh://[user@]host[:port]/JOB`` targets: parsing and the ssh command line.

ssh does the authentication and the transport; the remote side runs
``ocrtop relay JOB`` (or ``python -m ocrtop.bridge.relay JOB``), which pipes the job's
Unix socket to stdin/stdout, so no port is ever opened for remote viewers.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

ENV_REMOTE_COMMAND = "OCRTOP_REMOTE_COMMAND"
"""The remote ocrtop when it is not on the remote PATH, e.g. ``~/venv/bin/ocrtop``."""


@dataclass(frozen=True)
class SshTarget:
    """Parsed ``ssh://[user@]host[:port]/JOB`` (JOB may be empty: the only job)."""

    host: str
    job: str | None
    user: str | None = None
    port: int | None = None

    def argv(
        self, remote_command: Sequence[str] | str | None, ssh_options: Sequence[str] | None
    ) -> list[str]:
        """The local ssh command line that runs the relay remotely."""
        if remote_command is None:
            remote = shlex.split(os.environ.get(ENV_REMOTE_COMMAND, "") or "ocrtop")
        elif isinstance(remote_command, str):
            remote = shlex.split(remote_command)
        else:
            remote = list(remote_command)
        # ocrtop's relay subcommand is "relay"; python -m ocrtop.bridge.relay takes JOB directly.
        if remote[-2:] != ["-m", "ocrtop.bridge.relay"]:
            remote.append("relay")
        if self.job:
            remote.append(self.job)
        argv = ["ssh", "-T", *(ssh_options or [])]
        if self.port is not None:
            argv += ["-p", str(self.port)]
        if self.user:
            argv += ["-l", self.user]
        return [*argv, "--", self.host, " ".join(_remote_quote(a) for a in remote)]


def _remote_quote(arg: str) -> str:
    """Quote for the remote shell, but keep a leading ``~/`` expandable there."""
    if arg.startswith("~/"):
        return "~/" + shlex.quote(arg[2:])
    return shlex.quote(arg)


def parse_ssh_target(target: str) -> SshTarget:
    """Parse an ssh:// URL; raises ValueError with the expected shape."""
    parts = urlsplit(target)
    if parts.scheme != "ssh" or not parts.hostname:
        raise ValueError(f"expected ssh://[user@]host[:port]/JOB, got {target!r}")
    job = unquote(parts.path.strip("/")) or None
    return SshTarget(parts.hostname, job, parts.username, parts.port)
