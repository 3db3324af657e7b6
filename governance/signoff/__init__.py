"""Sign-off before deployment: fingerprints, the request/decision workflow, invalidation, the gate.

- fingerprint.py: what an approval covers, and what has changed since.
- services.py: the writes (request, decide, withdraw, invalidate, expire, policy publish).
- gate.py: the answer to "may this version go to this environment?", with a signed token.
- tokens.py: Ed25519 signing and offline verification of gate tokens.
- notifications.py: email to reviewers, requesters and approvers.
- receivers.py: reactions to the registry sync's domain events.
"""
