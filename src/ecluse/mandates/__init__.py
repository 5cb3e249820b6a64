"""Mandates: what the controller signs. Agreements (GDPR Art. 28) between a controller and
its processor, and instructions (Art. 29): what a processor may extract, for whom and until
when, turned into the policy engine's rules. On a Session; the services record and audit
each act (`ecluse.services.governance`).
"""
