"""``python -m benchmarks.classroom``: what a class costs one machine, on a real JupyterHub.

Not part of ``make bench`` (it takes a quarter of an hour). It needs what the classroom
test needs (``make classroom``: jupyterhub, nbgitpuller, configurable-http-proxy) and
Chromium, and runs the hub of tests/classroom/hub.py on 127.0.0.1:

1. **Memory per student**: the student's server and kernel, idle (lesson 00 open, nothing
   run), then after Run All of lesson 06 (the lesson that trains a model); resident (RSS) and unique
   (USS: what one more student adds, libraries shared between kernels counted once).
2. **Run All of lesson 06 with 1, 3 and 6 students at once** (everyone presses Run All at
   the same moment): each student's seconds to idle, and the CPU seconds their server and
   kernel used.
3. **How many students one machine holds**: from 1 and 2, for this machine's memory and
   cores.
4. **The teacher's report for a class**: ``python -m node_edu.progress`` over 30 students x
   every lesson (a third solved, a third half solved, a third untouched), run as root.

The browsers run on the same machine here (on a real hub they run on the students'
laptops), so the timings include Chromium's work too. Options: ``--only
memory,concurrency,report``, ``--sizes 1,3,6``, ``--no-write`` (print only; otherwise the
section "Classroom" of benchmarks/RESULTS.md is replaced).
"""

import argparse
import contextlib
import csv
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from .problems import machine

HERE = Path(__file__).parent
BEGIN, END = "<!-- classroom: begin -->", "<!-- classroom: end -->"
MiB = 2**20


def memory(processes):
    """(RSS, USS) in MiB of a list of psutil processes, summed."""
    import psutil

    rss = uss = 0
    for p in processes:
        with contextlib.suppress(psutil.Error):
            info = p.memory_full_info()
            rss, uss = rss + info.rss, uss + info.uss
    return rss / MiB, uss / MiB


def cpu_seconds(processes):
    import psutil

    total = 0.0
    for p in processes:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def split(tree):
    """A student's processes as (the server, its kernels)."""
    server, rest = tree[0], tree[1:]
    kernels = [p for p in rest if any("ipykernel" in part for part in _cmdline(p))]
    return server, kernels


def _cmdline(p):
    import psutil

    try:
        return p.cmdline()
    except psutil.Error:
        return []


def run_class(sizes):
    """Sections 1 and 2: one hub, max(sizes) students. Returns the figures."""
    from tests.browser import lab
    from tests.classroom import hub

    lesson_00, lesson_06 = hub.lesson_file("00"), hub.lesson_file("06")
    if hub.missing():
        raise SystemExit(f"cannot start a hub: {hub.missing()}")
    n = max(sizes)
    names = [f"student{i}" for i in range(n)]
    out = {"sizes": sizes}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        repo, branch = hub.course(tmp)
        with hub.jupyterhub(tmp / "hub") as h, lab.chromium() as browser:
            pages = hub.log_in_class(browser, h, names)
            link = hub.pull_link(h, repo, branch, f"lessons/{lesson_00}")
            for page in pages:
                page.goto(link, wait_until="commit")
            for page in pages:
                hub.wait_for_lesson(page, f"{hub.COURSE}/lessons/{lesson_00}")
            time.sleep(10)  # let the servers and kernels settle
            servers = h.servers()
            out["idle"] = [_student_memory(servers[name]) for name in names]
            out["hub"] = memory(
                [p for p in h.processes() if not any(p in t for t in servers.values())]
            )
            for name, page in zip(names, pages, strict=True):  # lesson 00's kernel off
                page.evaluate(f"() => {lab.NOTEBOOK}.sessionContext.shutdown()")
                hub.open_lesson(page, h, name, lesson_06)
            out["runs"] = {}
            for k in sizes:
                out["runs"][k] = _run_all_at_once(h, names[:k], pages[:k])
                print(f"{k} at once: {out['runs'][k]}", flush=True)
            servers = h.servers()
            out["after_06"] = [_student_memory(servers[name]) for name in names]
    out["load_end"] = os.getloadavg()[0]
    return out


