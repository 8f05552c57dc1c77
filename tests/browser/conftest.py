"""The browser tests' summary: Run-All-to-idle seconds of every lesson, printed at the end.

The lesson tests record them with ``record_property("run_all_seconds", ...)``; reports
carry them back from pytest-xdist's workers.
"""


def pytest_terminal_summary(terminalreporter):
    rows = []
    for report in terminalreporter.stats.get("passed", []):
        for key, value in getattr(report, "user_properties", []):
            if key == "run_all_seconds" and report.when == "call":
                rows.append(value)
    if rows:
        terminalreporter.section("Run All to idle in JupyterLab, seconds")
        terminalreporter.write_line(f"{'lesson':44s} {'first':>7s} {'second':>7s}")
        for lesson, first, second in sorted(rows):
            terminalreporter.write_line(f"{lesson:44s} {first:7.1f} {second:7.1f}")
