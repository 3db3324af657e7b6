"""Sign-off before deployment: fingerprints, the request/decision workflow, invalidation, the gate.

- fingerprint.py: what an approval covers, and what has changed since.
- policies.py: the default policies — which roles must approve each tier (read this first).
- permissions.py: the role sets (who requests, who reviews).
- eligibility.py: the one rule for who may decide a request, in which role, and why not.
- services.py: the writes (publish a policy, request, withdraw, decide).
- invalidation.py: closing, invalidating and expiring requests when the evidence moves or time passes.
- deployments.py: which versions serve production, and their "deployed without approval" findings.
- writeback.py: the keel.signoff tag written back to registries that opted in.
- gate.py: the answer to "may this version go to this environment?", with a signed token.
- tokens.py: Ed25519 signing and offline verification of gate tokens.
- notifications.py: email to reviewers, requesters and approvers.
- receivers.py: reactions to the registry sync's domain events.
"""
