"""The Jaccard KNN block loop in torch, for a GPU (same selection rule as the CPU kernel).

Intersections come from one matrix product per row block (TF32 on 0/1 inputs with float32
accumulation is exact for counts below 2^24); similarities are float64 so ties are detected
exactly as on the CPU; top-k keeps all values above the k-th and the lowest-index ties.
"""

from __future__ import annotations

import numpy as np
import torch


def knn_blocks_torch(X, deg, k, block, out_idx, out_val, out_cnt, device, bar):
    n, m = X.shape
    need = n * m * 4
    if torch.cuda.is_available() and str(device).startswith("cuda"):
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        if need > 0.5 * free:
            raise MemoryError(f"the {n} x {m} interaction matrix needs {need / 2**30:.1f} GiB on "
                              f"{device} ({free / 2**30:.1f} GiB free); use device='cpu'")
        # large blocks amortise launches; the float64 similarity block dominates memory
        block = int(max(block, min(n, (0.25 * free) // (16 * max(n, 1)))))
    old_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        Xc = X.tocoo()
        Xd = torch.zeros((n, m), dtype=torch.float32, device=device)
        Xd[torch.as_tensor(Xc.row, device=device).long(),
           torch.as_tensor(Xc.col, device=device).long()] = 1.0
        d = torch.as_tensor(deg, dtype=torch.float64, device=device)
        for r0 in range(0, n, block):
            r1 = min(n, r0 + block)
            b = r1 - r0
            C = (Xd[r0:r1] @ Xd.T).double()
            S = torch.where(C > 0, C / (d[r0:r1, None] + d[None, :] - C).clamp_min(1.0),
                            torch.zeros((), dtype=torch.float64, device=device))
            rows = torch.arange(b, device=device)
            S[rows, rows + r0] = 0.0
            kth = torch.topk(S, k, dim=1, sorted=False).values.min(dim=1).values
            above = S > kth[:, None]
            eq = (S == kth[:, None]) & (kth[:, None] > 0)
            room = k - above.sum(dim=1, keepdim=True)
            sel = above | (eq & (torch.cumsum(eq, dim=1) <= room))
            r, c = sel.nonzero(as_tuple=True)
            cnt = sel.sum(dim=1)
            start = torch.cumsum(cnt, 0) - cnt
            pos = torch.arange(len(r), device=device) - start[r]
            idx_b = torch.zeros((b, k), dtype=torch.int32, device=device)
            val_b = torch.zeros((b, k), dtype=torch.float32, device=device)
            idx_b[r, pos] = c.int()
            val_b[r, pos] = S[r, c].float()
            out_idx[r0:r1] = idx_b.cpu().numpy()
            out_val[r0:r1] = val_b.cpu().numpy()
            out_cnt[r0:r1] = cnt.int().cpu().numpy()
            del C, S, above, eq, sel
            bar.update(b)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old_tf32
    return out_idx, out_val, np.asarray(out_cnt)
