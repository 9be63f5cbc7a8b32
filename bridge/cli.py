"""Script-friendly subcommands: ``ocrtop ps``, ``tail``, ``profile`` and ``relay``.

The ``ocrtop`` entry point parses arguments and calls these functions; each
returns a process exit code (0 ok, 1 the job answered with an error, 2 the job
could not be found or reached), prints results on stdout and problems on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from ocrtop.bridge import exitcodes
from ocrtop.bridge import relay as _relay
from ocrtop.bridge.client import BridgeClient
from ocrtop.bridge.eventlog import check_log, read_events, resolve_events_path
from ocrtop.bridge.protocol import Message, ProtocolError
from ocrtop.bridge.registry import RegistryError, list_jobs

PROFILE_ACK_TIMEOUT_S = 300.0
"""The trainer applies commands at step boundaries; validation can take a while."""


def ps(json_out: bool = False) -> int:
    """List live jobs of this user (dead entries are pruned)."""
    try:
        jobs = list_jobs()
    except RegistryError as exc:
        print(f"ocrtop ps: {exc}", file=sys.stderr)
        return exitcodes.BAD_INPUT
    if json_out:
        print(json.dumps([j.to_dict() for j in jobs], indent=2))
        return 0
    if not jobs:
        print("no running ocrtop jobs")
        return 0
    rows = [("JOB", "GROUP", "RANK", "PID", "UP", "EXPERIMENT", "ARCH", "RUN DIR")]
    now = time.time()
    for j in jobs:
        rows.append(
            (
                j.job_id,
                j.group,
                f"{j.rank}/{j.world_size}",
                str(j.pid),
                _duration(now - j.start_time),
                str(j.meta.get("experiment_name", "-")),
                str(j.meta.get("arch", "-")),
                j.run_dir,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    return 0


def _duration(seconds: float) -> str:
    s = int(max(seconds, 0))
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _fmt_value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def format_message(msg: Message) -> str:
    """One human-readable line per message (``--json`` prints the wire form)."""
    p = msg.payload
    clock = time.strftime("%H:%M:%S", time.localtime(msg.t))
    where = ""
    if msg.step is not None:
        where += f" step={msg.step}"
    if msg.epoch is not None:
        where += f" ep={msg.epoch}"
    if msg.type == "metrics":
        body = " ".join(f"{k}={_fmt_value(v)}" for k, v in p.get("values", {}).items())
    elif msg.type == "status":
        body = str(p.get("status")) + (f" error={p['error']}" if p.get("error") else "")
    elif msg.type == "progress":
        body = (
            f"epoch {p.get('epoch')} step {p.get('step')} "
            f"batch {p.get('batch_idx')}/{p.get('num_batches')}"
        )
    elif msg.type == "alert":
        body = f"[{p.get('severity')} {p.get('state')}] {p.get('code')}: {p.get('message')}"
    elif msg.type == "log":
        body = f"{p.get('level')} {p.get('logger')}: {p.get('message')}"
    elif msg.type == "profile":
        body = f"{p.get('state')} {p.get('summary') or p.get('error') or ''}".strip()
    elif msg.type == "ack":
        status = "ok" if p.get("ok") else f"error: {p.get('error')}"
        body = f"{p.get('command')} {p.get('id')} {status} {json.dumps(p.get('result') or {})}"
    elif msg.type == "dropped":
        body = f"this viewer lost {p.get('count')} messages; resyncing from a snapshot"
    elif msg.type == "hello":
        body = (
            f"job {p.get('job_id')} rank {p.get('rank')}/{p.get('world_size')} "
            f"pid {p.get('pid')}@{p.get('host')} {p.get('run_dir')}"
        )
    else:
        body = json.dumps(p)
    return f"{clock} {msg.type:<8}{where} {body}"


def _print(msg: Message, json_out: bool) -> None:
    if msg.type == "snapshot":
        for event in msg.payload.get("events", []):
            try:
                _print(Message.from_dict(event), json_out)
            except ProtocolError:
                continue
        return
    line = json.dumps(msg.to_dict(), separators=(",", ":")) if json_out else format_message(msg)
    print(line, flush=True)


async def _tail_live(job: str | None, json_out: bool, follow: bool) -> int:
    client = await BridgeClient.connect(job)
    try:
        _print(Message("hello", time.time(), 0, payload=client.hello), json_out)
        async for msg in client:
            _print(msg, json_out)
            if msg.type == "snapshot" and not follow:
                return 0
        return 0
    finally:
        await client.close()


def tail(job: str | None = None, json_out: bool = False, follow: bool = False) -> int:
    """Print a job's recent events (its snapshot), then live events with ``follow``.

    ``job`` may also be a run directory or an events.jsonl file: its events are
    printed (that is a replay, so ``follow`` does not apply).
    """
    try:
        if job is not None and os.path.exists(job) and not job.endswith(".sock"):
            problem = check_log(resolve_events_path(job))
            if problem is not None:
                print(f"ocrtop tail: {problem}", file=sys.stderr)
                if problem.fatal:
                    return exitcodes.BAD_INPUT
            for msg in read_events(job):
                _print(msg, json_out)
            return 0
        return asyncio.run(_tail_live(job, json_out, follow))
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0
    except (RegistryError, ProtocolError, ConnectionError, OSError) as exc:
        print(f"ocrtop tail: {exc}", file=sys.stderr)
        return exitcodes.BAD_INPUT


PROFILE_WAIT_S = 1800.0
"""Default wait for the window's result after the ack: N steps plus any validation between."""
FINAL_STATUSES = ("done", "failed", "stopped")


