"""f-AnoGAN (Schlegl et al., 2019) with dense networks: a Wasserstein GAN with gradient
penalty trained on normal data, then an encoder trained with the generator and critic
frozen (the izi_f objective). Score = image residual + kappa * critic-feature residual
(higher = more anomalous)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from anobench.detectors.deep.base import Reconstructor, ScoreFn
from anobench.detectors.deep.networks import MLP
from anobench.detectors.deep.training import (
    Init,
    Step,
    TrainResult,
    TrainState,
    gradient_step,
    masked_mean,
    train,
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

    def networks(self, n_features: int) -> tuple[MLP, MLP, MLP]:
        """(generator, critic, encoder)."""
        hidden = tuple(self.hidden)
        return (
            MLP((*reversed(hidden), n_features)),
            MLP((*hidden, 1)),
            MLP((*hidden, self.latent)),
        )

    def _gan_programs(self, n_features: int) -> tuple[Init, Step]:
        gen, critic, _ = self.networks(n_features)
        tx = optax.adam(self.learning_rate, b1=0.5, b2=0.9)
        latent, n_critic, gp_weight = self.latent, self.n_critic, self.gp_weight

        def init(key: jax.Array, X: jax.Array, weights: jax.Array, context: Any) -> TrainState:
            kg, kd = jax.random.split(key)
            params = {"g": gen.init(kg, jnp.zeros((1, latent))), "d": critic.init(kd, X[:1])}
            return TrainState(params, {"g": tx.init(params["g"]), "d": tx.init(params["d"])})

        def critic_value(dp: Any, x: jax.Array) -> jax.Array:
            return critic.apply(dp, x)[:, 0]

        def step(state: TrainState, xb: jax.Array, mask: jax.Array, key: jax.Array) -> Any:
            gp, dp = state.params["g"], state.params["d"]
            k_critic, k_gen = jax.random.split(key)

            def critic_update(carry: Any, k: jax.Array) -> tuple[Any, jax.Array]:
                dp, opt = carry
                kz, ka = jax.random.split(k)
                fake = gen.apply(gp, jax.random.normal(kz, (xb.shape[0], latent)))
                alpha = jax.random.uniform(ka, (xb.shape[0], 1))
                mixed = alpha * xb + (1.0 - alpha) * fake

                def loss(dp: Any) -> jax.Array:
                    grads = jax.vmap(jax.grad(lambda x: critic_value(dp, x[None])[0]))(mixed)
                    penalty = (jnp.sqrt(jnp.sum(grads**2, axis=1) + 1e-12) - 1.0) ** 2
                    per_row = critic_value(dp, fake) - critic_value(dp, xb) + gp_weight * penalty
                    return masked_mean(per_row, mask)

                value, grads = jax.value_and_grad(loss)(dp)
                updates, opt = tx.update(grads, opt, dp)
                return (optax.apply_updates(dp, updates), opt), value

            (dp, d_opt), values = jax.lax.scan(
                critic_update, (dp, state.opt_state["d"]), jax.random.split(k_critic, n_critic)
            )
            z = jax.random.normal(k_gen, (xb.shape[0], latent))
            g_grads = jax.grad(lambda g: -jnp.mean(critic_value(dp, gen.apply(g, z))))(gp)
            g_updates, g_opt = tx.update(g_grads, state.opt_state["g"], gp)
            params = {"g": optax.apply_updates(gp, g_updates), "d": dp}
            return TrainState(params, {"g": g_opt, "d": d_opt}), values[-1]

        return init, step

    def _residual(self, n_features: int) -> Any:
        """(encoder params, x (b, d), frozen {"g", "d"}) -> (b,) izi_f residual."""
        gen, critic, encoder = self.networks(n_features)
        kappa = self.kappa

        def residual(ep: Any, x: jax.Array, frozen: Any) -> jax.Array:
            x_hat = gen.apply(frozen["g"], encoder.apply(ep, x))
            _, f_x = critic.apply(frozen["d"], x, method=MLP.with_hidden)
            _, f_hat = critic.apply(frozen["d"], x_hat, method=MLP.with_hidden)
            return jnp.mean((x - x_hat) ** 2, axis=1) + kappa * jnp.mean((f_x - f_hat) ** 2, axis=1)

        return residual

    def _programs(self, shape: tuple[int, ...]) -> tuple[Init, Step]:
        """The encoder stage (izi_f), with the GAN passed in as ``context``."""
        _, _, encoder = self.networks(shape[0])
        residual = self._residual(shape[0])
        tx = optax.adam(self.learning_rate * 5)

        def init(key: jax.Array, X: jax.Array, weights: jax.Array, gan: Any) -> TrainState:
            params = encoder.init(key, X[:1])
            return TrainState(params, tx.init(params), frozen=gan)

        def loss(
            params: Any, xb: jax.Array, mask: jax.Array, key: jax.Array, gan: Any
        ) -> jax.Array:
            return masked_mean(residual(params, xb, gan), mask)

        return init, gradient_step(loss, tx)

    def _train(self, data: np.ndarray, keys: jax.Array) -> TrainResult:
        n_features = data.shape[1]
        init, step = self._gan_programs(n_features)
        gan = train(
            ("gan", self._program_key()),
            init,
            step,
            data,
            keys,
            epochs=self.epochs,
            batch_size=self.batch_size,
        )
        self.gan_loss_history_ = gan.losses
        init, step = self._programs((n_features,))
        encoder_keys = jax.vmap(lambda k: jax.random.fold_in(k, 2))(keys)
        enc = train(
            ("encoder", self._program_key()),
            init,
            step,
            data,
            encoder_keys,
            epochs=self.epochs if self.encoder_epochs is None else self.encoder_epochs,
            batch_size=self.batch_size,
            context=gan.state.params,
        )
        enc.compile_seconds += gan.compile_seconds
        enc.train_seconds += gan.train_seconds
        return enc

    def _score_one(self, shape: tuple[int, ...]) -> ScoreFn:
        residual = self._residual(shape[0])
        return lambda state, x, key: residual(state.params, x, state.frozen)

    def _reconstruct_one(self, shape: tuple[int, ...]) -> ScoreFn:
        gen, _, encoder = self.networks(shape[0])
        return lambda state, x, key: gen.apply(state.frozen["g"], encoder.apply(state.params, x))

    def _encode_one(self, shape: tuple[int, ...]) -> ScoreFn:
        _, _, encoder = self.networks(shape[0])
        return lambda state, x, key: encoder.apply(state.params, x)

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
