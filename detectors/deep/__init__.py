"""Deep detectors in JAX/Flax/optax: ``ae``, ``vae``, ``cae``, ``fanogan``, ``deepsvdd``.

Architectures are plain Flax modules (:mod:`.networks`); every model trains through one
shared routine (:mod:`.training`) that compiles the whole training into one XLA program
and trains ``n_seeds`` independent models in it with ``jax.vmap``.
"""
