"""Verify a deployment-gate token offline: its Ed25519 signature, and whether it has expired.

    manage.py verify_gate_token <token>                      # with this Keel's own key
    manage.py verify_gate_token <token> --public-key key.pem # with a key fetched from /api/v1/gate/public-key
    manage.py verify_gate_token -                            # read the token from stdin

Exit status 0 when the signature is valid (an expired token is still authentic evidence; add
--require-fresh to fail on expiry), 1 when it is not.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.signoff import tokens


class Command(BaseCommand):
    help = "Verify a deployment-gate token's signature and print what it says."

    def add_arguments(self, parser):
        parser.add_argument("token", help="The token, or - to read it from stdin.")
        parser.add_argument("--public-key", help="A PEM file (or base64url raw key) to verify with.")
        parser.add_argument("--require-fresh", action="store_true", help="Also fail when the token has expired.")

    def handle(self, *args, token: str, public_key: str | None, require_fresh: bool, **options):
        if token == "-":  # noqa: S105 — "-" means stdin
            token = sys.stdin.read()
        try:
            key = None
            if public_key:
                path = Path(public_key)
                key = tokens.load_public_key(path.read_text() if path.exists() else public_key)
            verified = tokens.verify(token, key)
        except (tokens.TokenError, tokens.SigningKeyMissing, ValueError) as exc:
            raise CommandError(f"INVALID: {exc}") from exc
        payload = verified.payload
        expired = isinstance(payload.get("exp"), int) and payload["exp"] < time.time()
        self.stdout.write(json.dumps(payload, indent=2, sort_keys=True))
        verdict = "ALLOWED" if payload.get("allowed") else "DENIED"
        state = "expired" if expired else "fresh"
        self.stdout.write(f"VALID signature (key {verified.header.get('kid')}); decision {verdict}; token {state}.")
        if expired and require_fresh:
            raise CommandError("The token has expired (--require-fresh).")
