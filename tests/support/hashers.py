"""The password hasher of the tests: Django's PBKDF2 with a thousand iterations instead of a
million. Its hashes name the same algorithm and carry their iteration count, so any server of
the product (a live server the tests start, say) checks them as it checks its own; sign-in is
tested as it works, without a quarter of a second of hashing for every account a test makes."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000
