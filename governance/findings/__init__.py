"""Findings: problems someone must act on, opened and resolved by rules, assigned and resolved by people."""
