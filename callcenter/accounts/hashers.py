"""A cheap hasher for the one-time 6-digit passwords (new agents, password resets).

Such a password must be changed at the next login, where Django re-hashes it with the
default Argon2 parameters. A 6-digit space falls to an offline search whatever the hash
cost, so spending ~100 ms of Argon2 per temporary code buys nothing and would make adding
1,000 agents take minutes. Online guessing is throttled by django-axes.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class TemporaryArgon2PasswordHasher(Argon2PasswordHasher):
    algorithm = "argon2tmp"
    time_cost = 1
    memory_cost = 1024
    parallelism = 1
