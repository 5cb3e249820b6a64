"""Packages: everything between a signed instruction and deletion after the passage.

Owns reading source exports into the quarantine, extraction runs (policy engine, canary rows,
row digests), packages encrypted to the recipient in the age format with the platform's
signed manifest, the recipients' public keys, delivery, receipts and shredding.
"""
