"""``ocrtop train``, ``ocrtop attach`` and ``ocrtop replay``: pick a feed, a mode, run.

Each function takes the arguments after its subcommand and returns the process's exit
code. Textual is imported only when a dashboard is actually drawn, so headless runs in
CI start fast and never need a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import TYPE_CHECKING, Any

from ocrtop.bridge import exitcodes
from ocrtop.bridge.ssh import ENV_REMOTE_COMMAND
from ocrtop.tui.core import outcome
from ocrtop.tui.core.child import Child, make_child
from ocrtop.tui.core.state import AppState
from ocrtop.tui.headless import HeadlessPrinter, run_headless

if TYPE_CHECKING:
    from ocrtop.tui.app import MakeFeed

DEFAULT_PROFILE_STEPS = 20
OWN_FLAGS = ("--headless", "--readonly")


def want_headless(flag: bool) -> bool:
    """Headless when asked, or when stdin/stdout is not a terminal."""
    return flag or not (sys.stdin.isatty() and sys.stdout.isatty())


def split_train_args(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Separate ocrtop's own flags from Hydra overrides, which pass through verbatim.

    argparse is not used here: it would reject Hydra's ``-m``/``--multirun`` and reorder
    nothing, but it also guesses abbreviations; overrides must reach Hydra untouched.
    """
    opts: dict[str, Any] = {
        "headless": False,
        "readonly": False,
        "profile_steps": DEFAULT_PROFILE_STEPS,
        "script": None,
    }
    rest: list[str] = []
    it = iter(argv)
    for arg in it:
        if opts["script"] is not None:
            rest.append(arg)  # after --script SCRIPT, everything is the script's
        elif arg == "--script" or arg.startswith("--script="):
            value = arg.split("=", 1)[1] if "=" in arg else next(it, "")
            if not value:
                raise SystemExit(
                    "ocrtop train: --script needs a path (ocrtop train --script my_train.py)"
                )
            opts["script"] = value
        elif arg in OWN_FLAGS:
            opts[arg.removeprefix("--")] = True
        elif arg == "--profile-steps" or arg.startswith("--profile-steps="):
            value = arg.split("=", 1)[1] if "=" in arg else next(it, "")
            if not value.isdigit() or not 1 <= int(value) <= 10_000:
                raise SystemExit(
                    f"ocrtop train: --profile-steps needs an integer in 1..10000, got {value!r}"
                )
            opts["profile_steps"] = int(value)
        else:
            rest.append(arg)
    return opts, rest


def run_dashboard(
    state: AppState,
    make_feed: MakeFeed,
    mode: str,
    profile_steps: int = DEFAULT_PROFILE_STEPS,
    child: Child | None = None,
    picker: list[Any] | None = None,
) -> tuple[int, str]:
    """Run the Textual app; returns ``(exit code, outcome)`` where outcome is quit/detach."""
    from ocrtop.tui.app import OcrtopApp

    app = OcrtopApp(
        state, make_feed, mode=mode, profile_steps=profile_steps, child=child, picker=picker
    )
    code = app.run()
    return int(code or 0), app.outcome


def train(argv: list[str]) -> int:
    """Start ``runners/train.py <overrides>`` (or ``--script SCRIPT [args]``, any Lightning
    script) as a child and show (or print) it live."""
    from ocrtop.tui.core.feeds.live import LiveFeed

    opts, overrides = split_train_args(argv)
    try:
        child = make_child(overrides, script=opts["script"])
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return exitcodes.BAD_INPUT
    child.start()
    state = AppState(readonly=opts["readonly"])
    state.notice = f"starting trainer (pid {child.pid}, log {child.log_path})"
    if want_headless(opts["headless"]):
        printer = HeadlessPrinter(state, sys.stdout)
        printer.say(f"[ocrtop] {' '.join(child.argv)}")
        feed = LiveFeed(state, printer.on_message, group=child.group)
        return asyncio.run(run_headless(state, feed, printer, child=child))
    code, outcome = run_dashboard(
        state,
        lambda post: LiveFeed(state, post, group=child.group),
        "train",
        opts["profile_steps"],
        child,
    )
    if outcome == "detach":
        job = state.job
        name = job.job_id if job and job.ranks else child.group
        print(
            f"detached: training continues (pid {child.pid}).\n"
            f"  reattach: ocrtop attach {name}\n  log:      {child.log_path}"
        )
        return 0
    polled = child.poll()
    return exitcodes.from_returncode(polled) if polled is not None else code


