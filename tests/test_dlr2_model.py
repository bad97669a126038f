"""DLR² network: shapes of every variant, losses by hand, ranking helpers."""

import numpy as np
import pytest
import torch

from leporid.models.dlr2 import (
    ARCHS,
    Discriminator,
    DLR2Config,
    DLR2Network,
    FeatureNetwork,
    g_distance,
    loss_g,
    loss_s,
)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("seq_len,dim", [(5, 64), (1, 8), (3, 17), (8, 32), (2, 2)])
def test_shapes_every_variant(arch, seq_len, dim):
    torch.manual_seed(0)
    net = DLR2Network(7, 11, dim=dim, seq_len=seq_len, arch=arch)
    users = torch.tensor([0, 3, 6])
    states = torch.randint(0, 12, (3, seq_len))          # 11 = padding item
    x = net.image(users, states)
    assert x.shape == (3, 1, seq_len + 1, dim)
    s = net.state(users, states)
    assert s.shape == (3, dim)
    e = net.item_emb(torch.tensor([1, 2, 3]))
    assert net.S(s, e).shape == (3,)
    g = net.G(s)
    assert g.shape == (3, dim) and g.abs().max() <= 1
    assert net.rank_scores(s).shape == (3, 11)
    assert net.rank_scores(s, "g").shape == (3, 11)
    s.sum().backward()                                   # differentiable end to end
    assert net.user_emb.weight.grad is not None


def test_resnet_layers_follow_the_paper():
    f = FeatureNetwork(64, 5, "resnet")
    convs = [m for m in f.modules() if isinstance(m, torch.nn.Conv2d)]
    shapes = [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs]
    assert shapes == [(1, 64, (1, 1), (1, 1)), (64, 64, (3, 3), (1, 1)), (64, 64, (3, 3), (1, 1)),
                      (64, 128, (3, 3), (2, 2)), (128, 128, (3, 3), (1, 1)),
                      (64, 128, (1, 1), (2, 2))]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in f.modules()) == 1
    assert f.fc.in_features == 128 * 3 * 32              # l=5, D=64 -> 3 x 32 after stride 2
    noconv = FeatureNetwork(64, 5, "noconv")
    lin = [m.out_features for m in noconv.modules() if isinstance(m, torch.nn.Linear)]
    assert lin == [256, 256, 256, 256, 64]
    assert not any(isinstance(m, torch.nn.Conv2d) for m in noconv.modules())


def test_residual_skip_is_what_differs_between_resnet_and_onlyconv():
    torch.manual_seed(0)
    res = FeatureNetwork(8, 3, "resnet")
    only = FeatureNetwork(8, 3, "onlyconv")
    only.load_state_dict({k: v for k, v in res.state_dict().items() if "shortcut" not in k})
    x = torch.randn(4, 1, 4, 8)
    assert not torch.allclose(res(x), only(x))
    res.body[3].skip = False                             # the stride-2 block
    res.body[2].skip = False
    assert torch.allclose(res(x), only(x))


def test_revnet_coupling_is_invertible():
    from leporid.models.dlr2 import Coupling

    torch.manual_seed(0)
    c = Coupling(8)
    x = torch.randn(2, 8, 4, 5)
    y = c(x)
    y1, y2 = torch.chunk(y, 2, 1)
    x2 = y2 - c.g(y1)
    x1 = y1 - c.f(x2)
    assert torch.allclose(torch.cat([x1, x2], 1), x, atol=1e-5)


def test_loss_s_by_hand():
    sp = torch.tensor([0.5, -1.0])
    sn = torch.tensor([0.2, 1.5])
    # margin 1: (0.25 + 0.8^2 + 1 + 0) / 2
    assert loss_s(sp, sn, 1.0).item() == pytest.approx((0.25 + 0.64 + 1.0) / 2)
    # margin 0: only a negative S below 0 is penalised
    assert loss_s(sp, sn, 0.0).item() == pytest.approx((0.25 + 1.0) / 2)
    assert loss_s(sp, torch.tensor([-0.3, 2.0]), 0.0).item() == pytest.approx((0.25 + 0.09 + 1) / 2)


def test_loss_g_by_hand():
    g = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    ep = torch.tensor([[3.0, 4.0], [1.0, 2.0]])          # distances 5 and 1
    en = torch.tensor([[1.0, 0.0], [4.0, 5.0]])          # distances 1 and 5
    assert loss_g(g, ep, en, 0.0).item() == pytest.approx((4.0 + 0.0) / 2)
    assert loss_g(g, ep, en, 0.5).item() == pytest.approx((4.5 + 0.0) / 2)
    # authors' variant: mean squared difference; row 1: 12.5 - 0.5, row 2: 0.5 - 12.5
    assert loss_g(g, ep, en, 0.5, "squared").item() == pytest.approx((12.0 + 0.5) / 2)
    assert g_distance(g, ep).tolist() == pytest.approx([5.0, 1.0])


def test_score_all_equals_pairwise_forward():
    torch.manual_seed(0)
    d = Discriminator(6)
    s, e = torch.randn(5, 6), torch.randn(9, 6)
    full = d.score_all(s, e, max_pairs=10)                # forces several chunks
    ref = torch.stack([d(s[i].expand(9, 6), e) for i in range(5)])
    assert torch.allclose(full, ref, atol=1e-5)


def test_rank_scores_g_metrics():
    torch.manual_seed(0)
    net = DLR2Network(2, 4, dim=3, seq_len=2)
    s = torch.randn(2, 3)
    g = net.G(s)
    e = net.item_emb.weight[:4]
    ref_l2 = -((g[:, None] - e[None]) ** 2).sum(-1).sqrt()
    ref_l1 = -(g[:, None] - e[None]).abs().sum(-1)
    assert torch.allclose(net.rank_scores(s, "g", "euclidean"), ref_l2, atol=1e-5)
    assert torch.allclose(net.rank_scores(s, "g", "l1"), ref_l1, atol=1e-5)
    assert torch.allclose(net.rank_scores(s, "s"), -net.S.score_all(s, e))


def test_embeddings_initialised_and_padding_zero():
    ue = np.arange(6, dtype=np.float32).reshape(2, 3)
    ie = np.ones((4, 3), np.float32)
    net = DLR2Network(2, 4, dim=3, seq_len=2, user_emb=ue, item_emb=ie, freeze_embeddings=True)
    assert np.array_equal(net.user_emb.weight.detach().numpy(), ue)
    assert np.array_equal(net.item_emb.weight[:4].detach().numpy(), ie)
    assert not net.item_emb.weight[4].any()
    assert not net.user_emb.weight.requires_grad
    with pytest.raises(ValueError, match="shape"):
        DLR2Network(2, 4, dim=3, seq_len=2, user_emb=np.zeros((3, 3)))


def test_config_validation():
    with pytest.raises(ValueError, match="arch"):
        DLR2Config(arch="vgg")
    with pytest.raises(ValueError, match="unknown DLR2 option"):
        DLR2Config.from_dict({"lr": 1e-3, "momentum": 0.9})