def _student_memory(tree):
    server, kernels = split(tree)
    return {"server": memory([server]), "kernel": memory(kernels), "kernels": len(kernels)}


def _run_all_at_once(h, names, pages):
    """Restart the kernels and clear the outputs, then every student presses Run All at
    once; each student's seconds to idle and CPU seconds (server + kernel)."""
    from tests.browser import lab

    for page in pages:
        page.evaluate(f"async () => await {lab.NOTEBOOK}.sessionContext.session.kernel.restart()")
        lab.wait_idle(page, timeout=300_000)
        # A restarted kernel counts cells from 1 again: without the old counts on the page,
        # "every cell has run afresh" means every cell has a count.
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        page.wait_for_function(f"() => ({lab.EXECUTION_COUNTS})().every(c => c === null)")
    trees = h.servers()
    cpu_before = {n: cpu_seconds(trees[n]) for n in names}
    started = [lab.start_run_all(page) for page in pages]
    seconds, deadline = {}, time.monotonic() + 1800
    while len(seconds) < len(pages):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"Run All not done after 1800 s: {sorted(set(names) - set(seconds))}"
            )
        for name, page, (floor, start) in zip(names, pages, started, strict=True):
            if name not in seconds and page.evaluate(lab.ran_all(floor)):
                seconds[name] = time.perf_counter() - start
        time.sleep(0.5)
    trees = h.servers()
    cpu = {n: cpu_seconds(trees[n]) - cpu_before[n] for n in names}
    return {"seconds": [seconds[n] for n in names], "cpu": [cpu[n] for n in names]}


