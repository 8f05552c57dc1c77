"""``make screenshots``: the dashboards the README shows, as a student sees them.

Starts `make lab` over a fresh workspace (as the browser tests do), runs each lesson below
in headless Chromium and saves the first dashboard (a widget output holding a figure) of
each as a PNG under docs/screenshots/ (or the folder given as the only argument).
"""

import sys
import tempfile
from pathlib import Path

from tests.browser import lab

SHOTS = {
    "00_welcome.ipynb": "00_euler_steps.png",
    "03_ode_solvers.ipynb": "03_solver_phase_plane.png",
    "07_continuous_normalizing_flows.ipynb": "07_flow_density.png",
}


def main(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, lab.make_lab(tmp) as served, lab.chromium() as b:
        base, token, _ = served
        for lesson, name in SHOTS.items():
            page = b.new_page(viewport={"width": 1300, "height": 900})
            lab.open_notebook(page, base, token, lesson)
            seconds = lab.run_all(page)
            dashboard = (
                page.locator(".jp-OutputArea-output:not([data-mime-type])")
                .filter(has=page.locator(".js-plotly-plot"))
                .filter(has=page.locator(".widget-slider, select"))
                .first
            )
            dashboard.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)  # let plotly finish drawing
            dashboard.screenshot(path=str(folder / name))
            size = (folder / name).stat().st_size
            print(f"{lesson}: ran in {seconds:.0f} s; {folder / name} ({size // 1024} KiB)")
            page.evaluate(f"() => {lab.NOTEBOOK}?.sessionContext?.shutdown()")
            page.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else lab.ROOT / "docs" / "screenshots")
