"""f-AnoGAN (Schlegl et al., 2019) with dense networks: a Wasserstein GAN with gradient
penalty trained on normal data, then an encoder trained with the generator and critic
frozen (the izi_f objective). Score = image residual + kappa * critic-feature residual
(higher = more anomalous)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from anobench.detectors.deep.base import Reconstructor
from anobench.detectors.deep.networks import MLP
from anobench.detectors.deep.training import (
    ModelFunctions,
    Optim,
    TrainResult,
    TrainState,
    masked_mean,
    new_state,
    optimiser,
    train,
)

__all__ = [
    "ENCODER_FUNCTIONS",
    "GAN_FUNCTIONS",
    "EncoderConfig",
    "FAnoGAN",
    "GANConfig",
    "encoder_init",
    "encoder_loss",
    "fanogan_encode",
    "fanogan_reconstruct",
    "gan_init",
    "gan_score",
    "gan_step",
    "izif_residual",
]


# -- stage 1: WGAN-GP -----------------------------------------------------------------
@dataclass(frozen=True)
class GANConfig:
    """Generator ``latent -> reversed(hidden) -> n_features`` and critic
    ``n_features -> hidden -> 1``, trained by WGAN-GP."""

    n_features: int
    hidden: tuple[int, ...]
    latent: int
    n_critic: int
    gp_weight: float
    optim: Optim

    def generator(self) -> MLP:
        return MLP((*reversed(self.hidden), self.n_features))

    def critic(self) -> MLP:
        return MLP((*self.hidden, 1))


def gan_init(
    cfg: GANConfig, key: jax.Array, X: jax.Array, weights: jax.Array, _: Any
) -> TrainState:
    kg, kd = jax.random.split(key)
    params = {
        "g": cfg.generator().init(kg, jnp.zeros((1, cfg.latent))),
        "d": cfg.critic().init(kd, X[:1]),
    }
    tx = optimiser(cfg.optim)
    return TrainState(params, {"g": tx.init(params["g"]), "d": tx.init(params["d"])})


def _critic_value(cfg: GANConfig, dp: Any, x: jax.Array) -> jax.Array:
    return cfg.critic().apply(dp, x)[:, 0]


def gan_step(
    cfg: GANConfig, state: TrainState, xb: jax.Array, mask: jax.Array, key: jax.Array
) -> tuple[TrainState, jax.Array]:
    """``n_critic`` critic updates (fresh noise, gradient penalty on random interpolates),
    then one generator update; the loss is the last critic loss."""
    gen, tx = cfg.generator(), optimiser(cfg.optim)
    gp, dp = state.params["g"], state.params["d"]
    k_critic, k_gen = jax.random.split(key)

    def critic_update(carry: Any, k: jax.Array) -> tuple[Any, jax.Array]:
        dp, opt = carry
        kz, ka = jax.random.split(k)
        fake = gen.apply(gp, jax.random.normal(kz, (xb.shape[0], cfg.latent)))
        alpha = jax.random.uniform(ka, (xb.shape[0], 1))
        mixed = alpha * xb + (1.0 - alpha) * fake

        def loss(dp: Any) -> jax.Array:
            grads = jax.vmap(jax.grad(lambda x: _critic_value(cfg, dp, x[None])[0]))(mixed)
            penalty = (jnp.sqrt(jnp.sum(grads**2, axis=1) + 1e-12) - 1.0) ** 2
            per_row = (
                _critic_value(cfg, dp, fake) - _critic_value(cfg, dp, xb) + cfg.gp_weight * penalty
            )
            return masked_mean(per_row, mask)

        value, grads = jax.value_and_grad(loss)(dp)
        updates, opt = tx.update(grads, opt, dp)
        return (optax.apply_updates(dp, updates), opt), value

    (dp, d_opt), values = jax.lax.scan(
        critic_update, (dp, state.opt_state["d"]), jax.random.split(k_critic, cfg.n_critic)
    )
    z = jax.random.normal(k_gen, (xb.shape[0], cfg.latent))
    g_grads = jax.grad(lambda g: -jnp.mean(_critic_value(cfg, dp, gen.apply(g, z))))(gp)
    g_updates, g_opt = tx.update(g_grads, state.opt_state["g"], gp)
    params = {"g": optax.apply_updates(gp, g_updates), "d": dp}
    return TrainState(params, {"g": g_opt, "d": d_opt}), values[-1]


def gan_score(cfg: GANConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    """(b,) negative critic value (the critic rates real-looking rows high)."""
    return -_critic_value(cfg, params["d"], x)


GAN_FUNCTIONS = ModelFunctions("fanogan-gan", gan_init, gan_score, step=gan_step)


# -- stage 2: the izi_f encoder -------------------------------------------------------
@dataclass(frozen=True)
class EncoderConfig:
    """An encoder ``n_features -> hidden -> latent`` trained against the frozen GAN."""

    gan: GANConfig
    kappa: float
    optim: Optim

    def encoder(self) -> MLP:
        return MLP((*self.gan.hidden, self.gan.latent))


def encoder_init(
    cfg: EncoderConfig, key: jax.Array, X: jax.Array, weights: jax.Array, gan: Any
) -> TrainState:
    return new_state(cfg.optim, cfg.encoder().init(key, X[:1]), frozen=gan)


def izif_residual(
    cfg: EncoderConfig, params: Any, gan: Any, x: jax.Array, key: jax.Array
) -> jax.Array:
    """(b,) ``mean((x - G(E(x)))^2) + kappa * mean((f(x) - f(G(E(x))))^2)``."""
    critic = cfg.gan.critic()
    x_hat = cfg.gan.generator().apply(gan["g"], cfg.encoder().apply(params, x))
    _, f_x = critic.apply(gan["d"], x, method=MLP.with_hidden)
    _, f_hat = critic.apply(gan["d"], x_hat, method=MLP.with_hidden)
    return jnp.mean((x - x_hat) ** 2, axis=1) + cfg.kappa * jnp.mean((f_x - f_hat) ** 2, axis=1)


def encoder_loss(
    cfg: EncoderConfig, params: Any, gan: Any, xb: jax.Array, mask: jax.Array, key: jax.Array
) -> jax.Array:
    return masked_mean(izif_residual(cfg, params, gan, xb, key), mask)


def fanogan_reconstruct(
    cfg: EncoderConfig, params: Any, gan: Any, x: jax.Array, key: jax.Array
) -> jax.Array:
    return cfg.gan.generator().apply(gan["g"], cfg.encoder().apply(params, x))


def fanogan_encode(
    cfg: EncoderConfig, params: Any, gan: Any, x: jax.Array, key: jax.Array
) -> jax.Array:
    return cfg.encoder().apply(params, x)


ENCODER_FUNCTIONS = ModelFunctions(
    "fanogan-encoder",
    encoder_init,
    izif_residual,
    loss=encoder_loss,
    reconstruct=fanogan_reconstruct,
    encode=fanogan_encode,
)


class FAnoGAN(Reconstructor):
    """f-AnoGAN, GAN with encoder (JAX); score = residual + kappa * feature residual.

    Stage 1, WGAN-GP: per step, ``n_critic`` critic updates (fresh latent noise each, the
    gradient penalty on random interpolates) then one generator update; Adam(lr, 0.5,
    0.9). Stage 2, izi_f: an encoder E is trained with G and the critic D frozen to
    minimise ``mean((x - G(E(x)))^2) + kappa * mean((f(x) - f(G(E(x))))^2)``, f being the
    critic's last hidden layer. The anomaly score is that same quantity per sample.
    ``loss_history_`` holds the encoder stage's losses, ``gan_loss_history_`` the
    critic's (negative Wasserstein estimate plus penalty). :meth:`reconstruct` gives
    ``G(E(x))`` and :meth:`encode` ``E(x)``.

    Parameters
    ----------
    hidden : hidden widths of the critic and encoder (the generator mirrors them).
    latent : latent dimension (standard normal prior).
    epochs : GAN epochs. encoder_epochs : encoder epochs (None = ``epochs``).
    n_critic, gp_weight : WGAN-GP settings. kappa : weight of the feature residual.
    Others as in :class:`~anobench.detectors.deep.autoencoders.AE`.
    """

    name = "fanogan"

    def __init__(
        self,
        hidden: tuple[int, ...] = (128, 64),
        latent: int = 16,
        epochs: int = 100,
        encoder_epochs: int | None = None,
        batch_size: int = 128,
        learning_rate: float = 2e-4,
        n_critic: int = 5,
        gp_weight: float = 10.0,
        kappa: float = 1.0,
        n_seeds: int = 1,
        standardize: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.latent = latent
        self.epochs = epochs
        self.encoder_epochs = encoder_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.kappa = kappa
        self.n_seeds = n_seeds
        self.standardize = standardize
        self.random_state = random_state

    functions = ENCODER_FUNCTIONS

    def gan_config(self) -> GANConfig:
        """The stage-1 GAN's config (Adam(lr, 0.5, 0.9))."""
        return GANConfig(
            self.n_features_in_,
            tuple(self.hidden),
            self.latent,
            self.n_critic,
            float(self.gp_weight),
            Optim(self.learning_rate, b1=0.5, b2=0.9),
        )

    def config(self) -> EncoderConfig:
        return EncoderConfig(self.gan_config(), float(self.kappa), Optim(self.learning_rate * 5))

    def _train(self, data: np.ndarray, keys: jax.Array) -> TrainResult:
        gan = train(
            GAN_FUNCTIONS,
            self.gan_config(),
            data,
            keys,
            epochs=self.epochs,
            batch_size=self.batch_size,
        )
        self.gan_loss_history_ = gan.losses
        encoder_keys = jax.vmap(lambda k: jax.random.fold_in(k, 2))(keys)
        enc = train(
            self.functions,
            self.config(),
            data,
            encoder_keys,
            epochs=self.epochs if self.encoder_epochs is None else self.encoder_epochs,
            batch_size=self.batch_size,
            context=gan.state.params,
        )
        enc.compile_seconds += gan.compile_seconds
        enc.train_seconds += gan.train_seconds
        return enc

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {
            "hidden": (32, 16),
            "latent": 4,
            "epochs": 40,
            "n_critic": 2,
            "batch_size": 64,
            "learning_rate": 1e-3,
        }
