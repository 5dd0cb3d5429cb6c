"""Architecture-only Flax modules for the deep detectors (no losses, no training).

Shapes: dense modules take ``(batch, features)``; convolutional ones take
``(batch, height, width, channels)``. Activations are LeakyReLU(0.2) unless stated.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "OUTPUTS",
    "SLOPE",
    "VAE",
    "Conv",
    "ConvAE",
    "DenseAE",
    "GaussianEncoder",
    "StackedLSTM",
    "conv2d",
    "convolve",
    "default_widths",
    "leaky",
    "patches",
]

#: LeakyReLU slope used throughout
SLOPE = 0.2


def leaky(x: jax.Array) -> jax.Array:
    return nn.leaky_relu(x, SLOPE)


#: hidden activations by name (dense models)
ACTIVATIONS = {"leaky_relu": leaky, "relu": nn.relu, "tanh": jnp.tanh}
#: output activations by name: ``sigmoid`` for inputs scaled to [0, 1]
OUTPUTS = {"linear": lambda x: x, "sigmoid": nn.sigmoid}


def default_widths(n_features: int) -> tuple[int, ...]:
    """Encoder widths that scale with the input: the 256-128-64-16-4 ladder, keeping the
    widths below ``n_features`` (at least one layer of 4).

    >>> default_widths(784), default_widths(30), default_widths(6)
    ((256, 128, 64, 16, 4), (16, 4), (4,))
    """
    widths = tuple(w for w in (256, 128, 64, 16, 4) if w < n_features)
    return widths or (4,)


class MLP(nn.Module):
    """Dense layers ``widths`` with ``activation`` (:data:`ACTIVATIONS`, LeakyReLU(0.2) by
    default) between them; the last layer is linear.

    ``(batch, d) -> (batch, widths[-1])``. ``use_bias=False`` gives a bias-free network
    (Deep SVDD). ``dropout`` > 0 follows every hidden activation with dropout of that
    rate, active only when called with ``deterministic=False`` and a ``"dropout"`` RNG.
    :meth:`with_hidden` also returns the last hidden activations.
    """

    widths: Sequence[int]
    use_bias: bool = True
    activation: str = "leaky_relu"
    dropout: float = 0.0

    def setup(self) -> None:
        self.layers = [nn.Dense(w, use_bias=self.use_bias) for w in self.widths]
        if self.dropout > 0:
            self.drop = nn.Dropout(self.dropout)

    def with_hidden(self, x: jax.Array, deterministic: bool = True) -> tuple[jax.Array, jax.Array]:
        """``(output (batch, widths[-1]), last hidden activations)``; the hidden part is
        the input itself for a single layer."""
        act = ACTIVATIONS[self.activation]
        hidden = x
        for layer in self.layers[:-1]:
            hidden = act(layer(hidden))
            if self.dropout > 0:
                hidden = self.drop(hidden, deterministic=deterministic)
        return self.layers[-1](hidden), hidden

    def __call__(self, x: jax.Array, deterministic: bool = True) -> jax.Array:
        return self.with_hidden(x, deterministic)[0]


class DenseAE(nn.Module):
    """Dense autoencoder: ``d -> widths -> mirror -> d``.

    ``(batch, d) -> (batch, d)`` reconstruction. Every hidden layer, the code included,
    is followed by ``activation`` (:data:`ACTIVATIONS`); with ``dropout`` > 0 every hidden
    layer but the code is also followed by dropout (see :class:`MLP`); the output layer
    by ``output`` (:data:`OUTPUTS`). ``encoder`` gives the code before its activation.
    """

    n_features: int
    widths: Sequence[int]
    activation: str = "leaky_relu"
    dropout: float = 0.0
    output: str = "linear"

    def setup(self) -> None:
        widths = tuple(self.widths)
        self.encoder = MLP(widths, activation=self.activation, dropout=self.dropout)
        self.decoder = MLP(
            (*reversed(widths[:-1]), self.n_features),
            activation=self.activation,
            dropout=self.dropout,
        )

    def __call__(self, x: jax.Array, deterministic: bool = True) -> jax.Array:
        code = ACTIVATIONS[self.activation](self.encoder(x, deterministic))
        return OUTPUTS[self.output](self.decoder(code, deterministic))


class GaussianEncoder(nn.Module):
    """``(batch, d) -> (mean, log-variance)``, each ``(batch, latent)``; the log-variance
    is clipped to [-10, 10] so exp() never overflows."""

    widths: Sequence[int]
    latent: int

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        hidden = x
        for width in self.widths:
            hidden = leaky(nn.Dense(width)(hidden))
        mean = nn.Dense(self.latent)(hidden)
        log_var = jnp.clip(nn.Dense(self.latent)(hidden), -10.0, 10.0)
        return mean, log_var


class VAE(nn.Module):
    """Gaussian VAE: encoder ``d -> widths -> (mean, log-var) of latent``, decoder
    ``latent -> reversed widths -> d`` (the mean of a unit-variance Gaussian)."""

    n_features: int
    widths: Sequence[int]
    latent: int

    def setup(self) -> None:
        self.encoder = GaussianEncoder(tuple(self.widths), self.latent)
        self.decoder = MLP((*reversed(tuple(self.widths)), self.n_features))

    def encode(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return self.encoder(x)

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z)

    def __call__(self, x: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        mean, log_var = self.encode(x)
        z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)
        return self.decode(z), mean, log_var


_DIMS = ("NHWC", "HWIO", "NHWC")


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def patches(x: jax.Array, kernel: int, stride: int) -> jax.Array:
    """The ``kernel x kernel`` SAME-padded neighbourhoods of ``x`` (b, h, w, c) at
    ``stride``: (b, ceil(h / stride), ceil(w / stride), kernel * kernel * c), ordered like a
    flattened HWIO kernel."""
    _, h, w, _ = x.shape
    (t, bo), (le, ri) = _same_pads(h, kernel, stride), _same_pads(w, kernel, stride)
    x = jnp.pad(x, ((0, 0), (t, bo), (le, ri), (0, 0)))
    out_h, out_w = -(-h // stride), -(-w // stride)
    return jnp.concatenate(
        [
            x[
                :,
                i : i + stride * (out_h - 1) + 1 : stride,
                j : j + stride * (out_w - 1) + 1 : stride,
            ]
            for i in range(kernel)
            for j in range(kernel)
        ],
        axis=-1,
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv2d(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    """SAME convolution, NHWC x HWIO, with the kernel gradient computed as one matmul
    over :func:`patches`. XLA:CPU computes the native kernel gradient about 30x slower
    inside a while loop (the compiled training loop) than outside it; the input gradient and
    the forward pass are native."""
    return _native_conv(x, kernel, stride)


def _native_conv(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    return jax.lax.conv_general_dilated(
        x, kernel, (stride, stride), "SAME", dimension_numbers=_DIMS
    )


def _conv2d_fwd(
    x: jax.Array, kernel: jax.Array, stride: int
) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    return conv2d(x, kernel, stride), (x, kernel)


def _conv2d_bwd(
    stride: int, residuals: tuple[jax.Array, jax.Array], g: jax.Array
) -> tuple[jax.Array, jax.Array]:
    x, kernel = residuals
    _, input_vjp = jax.vjp(lambda x: _native_conv(x, kernel, stride), x)
    kh, kw, c, f = kernel.shape
    cols = patches(x, kh, stride).reshape(-1, kh * kw * c)
    d_kernel = (cols.T @ g.reshape(-1, f)).reshape(kh, kw, c, f)
    return input_vjp(g)[0], d_kernel


conv2d.defvjp(_conv2d_fwd, _conv2d_bwd)


def convolve(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    """SAME convolution, NHWC x HWIO: :func:`conv2d` (the im2col kernel gradient) on CPU,
    where it is the fast one, and XLA's native convolution and gradient elsewhere (GPU and
    TPU have tuned convolution kernels)."""
    if jax.default_backend() == "cpu":
        return conv2d(x, kernel, stride)
    return _native_conv(x, kernel, stride)


class Conv(nn.Module):
    """``kernel x kernel`` convolution with ``stride`` and SAME padding (:func:`convolve`);
    with ``transpose``, its upsampling counterpart in the sub-pixel form (Shi et al.,
    2016): a stride-1 convolution to ``features * stride**2`` channels, then
    depth-to-space.

    ``(b, h, w, c) -> (b, ceil(h / stride), ceil(w / stride), features)``, or
    ``(b, h * stride, w * stride, features)`` with ``transpose``.
    """

    features: int
    kernel: int = 3
    stride: int = 1
    transpose: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        r = self.stride
        out = self.features * r * r if self.transpose else self.features
        k = self.param(
            "kernel", nn.initializers.lecun_normal(), (self.kernel, self.kernel, x.shape[-1], out)
        )
        bias = self.param("bias", nn.initializers.zeros, (out,))
        y = convolve(x, k, 1 if self.transpose else r) + bias
        if not self.transpose:
            return y
        b, h, w, _ = x.shape
        y = y.reshape(b, h, w, r, r, self.features).transpose(0, 1, 3, 2, 4, 5)
        return y.reshape(b, h * r, w * r, self.features)


class ConvAE(nn.Module):
    """Convolutional autoencoder for images whose height and width are multiples of 4.

    Encoder: Conv(32, 3x3, stride 2) -> Conv(64, 3x3, stride 2) -> Dense(code);
    decoder: Dense -> (h/4, w/4, 64) -> ConvTranspose(32, stride 2) ->
    ConvTranspose(channels, stride 2), linear output (convolutions as :class:`Conv`).
    ``(b, h, w, c) -> (b, h, w, c)``;
    :meth:`encode` gives the ``(b, code)`` latent codes.
    """

    shape: tuple[int, int, int]
    code: int = 16
    filters: tuple[int, int] = (32, 64)

    def setup(self) -> None:
        f1, f2 = self.filters
        h, w, c = self.shape
        self.conv1 = Conv(f1, 3, 2)
        self.conv2 = Conv(f2, 3, 2)
        self.to_code = nn.Dense(self.code)
        self.from_code = nn.Dense((h // 4) * (w // 4) * f2)
        self.deconv1 = Conv(f1, 3, 2, transpose=True)
        self.deconv2 = Conv(c, 3, 2, transpose=True)

    def encode(self, x: jax.Array) -> jax.Array:
        hidden = leaky(self.conv2(leaky(self.conv1(x))))
        return self.to_code(hidden.reshape(hidden.shape[0], -1))

    def decode(self, z: jax.Array) -> jax.Array:
        h, w, _ = self.shape
        hidden = leaky(self.from_code(z)).reshape(z.shape[0], h // 4, w // 4, self.filters[1])
        return self.deconv2(leaky(self.deconv1(hidden)))

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.decode(self.encode(x))


class StackedLSTM(nn.Module):
    """Forecaster: stacked LSTM layers of ``units`` over the time axis, then a dense layer
    from the last step's hidden state to ``n_outputs`` values.

    ``(batch, steps, channels) -> (batch, n_outputs)``. Each layer's recurrence is a
    ``lax.scan`` over the steps (:class:`flax.linen.RNN`); gates are the fused
    :class:`flax.linen.OptimizedLSTMCell` (one matmul per step).
    """

    units: Sequence[int]
    n_outputs: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        hidden: Any = x
        for width in self.units:
            hidden = nn.RNN(nn.OptimizedLSTMCell(width))(hidden)
        return nn.Dense(self.n_outputs)(hidden[:, -1])
