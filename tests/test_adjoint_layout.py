"""The adjoint's named augmented state: pack/unpack put each block where the layout says
(checked against hand-built vectors), views write through, and the norm blocks are the
seminorm's and the full norm's."""

import torch

from node_edu.adjoint.backward import Layout


def test_pack_and_unpack_round_trip_with_named_blocks():
    params = [torch.zeros(2, 3), torch.zeros(4)]
    layout = Layout(2, params, with_z=True, with_t=True)
    z, a = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])
    a_theta = [torch.arange(6.0).view(2, 3) + 10, torch.arange(4.0) + 20]
    y = layout.pack(z=z, a=a, a_theta=a_theta, a_t=torch.tensor(-1.0))
    expected = torch.tensor([1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, -1.0])
    assert torch.equal(y, expected)
    state = layout.unpack(y)
    assert torch.equal(state.z, z) and torch.equal(state.a, a)
    assert torch.equal(state.a_t, torch.tensor([-1.0]))
    split = layout.split_params(state.a_theta)
    assert [s.shape for s in split] == [(2, 3), (4,)]
    assert all(torch.equal(s, g) for s, g in zip(split, a_theta, strict=True))
    state.a += 1  # a view: writes into y
    assert torch.equal(y[2:4], torch.tensor([4.0, 5.0]))
    assert torch.equal(y, expected + torch.tensor([0.0, 0, 1, 1] + [0] * 11))  # nothing else
    assert layout.norm_blocks("seminorm") == [2, 2]
    assert layout.norm_blocks("full") == [2, 2, 11]


def test_checkpoint_layout_has_no_z_and_no_time_block():
    layout = Layout(3, [torch.zeros(5)], with_z=False, with_t=False)
    y = layout.pack(z=torch.ones(3), a=torch.ones(3), a_theta=[torch.zeros(5)])
    assert y.shape == (8,)  # z is not part of the state
    state = layout.unpack(y)
    assert state.z is None and state.a_t is None and state.a_theta.shape == (5,)
    assert layout.norm_blocks("seminorm") == [3]
    assert layout.norm_blocks("full") == [3, 5]
    no_params = Layout(3, [], with_z=False, with_t=False)
    assert no_params.norm_blocks("full") == [3]  # nothing beyond a to count
    assert no_params.unpack(torch.zeros(3)).a_theta.numel() == 0
