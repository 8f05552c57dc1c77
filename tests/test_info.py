import torch

import node_edu.info as info


def test_default_device_follows_whether_a_gpu_is_usable(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert info.default_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert info.default_device() == torch.device("cpu")


def test_default_device_holds_tensors_on_this_machine():
    z = torch.ones(3, device=info.default_device())
    assert float((z @ z).cpu()) == 3.0  # the device computes, and the answer comes back


def test_environment_report_names_every_package_with_its_version():
    from importlib import metadata

    report = info.environment()
    for name in info.PACKAGES:
        assert report[name] == metadata.version(name)
    assert report["device"] == str(info.default_device())
    table = info.environment_markdown()
    assert table.count("\n") == len(report) + 1  # header, rule, one row per entry
