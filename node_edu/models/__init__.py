"""The models the lessons train, each a short module built on the core (solvers, adjoint).

* ``classifier``: lesson 00's neural ODE that carries two classes apart, and its training;
* ``training``: lesson 06's vector field for the spiral, its training step and trainer;
* ``augmented``: lesson 08's ODE maps with extra dimensions (augmented neural ODEs);
* ``regularisation``: lesson 08's kinetic-energy and Jacobian regularisers, and a fit loop;
* ``latent``: lesson 09's latent ODE (encoder, ODE decoder, ELBO) and its RNN baseline.
"""
