"""``python -m node_edu.progress PATH... [--csv FILE]``: the table on the terminal, and the
CSV (columns student,lesson,exercise,status,message) where asked. See __init__.py."""

import argparse
import csv
import shutil
import sys
import time

from . import COLUMNS, REFUSAL, STATUSES, Limits, report


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m node_edu.progress",
        description="Every student's exercises, checked again from their notebooks.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a student's workspace, or a folder of students' folders",
    )
    parser.add_argument("--csv", metavar="FILE", help="also write the rows to this CSV file")
    parser.add_argument(
        "--user",
        default="nobody",
        help="run as root: the unprivileged account that runs students' code (default: nobody)",
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="not root: run students' code as yourself (your own work only)",
    )
    parser.add_argument("--student", help="the name to report for a single workspace")
    parser.add_argument(
        "--exercise-timeout",
        type=float,
        default=Limits.exercise,
        metavar="S",
        help="seconds per exercise (default: %(default)g)",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=float,
        default=Limits.notebook,
        metavar="S",
        help="seconds per notebook (default: %(default)g)",
    )
    parser.add_argument(
        "--memory",
        type=float,
        default=Limits.memory / 2**30,
        metavar="GB",
        help="memory per notebook's process, in GB (default: %(default)g)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="notebooks checked at once (default: one per CPU core)",
    )
    args = parser.parse_args(argv)
    for name in ("exercise_timeout", "notebook_timeout", "memory", "jobs"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {value}")
    limits = Limits(args.exercise_timeout, args.notebook_timeout, int(args.memory * 2**30))

    def follow(done, total):
        if sys.stderr.isatty():
            print(f"\rchecked {done} of {total} notebooks", end="", file=sys.stderr, flush=True)

    start = time.monotonic()
    try:
        rows = report(
            args.paths,
            student=args.student,
            user=args.user,
            trust=args.trust,
            limits=limits,
            workers=args.jobs,
            on_done=follow,
        )
    except PermissionError:
        print(f"error: {REFUSAL}", file=sys.stderr)
        return 2
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(table(rows, width=shutil.get_terminal_size((160, 24)).columns))
    counts = ", ".join(f"{sum(r.status == s for r in rows)} {s}" for s in STATUSES)
    students = len({r.student for r in rows})
    print(f"\n{students} students, {len(rows)} rows: {counts} ({time.monotonic() - start:.0f} s)")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows([r.student, r.lesson, r.exercise, r.status, r.message] for r in rows)
        print(f"wrote {args.csv}")
    return 0


def table(rows, width=160):
    """The rows as aligned columns, each message cut to fit ``width`` characters."""
    cells = [COLUMNS] + [(r.student, r.lesson, r.exercise, r.status, r.message) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    room = max(width - sum(widths) - 8, 20)
    lines = []
    for c in cells:
        message = " ".join(c[4].split())
        if len(message) > room:
            message = message[: room - 1] + "\u2026"
        lines.append("  ".join(f"{c[i]:<{widths[i]}}" for i in range(4)) + "  " + message)
    return "\n".join(line.rstrip() for line in lines)


if __name__ == "__main__":
    sys.exit(main())
