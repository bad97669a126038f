"""DLR²: the Dual-Loss Residual Recommender of Zhang et al., KDD'21 (Sec. 4; App. G, H).

Input: user ``i``'s embedding ``u_i`` and the embeddings of the last ``l`` items, oldest first,
stacked as a one-channel ``(l+1) x D`` image ``x = [u_i; e_{t-l}; ...; e_{t-1}]``.

Feature network ``s = F(x)`` (``arch``):

- ``resnet`` (default): 1x1 conv 1->64 + ReLU; residual block ``relu(conv3(relu(conv3(x))) + x)``
  (64->64); residual block with stride 2 ``relu(conv3(relu(conv3_s2(x))) + BN(conv1_s2(x)))``
  (64->128); flatten; linear -> D.
- ``onlyconv``: the same convolutions without the skips (``relu`` after every conv).
- ``revnet``: 1x1 conv + ReLU; additive coupling ``y1 = x1 + F(x2), y2 = x2 + G(y1)`` on the two
  channel halves (F, G = conv3-ReLU-conv3); 3x3 conv 64->128 stride 2 + ReLU; a second coupling
  block on 128 channels; flatten; linear -> D.
- ``noconv``: flatten; four fully connected layers of 256 with ReLU (paper App. H); linear -> D.

The spatial output size ``(l//2 + 1) x ((D-1)//2 + 1)`` after the stride-2 stage follows from
``l`` and ``D``; any ``l >= 1`` and ``D >= 1`` work.

Discriminative network ``S(s, e) = W4 relu(W3 relu(W2 relu(W1 [s; e])))`` (2D -> 256 -> 256 -> 128
-> 1; lower = better). Generative network ``G(s) = tanh(MLP(s))`` (D -> 256 -> 256 -> 128 -> D).

Losses (positive ``e+`` = the next item, negative ``e-`` = a sampled item the user has not
trained on)::

    L_S = S(s, e+)^2 + max(m_S - S(s, e-), 0)^2
    L_G = max(d(G(s), e+) - d(G(s), e-) + m_G, 0)

with ``d`` the Euclidean distance (paper) or the mean squared difference (``g_distance=
"squared"``, the authors' code). Training uses ``L_S + L_G`` (``loss="both"``) or one alone
(Table 6).

Margins default to the authors' code, ``m_S = m_G = 0.5``, not to the paper's text (App. G says
0): with ``m_S = 0`` the square-square loss is minimised by ``S == 0`` for every pair (the
negative term ``max(-S, 0)^2`` vanishes for any ``S >= 0``), and training collapses towards it.
Measured on ml-latest-small (LEPORID init, 2 epochs): test HR@10 0.17 with the paper's margins
against 0.60 with 0.5 (random init: 0.26 against 0.45). ``margin_s=0, margin_g=0`` reproduces
the paper's setting.

Ranking: by ``S`` (``score = -S(s, e_j)``, default) or by ``G`` (``score = -||G(s) - e_j||``,
Euclidean or L1). The padding item (index ``n_items``, all-zero, never trained) fills states
shorter than ``l`` (see ``leporid.data.sequences``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import suggest
from .dlr2_options import ARCHS, LOSSES, DLR2Config  # noqa: F401 - DLR2Config re-exported
from .embedding import seed_tables
from .neural import SequentialRecommender, suggest_training

_OWN = DLR2Config()       # DLR²'s own defaults, written once (dlr2_options.py)

def use_bf16(setting: bool | None, device: str | torch.device = "cpu") -> bool:
    """Resolve ``DLR2Config.bf16``: ``None`` means on for a CPU with native bfloat16 support
    (AVX512-BF16 / AMX), off elsewhere (CUDA runs in float32)."""
    if setting is not None:
        return bool(setting)
    if torch.device(device).type != "cpu":
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


# --------------------------------------------------------------------------- building blocks
def _conv3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class ConvBlock(nn.Module):
    """Two 3x3 convolutions; with ``skip`` a residual block (projected shortcut when the shape
    changes: 1x1 conv with the block's stride + BatchNorm), without it two conv+ReLU layers."""

    def __init__(self, cin: int, cout: int, stride: int = 1, skip: bool = True):
        super().__init__()
        self.conv1, self.conv2 = _conv3(cin, cout, stride), _conv3(cout, cout)
        self.skip = skip
        self.shortcut = None
        if skip and (stride != 1 or cin != cout):
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.conv2(F.relu(self.conv1(x)))
        if self.skip:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return F.relu(out)


class Coupling(nn.Module):
    """RevNet additive coupling: ``y1 = x1 + F(x2)``, ``y2 = x2 + G(y1)`` on channel halves."""

    def __init__(self, channels: int):
        super().__init__()
        if channels % 2:
            raise ValueError(f"a coupling block needs an even channel count, got {channels}")
        h = channels // 2
        self.f = nn.Sequential(_conv3(h, h), nn.ReLU(), _conv3(h, h))
        self.g = nn.Sequential(_conv3(h, h), nn.ReLU(), _conv3(h, h))

    def forward(self, x):
        x1, x2 = torch.chunk(x, 2, dim=1)
        y1 = x1 + self.f(x2)
        y2 = x2 + self.g(y1)
        return torch.cat([y1, y2], dim=1)


def _mlp(sizes: list[int], out_act: nn.Module | None = None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


class FeatureNetwork(nn.Module):
    """``(B, 1, l+1, D)`` image -> state ``s`` of shape ``(B, D)``; see the module docstring."""

    def __init__(self, dim: int = 64, seq_len: int = 5, arch: str = "resnet",
                 channels: tuple[int, int] = (64, 128), hidden: int = 256,
                 channels_last: bool = False):
        super().__init__()
        self.channels_last = channels_last and arch != "noconv"
        if arch not in ARCHS:
            raise ValueError(f"unknown arch {arch!r}; choose from {ARCHS}")
        self.arch, self.dim, self.seq_len = arch, dim, seq_len
        c1, c2 = channels
        if arch == "noconv":
            self.body = nn.Sequential(nn.Flatten(), _mlp([(seq_len + 1) * dim] + [hidden] * 4),
                                      nn.ReLU())
            flat = hidden
        else:
            stem = [nn.Conv2d(1, c1, 1, bias=False), nn.ReLU()]
            if arch == "resnet":
                body = [ConvBlock(c1, c1), ConvBlock(c1, c2, stride=2)]
            elif arch == "onlyconv":
                body = [ConvBlock(c1, c1, skip=False), ConvBlock(c1, c2, stride=2, skip=False)]
            else:  # revnet
                body = [Coupling(c1), _conv3(c1, c2, 2), nn.ReLU(), Coupling(c2)]
            self.body = nn.Sequential(*stem, *body, nn.Flatten())
            flat = c2 * (seq_len // 2 + 1) * ((dim - 1) // 2 + 1)
        self.fc = nn.Linear(flat, dim)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if self.channels_last:
            self.body.to(memory_format=torch.channels_last)

    def forward(self, x):
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.fc(self.body(x))


class Discriminator(nn.Module):
    """``S(s, e)``: concat -> 256 -> 256 -> 128 -> 1 (ReLU between); lower = better."""

    def __init__(self, dim: int = 64, hidden: tuple[int, ...] = (256, 256, 128)):
        super().__init__()
        self.dim = dim
        self.first = nn.Linear(2 * dim, hidden[0])
        self.rest = _mlp(list(hidden) + [1])

    def forward(self, s, e):
        return self.rest(F.relu(self.first(torch.cat([s, e], dim=1)))).squeeze(1)

    def item_part(self, e):
        """``W1e e`` for every row of ``e``: the item half of the first layer, (M, H)."""
        return e @ self.first.weight[:, self.dim:].T

    def score_all(self, s, e, max_pairs: int = 1 << 16, item_part=None):
        """``S(s_b, e_j)`` for every row ``b`` of ``s`` and ``j`` of ``e``: shape (B, M).

        Exact split of the first layer, ``W1 [s; e] + b1 = (W1s s + b1) + W1e e``: the state
        half costs O(B D H) once per state, the item half O(M D H) once per item (pass
        ``item_part`` to reuse it across batches of states), so only the ReLU and the layers
        after it run per pair; pairs go through them in chunks of at most ``max_pairs``.
        """
        w, b = self.first.weight, self.first.bias
        a = s @ w[:, :self.dim].T + b                       # (B, H)
        c = self.item_part(e) if item_part is None else item_part      # (M, H)
        out = torch.empty(s.shape[0], c.shape[0], dtype=a.dtype, device=a.device)
        rows = max(1, max_pairs // max(c.shape[0], 1))
        for i in range(0, s.shape[0], rows):
            h = F.relu(a[i:i + rows, None, :] + c[None, :, :])
            out[i:i + rows] = self.rest(h).squeeze(-1)
        return out


class Generator(nn.Module):
    """``G(s)``: D -> 256 -> 256 -> 128 -> D with tanh output."""

    def __init__(self, dim: int = 64, hidden: tuple[int, ...] = (256, 256, 128)):
        super().__init__()
        self.net = _mlp([dim, *hidden, dim], nn.Tanh())

    def forward(self, s):
        return self.net(s)


# --------------------------------------------------------------------------- losses
def loss_s(s_pos: torch.Tensor, s_neg: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """Square-square loss ``mean(S+^2 + max(m - S-, 0)^2)``."""
    return (s_pos.pow(2) + torch.clamp(margin - s_neg, min=0).pow(2)).mean()


def g_distance(g: torch.Tensor, e: torch.Tensor, kind: str = "euclidean") -> torch.Tensor:
    """Row-wise distance: Euclidean norm, or mean squared difference (``"squared"``)."""
    diff = g - e
    if kind == "euclidean":
        return torch.linalg.vector_norm(diff, dim=1)
    if kind == "squared":
        return diff.pow(2).mean(dim=1)
    raise ValueError(f"unknown distance {kind!r}")


def loss_g(g: torch.Tensor, e_pos: torch.Tensor, e_neg: torch.Tensor, margin: float = 0.0,
           distance: str = "euclidean") -> torch.Tensor:
    """Hinge ``mean(max(d(G, e+) - d(G, e-) + m, 0))``."""
    return torch.clamp(g_distance(g, e_pos, distance) - g_distance(g, e_neg, distance) + margin,
                       min=0).mean()


# --------------------------------------------------------------------------- the network
class DLR2Network(nn.Module):
    """Embeddings + feature network + S + G. Item row ``n_items`` is the zero padding item."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, seq_len: int = 5,
                 arch: str = "resnet", user_emb: np.ndarray | None = None,
                 item_emb: np.ndarray | None = None, freeze_embeddings: bool = False,
                 channels_last: bool = False):
        super().__init__()
        self.n_users, self.n_items, self.dim, self.seq_len = n_users, n_items, dim, seq_len
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items + 1, dim, padding_idx=n_items)
        with torch.no_grad():
            self.item_emb.weight[n_items].zero_()
        seed_tables([(self.user_emb, self.item_emb)], user_emb, item_emb, freeze_embeddings)
        self.feature = FeatureNetwork(dim, seq_len, arch, channels_last=channels_last)
        self.S = Discriminator(dim)
        self.G = Generator(dim)

    def image(self, users: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """``(B, 1, l+1, D)``: the user row, then the state items oldest first."""
        x = torch.cat([self.user_emb(users)[:, None, :], self.item_emb(states)], dim=1)
        return x[:, None]

    def state(self, users: torch.Tensor, states: torch.Tensor, bf16: bool = False) -> torch.Tensor:
        """Feature vector ``s`` (B, D), float32."""
        x = self.image(users, states)
        if bf16:
            with torch.autocast(x.device.type, dtype=torch.bfloat16):
                return self.feature(x).float()
        return self.feature(x)

    @torch.no_grad()
    def rank_scores(self, s: torch.Tensor, score_with: str = "s", g_metric: str = "euclidean",
                    max_pairs: int = 1 << 16, item_part=None) -> torch.Tensor:
        """Scores (higher = better) of every real item for each state: (B, n_items).
        ``item_part``: ``S.item_part`` of the real items, computed once for many batches."""
        e = self.item_emb.weight[:self.n_items]
        if score_with == "s":
            return -self.S.score_all(s, e, max_pairs, item_part)
        p = 2.0 if g_metric == "euclidean" else 1.0
        return -torch.cdist(self.G(s), e, p=p)


# --------------------------------------------------------------------------- the recommender
class DLR2(SequentialRecommender):
    """DLR² as a recommender: ``fit(split)``, ``score(users, part)``, ``save``/``load``.

    Parameters: the fields of ``DLR2Config`` (DLR²'s own options, validated by it) and the
    training settings (``leporid.models.training.TrainingConfig``; DLR²'s defaults in
    ``leporid.models.registry``), e.g. ``DLR2(init="leporid", arch="revnet")``. ``fit``
    trains with the generic loop (``leporid.train.loop``; model selection on validation
    only) and keeps the best validation state. Learned state: ``network_``, ``history_``,
    ``val_states_`` / ``test_states_`` (n_users x l item indices, padding = n_items).
    """

    #: z-scored LE / LEPORID columns, as the authors feed DLR² (test HR@10 0.79 on ml-100k)
    spectral_output = "zscore"

    def __init__(self, seq_len=_OWN.seq_len, arch=_OWN.arch, loss=_OWN.loss,
                 margin_s=_OWN.margin_s, margin_g=_OWN.margin_g, g_distance=_OWN.g_distance,
                 score_with=_OWN.score_with, g_metric=_OWN.g_metric, bf16=_OWN.bf16,
                 channels_last=_OWN.channels_last, training=None, **settings):
        self._set_training(training, settings)
        for name, v in (("margin_s", margin_s), ("margin_g", margin_g)):
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        self.seq_len, self.arch, self.loss, self.margin_s = seq_len, arch, loss, margin_s
        self.margin_g, self.g_distance, self.score_with = margin_g, g_distance, score_with
        self.g_metric, self.bf16 = g_metric, bf16
        self.channels_last = channels_last
        _ = self.config                                # validates DLR²'s own options

    @property
    def config(self) -> DLR2Config:
        """DLR²'s own options as a ``DLR2Config`` (validated)."""
        return DLR2Config(**{f: getattr(self, f) for f in DLR2Config().to_dict()})

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """lr 1e-4-1e-2 (log), weight decay 0-1e-2, margins 0.1-1, batch 64/128/256."""
        return {**suggest_training(trial, fixed),
                "margin_s": suggest(trial, fixed, "margin_s", "float", 0.1, 1.0),
                "margin_g": suggest(trial, fixed, "margin_g", "float", 0.1, 1.0),
                "batch_size": suggest(trial, fixed, "batch_size", "categorical", [64, 128, 256])}

    # -- the training contract -------------------------------------------------------------
    def _make_network(self):
        return DLR2Network(self.n_users_, self.n_items_, self.dim, self.seq_len, self.arch,
                           channels_last=self.channels_last)

    def _build(self, data) -> None:
        super()._build(data)
        self.bf16_ = use_bf16(self.bf16, self.device)

    def _windows_of(self, indptr, items):
        """Every ``l`` consecutive items and the next one (``data.sequences.sliding_windows``)."""
        from ..data.sequences import sliding_windows

        return sliding_windows(indptr, items, self.seq_len, self.n_items_)

    def _finish(self) -> None:
        self.bf16_ = use_bf16(self.bf16, self.device)

    def batch_loss(self, batch) -> torch.Tensor:
        """``L_S + L_G`` (or one alone) of a batch; the state is computed once per window."""
        users, states, targets, negs = batch
        net = self.network_
        s = net.state(users, states, self.bf16_)
        e_pos, e_neg = net.item_emb(targets), net.item_emb(negs)
        total = s.new_zeros(())
        if self.loss in ("both", "s"):
            out = net.S(torch.cat([s, s]), torch.cat([e_pos, e_neg]))
            total = total + loss_s(out[:len(s)], out[len(s):], self.margin_s)
        if self.loss in ("both", "g"):
            total = total + loss_g(net.G(s), e_pos, e_neg, self.margin_g, self.g_distance)
        return total

    # -- scoring -----------------------------------------------------------------------------
    def _score_context(self):
        # the item half of S's first layer once per call, not once per batch of states
        net = self.network_
        return net.S.item_part(net.item_emb.weight[:self.n_items_]) \
            if self.score_with == "s" else None

    def _score_batch(self, users, states, context):
        s = self.network_.state(users, states, self.bf16_)
        return self.network_.rank_scores(s, self.score_with, self.g_metric, item_part=context)
