"""benchmarks/classroom.py's arithmetic and its section of RESULTS.md (the measurement
itself needs a hub and takes a quarter of an hour: python -m benchmarks.classroom)."""

from benchmarks import classroom

FIGURES = {
    "sizes": [1, 3],
    "load_end": 2.5,
    "hub": (150.0, 120.0),
    "idle": [{"server": (100.0, 60.0), "kernel": (400.0, 150.0), "kernels": 1}] * 3,
    "after_06": [
        {"server": (110.0, 70.0), "kernel": (900.0, 500.0), "kernels": 1},
        {"server": (110.0, 70.0), "kernel": (950.0, 530.0), "kernels": 1},
        {"server": (110.0, 70.0), "kernel": (900.0, 500.0), "kernels": 1},
    ],
    "runs": {
        1: {"seconds": [50.0], "cpu": [45.0]},
        3: {"seconds": [80.0, 90.0, 100.0], "cpu": [46.0, 47.0, 48.0]},
    },  # fmt: skip
}


def test_capacity_by_memory_and_cpu():
    cap = classroom.capacity(FIGURES, total_mib=24 * 1024, cores=2)
    assert cap["per_student"] == 70 + 530  # the worst student's USS, server + kernel
    assert cap["shared"] == 110 + 950 - 600  # the rest of that student's RSS
    assert cap["reserve"] == 2048 + 150
    assert cap["by_memory"] == (24 * 1024 - 2198 - 460) // 600  # 36, counted by hand
    assert cap["cpu_per_run"] == 48.0
    assert cap["in_3_minutes"] == 7  # 2 cores x 180 s / 48 s = 7.5


def test_the_section_replaces_itself_and_survives_make_bench(tmp_path, monkeypatch):
    monkeypatch.setattr(classroom, "HERE", tmp_path)
    (tmp_path / "RESULTS.md").write_text("# Benchmarks\n\ntables\n")
    text = classroom.markdown(FIGURES, None, load=1.0, cores=2, total_mib=24 * 1024)
    assert "| 3 | 90 | 100 | 47 |" in text and "**36 students**" in text
    assert "**7 students** within three minutes" in text and "load average 2.5 at the end" in text
    classroom.write(text)
    classroom.write(text.replace("| 3 | 90", "| 3 | 91"))  # again: replaced, not appended
    results = (tmp_path / "RESULTS.md").read_text()
    assert results.count(classroom.BEGIN) == 1 and "| 3 | 91" in results
    assert results.startswith("# Benchmarks\n\ntables\n")
    assert classroom.section_of(results).startswith(classroom.BEGIN)
    assert classroom.section_of("no section here") == ""
