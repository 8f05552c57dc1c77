import torch

import node_edu.info as info


def test_default_device_matches_torch():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert info.default_device().type == expected


def test_environment_report_names_every_package_with_its_version():
    from importlib import metadata

    report = info.environment()
    for name in info.PACKAGES:
        assert report[name] == metadata.version(name)
    assert report["device"] == str(info.default_device())
    table = info.environment_markdown()
    assert table.count("\n") == len(report) + 1  # header, rule, one row per entry
