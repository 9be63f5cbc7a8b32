"""The ``ocrtop`` console command: one entry point, dispatching to the parts.

Every subcommand imports its implementation lazily, so ``ocrtop attach`` never pays for
torch (``ocr``) and ``ocrtop data`` never pays for Textual.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence

USAGE = """\
usage: ocrtop <command> [args...]

training
  train [--headless] [--readonly] [--profile-steps N] [hydra overrides...]
                      start runners/train.py with a live dashboard (-m for sweeps)
  train [--headless] --script my_train.py [args...]
                      run any Lightning script under the dashboard (OCRTOP=1 in its env)
  attach [JOB | ssh://host/JOB] [--headless] [--readonly]
                      open the dashboard of a running job (a picker when several)
  replay RUN_DIR [--speed X] [--headless]
                      the dashboard of a recorded run (space/./+/-)
jobs
  ps [--json]         list running jobs
  tail [JOB] [-f] [--json]   print a job's events
  profile [JOB] [--steps N]  profile the next N steps of a job, print the top-k
  relay [JOB]         speak the bridge protocol on stdin/stdout (used by ssh://)
data and evaluation
  data synth|check|convert-icdar ...
  eval --gt GT.json --pred PRED.json
"""


EXTRA = "ocr"
"""The extra that installs the OCR trainer: ``pip install 'ocrtop[ocr]'`` (pyproject.toml)."""

OCR_STACK = {
    "torch": "torch",
    "torchvision": "torchvision",
    "pytorch_lightning": "pytorch-lightning",
    "hydra": "hydra-core",
    "timm": "timm",
    "torchmetrics": "torchmetrics",
    "numpy": "numpy",
    "cv2": "opencv-python-headless",
    "pyclipper": "pyclipper",
    "shapely": "shapely",
    "PIL": "Pillow",
    "simplejpeg": "simplejpeg",
    "pypdfium2": "pypdfium2",
}
"""Import name -> distribution of every package in the ``ocr`` extra."""


def missing_ocr_stack() -> list[str]:
    """The distributions of the ``ocr`` extra that cannot be imported here.

    ``find_spec`` locates a top-level module without importing it, so the check costs
    milliseconds, not torch's seconds.
    """
    missing = []
    for module, dist in OCR_STACK.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a broken or blocked install counts as missing
            found = False
        if not found:
            missing.append(dist)
    return missing


def needs_ocr_stack(command: str, argv: list[str]) -> bool:
    """Whether ``ocrtop <command> argv`` runs our OCR trainer (and so needs the extra).

    ``train --script`` runs the user's own script, and ``$OCRTOP_TRAIN_SCRIPT`` names the
    user's own Hydra entry point: their stack, not ours. ``--help`` must always work.
    """
    if any(a in ("-h", "--help") for a in argv):
        return False
    if command == "train":
        script = any(a == "--script" or a.startswith("--script=") for a in argv)
        return not script and not os.environ.get("OCRTOP_TRAIN_SCRIPT")
    return command in ("data", "eval")


def check_ocr_stack(command: str) -> str | None:
    """One line naming the extra to install when the OCR stack is missing; None when complete."""
    missing = missing_ocr_stack()
    if not missing:
        return None
    return (
        f"ocrtop {command}: needs the OCR training stack, not installed here "
        f"(missing: {', '.join(missing)}); install it with: pip install 'ocrtop[{EXTRA}]'"
    )


def _tui(name: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        import ocrtop.tui.cli

        return int(getattr(ocrtop.tui.cli, name)(argv))

    return run


def _ocr(argv: list[str]) -> int:
    from ocrtop.ocr.cli import main as ocr_main

    return int(ocr_main(argv))


def _ps(argv: list[str]) -> int:
    from ocrtop.bridge import cli

    p = argparse.ArgumentParser(prog="ocrtop ps", description="List running ocrtop jobs.")
    p.add_argument("--json", action="store_true", help="one JSON object per job")
    return cli.ps(p.parse_args(argv).json)


def _tail(argv: list[str]) -> int:
    from ocrtop.bridge import cli

    p = argparse.ArgumentParser(prog="ocrtop tail", description="Print a job's events.")
    p.add_argument("job", nargs="?", help="job id or prefix (default: the only running job)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing live events")
    p.add_argument("--json", action="store_true", help="raw JSON lines")
    args = p.parse_args(argv)
    return cli.tail(args.job, args.json, args.follow)


def _profile(argv: list[str]) -> int:
    from ocrtop.bridge import cli

    p = argparse.ArgumentParser(prog="ocrtop profile", description="Profile N steps of a job.")
    p.add_argument("job", nargs="?", help="job id or prefix (default: the only running job)")
    p.add_argument("--steps", type=int, default=20, help="steps to profile (default 20)")
    p.add_argument("--json", action="store_true", help="print the window's result as JSON")
    p.add_argument("--no-wait", action="store_true", help="print the ack and return at once")
    p.add_argument(
        "--timeout",
        type=float,
        default=cli.PROFILE_WAIT_S,
        help=f"seconds to wait for the window (default {cli.PROFILE_WAIT_S:.0f})",
    )
    args = p.parse_args(argv)
    return cli.profile(args.job, args.steps, args.json, not args.no_wait, args.timeout)


def _relay(argv: list[str]) -> int:
    from ocrtop.bridge import cli

    p = argparse.ArgumentParser(prog="ocrtop relay", description="Relay a job over stdio.")
    p.add_argument("job", nargs="?", help="job id or prefix (default: the only running job)")
    return cli.relay(p.parse_args(argv).job)


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "train": _tui("train"),
    "attach": _tui("attach"),
    "replay": _tui("replay"),
    "ps": _ps,
    "tail": _tail,
    "profile": _profile,
    "relay": _relay,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``ocrtop <command> ...``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if needs_ocr_stack(command, rest):
        problem = check_ocr_stack(command)
        if problem is not None:
            from ocrtop.bridge.exitcodes import BAD_INPUT  # stdlib only: cheap

            print(problem, file=sys.stderr)
            return BAD_INPUT  # nothing ran
    if command in ("data", "eval"):
        return _ocr(args)
    if command not in COMMANDS:
        print(f"ocrtop: unknown command {command!r}\n\n{USAGE}", file=sys.stderr, end="")
        return 2
    return COMMANDS[command](rest)