def run_report(n_students=30):
    """Section 4: the report over a class of ``n_students``; (seconds, rows, statuses)."""
    from node_edu.checks.base import solution_source

    lessons = sorted((HERE.parent / "lessons").glob("*.ipynb"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for s in range(n_students):
            workspace = tmp / "class" / f"student{s:02d}" / "workspace"
            workspace.mkdir(parents=True)
            for lesson in lessons:
                nb = nbformat.read(lesson, as_version=4)
                k = 0
                for cell in nb.cells:
                    if "exercise" in cell.metadata:
                        k += 1
                        if s % 3 == 0 or (s % 3 == 1 and k % 2):  # solved, half, untouched
                            cell.source = solution_source(cell.metadata["exercise"])
                nbformat.write(nb, workspace / lesson.name)
        out = tmp / "progress.csv"
        load = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "node_edu.progress", str(tmp / "class"), "--csv", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=tmp,
        )
        seconds = time.perf_counter() - start
        load_end = os.getloadavg()[0]
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
    statuses = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {"seconds": seconds, "rows": len(rows), "statuses": statuses, "load": load,
            "load_end": load_end,
            "students": n_students, "notebooks": n_students * len(lessons)}  # fmt: skip


def capacity(figures, total_mib, cores):
    """How many students fit: by memory, and by CPU when all press Run All of lesson 06."""
    after = figures["after_06"]
    per_student = max(s["server"][1] + s["kernel"][1] for s in after)  # USS, the worst
    shared = max(s["server"][0] + s["kernel"][0] for s in after) - per_student
    reserve = 2048 + figures["hub"][0]  # the system, the hub and the proxy
    by_memory = int((total_mib - reserve - shared) // per_student)
    cpu = max(figures["runs"][max(figures["sizes"])]["cpu"])
    in_3_minutes = int(cores * 180 // cpu)  # students whose Run All fits 3 minutes of cores
    return {"per_student": per_student, "shared": shared, "reserve": reserve,
            "by_memory": by_memory, "cpu_per_run": cpu, "cores": cores,
            "in_3_minutes": in_3_minutes}  # fmt: skip


def markdown(figures, report, load, cores, total_mib):
    lines = [
        BEGIN,
        "## Classroom: one machine, a JupyterHub, a class (`python -m benchmarks.classroom`)",
        "",
        f"Generated on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
        f"Machine: {machine()}; {cores} cores, {total_mib / 1024:.0f} GiB. Load average "
        f"at the start: {load:.1f}. The hub of tests/classroom/hub.py (JupyterHub, "
        "configurable-http-proxy, one local process per student); the students' browsers "
        "(headless Chromium) ran on the same machine, so their work is in the timings too.",
    ]
    if figures:
        lines += ["", "| per student (MiB) | server RSS | server USS | kernel RSS | kernel USS |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for label, key in (("idle (lesson 00 open)", "idle"), ("after lesson 06", "after_06")):
            rows = figures[key]
            worst = [max(s[part][i] for s in rows) for part in ("server", "kernel") for i in (0, 1)]
            lines.append(f"| {label} | " + " | ".join(f"{v:.0f}" for v in worst) + " |")
        lines += [
            "",
            f"Worst student of {len(figures['idle'])}; load average "
            f"{figures['load_end']:.1f} at the end. The hub and the proxy together: "
            f"{figures['hub'][0]:.0f} MiB RSS. USS is what one more student adds; the rest "
            "of RSS (torch's and Python's libraries) is shared by every kernel.",
            "",
            "| students pressing Run All of lesson 06 at once | seconds to idle: mean | worst "
            "| CPU seconds per student (server + kernel) |",
            "|---|---|---|---|",
        ]
        for k, run in sorted(figures["runs"].items()):
            s, c = run["seconds"], run["cpu"]
            lines.append(f"| {k} | {sum(s) / len(s):.0f} | {max(s):.0f} | {sum(c) / len(c):.0f} |")
        cap = capacity(figures, total_mib, cores)
        lines += [
            "",
            f"**How many students this machine holds.** Memory: each student adds about "
            f"{cap['per_student']:.0f} MiB after lesson 06 (USS), on top of "
            f"{cap['shared']:.0f} MiB shared once and {cap['reserve']:.0f} MiB for the system "
            f"and the hub: **{cap['by_memory']} students** with lesson 06 run in "
            f"{total_mib / 1024:.0f} GiB. CPU: a Run All of lesson 06 costs "
            f"{cap['cpu_per_run']:.0f} CPU seconds, so {cores} cores finish n students who "
            f"press it together in about n x {cap['cpu_per_run']:.0f} / {cores} s at best: "
            f"**{cap['in_3_minutes']} students** within three minutes.",
        ]
    if report:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(report["statuses"].items()))
        lines += [
            "",
            f"**The teacher's report** (`python -m node_edu.progress`, as root, one process "
            f"per notebook, {cores} at a time) over {report['students']} students x "
            f"{report['notebooks'] // report['students']} lessons ({report['notebooks']} "
            f"notebooks, {report['rows']} exercise rows: {counts}): **{report['seconds']:.0f} "
            f"s** (load average {report['load']:.1f} at its start, "
            f"{report['load_end']:.1f} at its end).",
        ]
    lines.append(END)
    return "\n".join(lines)


def section_of(text):
    """The classroom section of a RESULTS.md text ("" if none): ``make bench`` keeps it."""
    if BEGIN in text and END in text:
        return BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END
    return ""


def write(section):
    """Replace the classroom section of RESULTS.md (or append it)."""
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classroom")
    parser.add_argument("--only", default="memory,concurrency,report")
    parser.add_argument("--sizes", default="1,3,6")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    sizes = [int(k) for k in args.sizes.split(",")]
    load, cores = os.getloadavg()[0], os.cpu_count()
    total_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / MiB
    figures = run_class(sizes) if only & {"memory", "concurrency"} else None
    report = run_report() if "report" in only else None
    section = markdown(figures, report, load, cores, total_mib)
    print(section)
    if not args.no_write:
        write(section)
        print(f"written: {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
