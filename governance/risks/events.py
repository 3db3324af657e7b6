"""Domain events the risk register sends; other sub-domains subscribe in their receivers.

Sign-off depends on the register (its evidence pack reads risks and tier answers), so the register
must not depend on sign-off: it says what changed, and governance/signoff/receivers.py re-checks the
project's sign-offs. Receivers run inside the sending transaction, so an invalidation commits or
rolls back with the change that caused it.
"""

from django.dispatch import Signal

# A project's risks or tier assessment changed in a way its sign-offs may have been given against
# (a new or raised high risk, a reopened risk, changed tier answers). kwargs: project (AIProject)
project_risks_changed = Signal()
