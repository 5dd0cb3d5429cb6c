"""Figures of image models' outputs: stored test images next to their reconstructions,
and latent codes. Like :mod:`anobench.report.plots.charts` (which re-exports them), each function
takes
data and returns a matplotlib ``Figure`` drawn without pyplot."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

__all__ = ["latent_view", "reconstruction_grid"]

#: label colours, as in :mod:`anobench.report.plots.charts`
_NORMAL, _ANOMALY = "#74c476", "#de2d26"


def _mosaic(rows: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Images (k, h, w, c) of each row side by side, rows stacked, with ``gap`` pixels of
    white between them: (rows * (h + gap), k * (w + gap), c)."""
    k, h, w, c = rows[0].shape
    out = np.ones((len(rows) * (h + gap), k * (w + gap), c), dtype=np.float32)
    for r, images in enumerate(rows):
        for i in range(k):
            out[r * (h + gap) : r * (h + gap) + h, i * (w + gap) : i * (w + gap) + w] = images[i]
    return out


def reconstruction_grid(
    images: np.ndarray,
    reconstructions: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    title: str = "",
) -> Figure:
    """Input (top row) vs reconstruction (bottom row) for each stored test image, each
    column headed by its label (A = anomaly, red; N = normal) and score.
    ``images``, ``reconstructions``: (k, h, w, c). Drawn as one image (one axes), which
    is many times faster than an axes per picture."""
    images = np.asarray(images, dtype=np.float32)
    recon = np.asarray(reconstructions, dtype=np.float32).reshape(images.shape)
    k, h, w, c = images.shape
    gap = max(1, h // 14)
    low = float(min(images.min(), recon.min()))
    high = float(max(images.max(), recon.max()))
    scale = (high - low) or 1.0
    mosaic = _mosaic([(images - low) / scale, (recon - low) / scale], gap)
    fig = Figure(figsize=(max(3.0, 0.75 * k), 2.4))
    ax = fig.subplots()
    ax.imshow(mosaic[..., 0] if c == 1 else np.clip(mosaic, 0, 1), cmap="gray", vmin=0, vmax=1)
    for i in range(k):
        anomaly = labels[i] == 1
        ax.text(
            i * (w + gap) + w / 2,
            -gap,
            f"{'A' if anomaly else 'N'} {scores[i]:.3g}",
            ha="center",
            va="bottom",
            fontsize=6,
            color=_ANOMALY if anomaly else "black",
        )
    ax.set_xticks([])
    ax.set_yticks([h / 2, h + gap + h / 2], ["input", "recon."], fontsize=8)
    ax.set_title(
        title or "Most (left) and least anomalous test images (A = anomaly, N = normal)",
        fontsize=9,
        pad=12,
    )
    fig.tight_layout()
    return fig


def latent_view(codes: np.ndarray, labels: np.ndarray, *, title: str = "") -> Figure:
    """2-D view of latent codes (PCA when they have more than 2 dimensions), coloured by
    label (1 = anomaly)."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] > 2:
        centred = codes - codes.mean(axis=0)
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        view, axes_names = centred @ components[:2].T, ("PC 1", "PC 2")
    else:
        view, axes_names = np.c_[codes, np.zeros((len(codes), 2 - codes.shape[1]))], ("z1", "z2")
    fig = Figure(figsize=(5, 4.5))
    ax = fig.subplots()
    anomaly = np.asarray(labels) == 1
    for name, color, rows in (("normal", _NORMAL, ~anomaly), ("anomaly", _ANOMALY, anomaly)):
        ax.scatter(view[rows, 0], view[rows, 1], s=8, alpha=0.6, lw=0, color=color, label=name)
    ax.legend(loc="upper right", fontsize=8, markerscale=2)
    ax.set(xlabel=axes_names[0], ylabel=axes_names[1], title=title or "Latent codes")
    fig.tight_layout()
    return fig
