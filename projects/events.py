"""Domain events that projects sends and governance (or anyone) may subscribe to.

projects never imports governance: when governance must react to a fact (a version was synced,
a deployment was observed), projects sends one of these from its service code, and governance
connects its receivers in its AppConfig.ready(). Receivers run inside the sending transaction.
"""

from django.dispatch import Signal

# A registry sync created or changed a model version. kwargs: version (projects.ModelVersion)
model_version_synced = Signal()

# The same, for many at once (a receiver that queries does so once per batch, not per version): a sync
# sends it for each page's new versions as it stores them, and once for the versions that changed.
# kwargs: versions (list of projects.ModelVersion)
model_versions_synced = Signal()

# A registry sync saw a version take an alias, stage or approval status.
# kwargs: observation (projects.DeploymentObservation)
deployment_observed = Signal()

# The same, once per sync for all of them (a receiver that queries does so a fixed number of times).
# kwargs: observations (list of projects.DeploymentObservation)
deployments_observed = Signal()

# A registry sync finished and committed its snapshot (sent inside its transaction, after the others).
# kwargs: registry (projects.Registry)
registry_synced = Signal()

# A registered model was linked to a project by hand, or unlinked (sent inside the link's transaction).
# kwargs: model (projects.RegisteredModel)
registered_model_linked = Signal()

# A registry sync stored new metric values for versions (projects/registries/metrics.py), in a transaction
# of its own after the snapshot's. kwargs: versions (list of projects.ModelVersion)
model_version_metrics_changed = Signal()
