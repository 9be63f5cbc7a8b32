"""The data and evaluation subcommands of ``ocrtop`` (also ``python -m ocrtop.ocr.cli ...``).

    ocrtop data synth --out DIR --num N --seed S     write a synthetic canonical dataset
    ocrtop data check DIR                            validate a dataset; exit 1 on problems
    ocrtop data convert-icdar --images D --gt D --out DIR
    ocrtop data from-pdf PDF_OR_DIR... --out DIR [--level line] [--photo 0.5]
    ocrtop eval --gt GT.json --pred PRED.json|SUB.csv [--metric icdar2015|cleval|both] [--json]

Heavy imports happen inside the subcommand functions, so ``ocrtop eval`` and ``ocrtop data
check`` start in well under a second (neither needs torch).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ocrtop.bridge import exitcodes


def _synth(args: argparse.Namespace) -> int:
    from ocrtop.ocr.data.synthetic import write_dataset

    counts = write_dataset(
        args.out, num=args.num, seed=args.seed, width=args.width, height=args.height
    )
    parts = ", ".join(f"{split}: {n}" for split, n in counts.items())
    print(f"wrote {sum(counts.values())} synthetic pages to {args.out} ({parts})")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ocrtop.ocr.data.check import check_dataset

    report = check_dataset(args.dir)
    print(report.format())
    return 0 if report.ok else 1


def _convert_icdar(args: argparse.Namespace) -> int:
    from ocrtop.ocr.data.icdar import convert_icdar_dataset

    count = convert_icdar_dataset(args.images, args.gt, args.out, split=args.split)
    print(f"converted {count} images to {args.out}")
    return 0


def _from_pdf(args: argparse.Namespace) -> int:
    from ocrtop.ocr.data.pdf import write_pdf_dataset

    try:
        fractions = [float(v) for v in args.split.split(",")]
    except ValueError:
        raise ValueError(f"--split {args.split!r}: expected 3 numbers like 0.8,0.1,0.1") from None
    report = write_pdf_dataset(
        args.inputs,
        args.out,
        level=args.level,
        long_side=args.long_side,
        max_pages=args.max_pages,
        fractions=fractions,
        photo=args.photo,
        seed=args.seed,
    )
    print(report.format(args.out, args.level))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from ocrtop.ocr.metrics import evaluate_files

    scoring = {"iou_threshold": args.iou, "match_rule": args.match_rule, "metric": args.metric}
    if str(args.pred).lower().endswith(".csv"):  # a submission: score it as canonical JSON
        import tempfile
        from pathlib import Path

        from ocrtop.ocr.lightning.predictions import predictions_to_canonical, read_submission

        canonical = predictions_to_canonical(read_submission(args.pred))
        with tempfile.TemporaryDirectory() as tmp:
            pred = Path(tmp) / "submission.json"
            pred.write_text(json.dumps(canonical), encoding="utf-8")
            scores = evaluate_files(args.gt, pred, **scoring)
    else:
        scores = evaluate_files(args.gt, args.pred, **scoring)
    if args.json:
        print(json.dumps(scores))
    else:
        for key, value in scores.items():
            print(f"{key}: {value:.4f}")
    return 0


def build_parser(prog: str = "ocrtop") -> argparse.ArgumentParser:
    """The parser for ``data`` and ``eval``; ``ocrtop``'s own CLI may embed it."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="create, check and convert datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    synth = data_commands.add_parser("synth", help="write a synthetic canonical dataset")
    synth.add_argument("--out", required=True, help="output directory (created)")
    synth.add_argument("--num", type=int, default=200, help="number of pages (default 200)")
    synth.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    synth.add_argument("--width", type=int, default=640, help="page width px (default 640)")
    synth.add_argument("--height", type=int, default=640, help="page height px (default 640)")
    synth.set_defaults(func=_synth)

    check = data_commands.add_parser("check", help="validate a canonical dataset")
    check.add_argument("dir", help="dataset directory")
    check.set_defaults(func=_check)

    icdar = data_commands.add_parser(
        "convert-icdar", help="convert ICDAR 2015 gt_img_N.txt files to the canonical format"
    )
    icdar.add_argument("--images", required=True, help="folder of img_N.jpg images")
    icdar.add_argument("--gt", required=True, help="folder of gt_img_N.txt files")
    icdar.add_argument("--out", required=True, help="output dataset directory")
    icdar.add_argument("--split", default=None, help="write into OUT/SPLIT/ (e.g. train)")
    icdar.set_defaults(func=_convert_icdar)

    pdf = data_commands.add_parser(
        "from-pdf", help="render PDFs into a canonical dataset, boxes from the text layer"
    )
    pdf.add_argument("inputs", nargs="+", metavar="PDF_OR_DIR", help="PDF files or folders")
    pdf.add_argument("--out", required=True, help="output dataset directory (created)")
    pdf.add_argument("--level", choices=("word", "line"), default="word", help="box level")
    pdf.add_argument("--long-side", type=int, default=1280, help="page long side px (1280)")
    pdf.add_argument("--max-pages", type=int, default=None, help="first N pages per document")
    pdf.add_argument(
        "--split", default="0.8,0.1,0.1", help="train,val,test shares of DOCUMENTS (0.8,0.1,0.1)"
    )
    pdf.add_argument(
        "--photo", type=float, default=0.0, help="share of pages made to look photographed (0)"
    )
    pdf.add_argument("--seed", type=int, default=0, help="seed of the photo effects (0)")
    pdf.set_defaults(func=_from_pdf)

    ev = commands.add_parser("eval", help="precision/recall/hmean of predictions vs ground truth")
    ev.add_argument("--gt", required=True, help="ground-truth labels JSON (canonical format)")
    ev.add_argument(
        "--pred", required=True, help="predictions: canonical JSON, or a submission .csv"
    )
    ev.add_argument(
        "--metric",
        choices=("icdar2015", "cleval", "both"),
        default="icdar2015",
        help="ICDAR 2015 IoU matching (precision, recall, hmean), CLEval's character-level "
        "scores (cleval_precision, ...), or both (default icdar2015)",
    )
    ev.add_argument(
        "--iou", type=float, default=0.5, help="ICDAR: a match needs IoU above it (default 0.5)"
    )
    ev.add_argument(
        "--match-rule",
        choices=("icdar2015", "max_iou"),
        default="icdar2015",
        help="ICDAR: the official greedy order (default) or highest IoU first",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return its exit code.

    Input that cannot be read (a missing path, malformed JSON) is reported as
    ``error: <message>`` on stderr with exit code 2, ``BAD_INPUT``, as every other ocrtop
    command does, without a traceback: the messages name the file at fault. Exit 1 is
    kept for a result that is a finding: ``data check`` read the dataset and found
    problems in it.
    """
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.func(args))
    except (FileNotFoundError, FileExistsError, NotADirectoryError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exitcodes.BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