async def _profile(job: str | None, steps: int, json_out: bool, wait: bool, timeout: float) -> int:
    client = await BridgeClient.connect(job)
    try:
        cmd_id = await client.send_command("profile", steps=steps)
        ack = await _await_ack(client, cmd_id)
        if ack is None:
            return exitcodes.BAD_INPUT
        if not wait or not ack.payload.get("ok"):
            print(json.dumps(ack.payload))
            return 0 if ack.payload.get("ok") else 1
        print(
            f"ocrtop profile: {steps} steps armed on {client.hello.get('job_id', job)}; "
            "waiting for the window...",
            file=sys.stderr,
            flush=True,
        )
        return await _await_result(client, json_out, timeout)
    finally:
        await client.close()


async def _await_ack(client: BridgeClient, cmd_id: str) -> Message | None:
    deadline = time.monotonic() + PROFILE_ACK_TIMEOUT_S
    while True:
        msg = await client.recv(timeout=max(deadline - time.monotonic(), 0.01))
        if msg is None:
            print("ocrtop profile: the job closed the connection", file=sys.stderr)
            return None
        if msg.type == "ack" and msg.payload.get("id") == cmd_id:
            return msg


async def _await_result(client: BridgeClient, json_out: bool, timeout: float) -> int:
    """Wait for the first command-triggered window to finish after our ack.

    Only events that arrive after the ack count: the snapshot sent on connect carries
    the last profile result, which is an older window's.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        msg = await client.recv(timeout=left)
        if msg is None:
            print("ocrtop profile: the job closed the connection", file=sys.stderr)
            return exitcodes.BAD_INPUT
        p = msg.payload
        if msg.type == "status" and p.get("status") in FINAL_STATUSES:
            print(
                f"ocrtop profile: the job ended ({p.get('status')}) before the window finished",
                file=sys.stderr,
            )
            return 1
        if msg.type != "profile" or p.get("trigger", "command") != "command":
            continue
        if p.get("state") == "error":
            print(f"ocrtop profile: {p.get('error') or 'the window failed'}", file=sys.stderr)
            return 1
        if p.get("state") == "finished":
            if json_out:
                print(json.dumps(p))
            else:
                print("\n".join(profile_lines(p)))
            return 0


def profile_lines(result: dict[str, Any]) -> list[str]:
    """The window's top-k ops as a table, then its summary and trace path."""
    lines = [f"profiled {result.get('steps')} steps"]
    top = result.get("top_k") or []
    if top:
        lines.append(f"{'self cpu ms':>12} {'self cuda ms':>12} {'calls':>7}  op")
        for op in top:
            lines.append(
                f"{_ms(op.get('self_cpu_ms')):>12} {_ms(op.get('self_cuda_ms')):>12} "
                f"{op.get('calls', ''):>7}  {op.get('name')}"
            )
    split = result.get("split")
    if isinstance(split, dict) and split:
        lines.append("step split: " + ", ".join(f"{k} {_ms(v)}" for k, v in split.items()))
    if result.get("summary"):
        lines.append(str(result["summary"]))
    if result.get("trace_path"):
        lines.append(f"trace: {result['trace_path']}")
    return lines


def _ms(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, int | float) else "-"


def profile(
    job: str | None = None,
    steps: int = 20,
    json_out: bool = False,
    wait: bool = True,
    timeout: float = PROFILE_WAIT_S,
) -> int:
    """Ask a job to profile ``steps`` training steps, wait for the window, print the top-k.

    With ``wait=False`` only the ack is printed (as JSON) as soon as the job arms the
    window; ``json_out`` prints the finished ``profile`` event's payload as JSON.
    """
    try:
        return asyncio.run(_profile(job, steps, json_out, wait, timeout))
    except (asyncio.TimeoutError, TimeoutError):
        print(
            f"ocrtop profile: no answer in time (ack within {PROFILE_ACK_TIMEOUT_S:.0f} s, "
            f"the window within {timeout:.0f} s)",
            file=sys.stderr,
        )
        return exitcodes.BAD_INPUT
    except KeyboardInterrupt:
        print("ocrtop profile: interrupted (the window still runs in the job)", file=sys.stderr)
        return 130
    except (RegistryError, ProtocolError, ConnectionError, OSError) as exc:
        print(f"ocrtop profile: {exc}", file=sys.stderr)
        return exitcodes.BAD_INPUT


def relay(job: str | None = None) -> int:
    """Pipe the job's socket to stdin/stdout (the remote end of an ssh attach)."""
    return _relay.main(job)
