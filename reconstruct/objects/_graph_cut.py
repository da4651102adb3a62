"""The s-t minimum cut of an image grid: the exact binary labelling both the segmenter and the
tracker refine their masks with (scipy's max-flow)."""

from __future__ import annotations

import numpy as np

__all__ = ["min_cut_grid"]

# Capacities of the s-t graph are integers: unaries and edge weights (in nats) are scaled by
# this before rounding, which keeps ~1/64 nat of resolution.
_CAPACITY_SCALE = 64.0
_HARD = 1 << 22
"""Capacity that pins a pixel's label: larger than any finite cut through its 8 edges can be."""


def min_cut_grid(
    logodds: np.ndarray,
    image: np.ndarray,
    *,
    smoothness: float,
    hard_fg: np.ndarray | None = None,
    hard_bg: np.ndarray | None = None,
) -> np.ndarray:
    """Binary labelling of an image grid by an s-t minimum cut (exact for this energy).

    Minimises ``Σ_p U_p(L_p) + smoothness Σ_{p~q} exp(-β |I_p - I_q|²) / dist(p, q) [L_p ≠ L_q]``
    over 8-connected neighbours, with ``U_p(fg) - U_p(bg) = -logodds_p`` and β set from the
    mean squared colour difference (Boykov & Jolly's contrast-sensitive Potts model, as GrabCut).

    Args:
        logodds: H×W float, > 0 favours the foreground (nats).
        image: H×W×3 colours for the contrast weights (any numeric dtype).
        smoothness: boundary weight in nats per unit edge.
        hard_fg, hard_bg: optional H×W bool pixels pinned to a label.

    Returns:
        H×W bool, True = foreground.
    """
    # OpenCV's only graph cut (GrabCut) takes colour models, not arbitrary unaries, and no library
    # we depend on has a grid max-flow; scipy's Dinic max-flow on a sparse graph solves it exactly
    # (≈50 ms for 10⁵ pixels).
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order, maximum_flow

    h, w = logodds.shape
    n = h * w
    if n == 0:
        return np.zeros((h, w), bool)
    idx = np.arange(n, dtype=np.int32).reshape(h, w)
    colours = image.reshape(h, w, -1).astype(np.float32)
    pairs = (
        (idx[:, :-1], idx[:, 1:], colours[:, :-1] - colours[:, 1:], 1.0),
        (idx[:-1, :], idx[1:, :], colours[:-1, :] - colours[1:, :], 1.0),
        (idx[:-1, :-1], idx[1:, 1:], colours[:-1, :-1] - colours[1:, 1:], 1.0 / np.sqrt(2.0)),
        (idx[:-1, 1:], idx[1:, :-1], colours[:-1, 1:] - colours[1:, :-1], 1.0 / np.sqrt(2.0)),
    )
    a = np.concatenate([p[0].ravel() for p in pairs])
    b = np.concatenate([p[1].ravel() for p in pairs])
    d2 = np.concatenate([np.sum(p[2] ** 2, axis=-1).ravel() for p in pairs])
    dist = np.concatenate([np.full(p[0].size, p[3], np.float32) for p in pairs])
    beta = 1.0 / (2.0 * max(float(d2.mean()), 1e-6)) if d2.size else 0.0
    edge = np.round(smoothness * _CAPACITY_SCALE * np.exp(-beta * d2) * dist).astype(np.int64)
    lo = np.nan_to_num(np.asarray(logodds, np.float64).ravel())
    src = np.round(np.clip(lo, 0, None) * _CAPACITY_SCALE).astype(np.int64)
    snk = np.round(np.clip(-lo, 0, None) * _CAPACITY_SCALE).astype(np.int64)
    if hard_fg is not None:
        src[hard_fg.ravel()], snk[hard_fg.ravel()] = _HARD, 0
    if hard_bg is not None:
        src[hard_bg.ravel()], snk[hard_bg.ravel()] = 0, _HARD
    s, t = n, n + 1
    nodes = np.arange(n, dtype=np.int32)
    rows = np.concatenate([np.full(n, s, np.int32), nodes, a, b])
    cols = np.concatenate([nodes, np.full(n, t, np.int32), b, a])
    caps = np.concatenate([src, snk, edge, edge])
    keep = caps > 0
    graph = csr_matrix((caps[keep].astype(np.int32), (rows[keep], cols[keep])), shape=(n + 2, n + 2))
    flow = maximum_flow(graph, s, t, method="dinic").flow
    residual = (graph - flow).tocsr()
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, s, directed=True, return_predecessors=False)
    label = np.zeros(n + 2, bool)
    label[reached] = True
    return label[:n].reshape(h, w)