def attach_parser() -> argparse.ArgumentParser:
    """Arguments of ``ocrtop attach``."""
    p = argparse.ArgumentParser(
        prog="ocrtop attach",
        description="Attach to a running job; exits with the job's exit code once it ended.",
        epilog=exitcodes.table_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("job", nargs="?", help="job id or prefix, socket path, or ssh://host/JOB")
    p.add_argument("--headless", action="store_true", help="print status lines instead")
    p.add_argument("--readonly", action="store_true", help="never send commands")
    p.add_argument("--profile-steps", type=int, default=DEFAULT_PROFILE_STEPS)
    p.add_argument(
        "--remote-command",
        metavar="CMD",
        help="for ssh://: the remote ocrtop when it is not on the remote PATH "
        "(e.g. ~/venv/bin/ocrtop; also env OCRTOP_REMOTE_COMMAND)",
    )
    return p


def attach(argv: list[str]) -> int:
    """Attach to JOB, the only running job, or (with several) the one picked from a list."""
    from ocrtop.bridge.registry import list_jobs
    from ocrtop.tui.core.feeds.live import LiveFeed

    args = attach_parser().parse_args(argv)
    if args.remote_command:
        os.environ[ENV_REMOTE_COMMAND] = args.remote_command  # read by ocrtop.bridge.ssh
    if args.job is not None:
        from ocrtop.tui.core.feeds.live import check_attach_target

        args.job, problem = check_attach_target(args.job)
        if problem:
            print(f"ocrtop attach: {problem}", file=sys.stderr)
            return exitcodes.BAD_INPUT
    state = AppState(readonly=args.readonly)
    picker = None
    if args.job is None:
        jobs = list_jobs()
        if not jobs:
            print("ocrtop attach: no running ocrtop job found (see `ocrtop ps`)", file=sys.stderr)
            return exitcodes.BAD_INPUT
        leaders = [j for j in jobs if j.rank == 0] or jobs
        if len(leaders) == 1:
            args.job = leaders[0].job_id
        elif want_headless(args.headless):
            names = ", ".join(j.job_id for j in leaders)
            print(
                f"ocrtop attach: {len(leaders)} jobs are running; name one: {names}",
                file=sys.stderr,
            )
            return exitcodes.BAD_INPUT
        else:
            picker = leaders
    if want_headless(args.headless):
        printer = HeadlessPrinter(state, sys.stdout)
        feed = LiveFeed(state, printer.on_message, target=args.job)
        return asyncio.run(run_headless(state, feed, printer))
    target = args.job
    code, _ = run_dashboard(
        state,
        lambda post: LiveFeed(state, post, target=target),
        "attach",
        args.profile_steps,
        picker=picker,
    )
    return code or outcome.exit_code(state)


def replay(argv: list[str]) -> int:
    """Play a run's events.jsonl through the dashboard (or headless, as fast as possible)."""
    from pathlib import Path

    from ocrtop.tui.core.feeds.logs import explain, plan_replay
    from ocrtop.tui.core.feeds.replay import ReplayFeed

    p = argparse.ArgumentParser(
        prog="ocrtop replay",
        description="Replay a recorded run; exits with the recorded job's exit code.",
        epilog=exitcodes.table_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="run directory (or its events.jsonl)")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed (default 1)")
    p.add_argument("--headless", action="store_true", help="print status lines instead")
    args = p.parse_args(argv)
    files, problems = plan_replay(Path(args.run_dir))
    for problem in problems:  # one line each: which log, what is wrong, what happens now
        print(f"ocrtop replay: {explain(problem, bool(files))}", file=sys.stderr)
    if not files:
        return exitcodes.BAD_INPUT
    state = AppState(readonly=True)
    if want_headless(args.headless):
        printer = HeadlessPrinter(state, sys.stdout, interval=0.0)
        feed = ReplayFeed(state, printer.on_message, args.run_dir, speed=max(args.speed, 1e6))
        return asyncio.run(run_headless(state, feed, printer, unfinished_code=1))
    code, _ = run_dashboard(
        state,
        lambda post: ReplayFeed(state, post, args.run_dir, speed=args.speed),
        "replay",
    )
    return code or outcome.exit_code(state, unfinished=exitcodes.FAILED)
