"""Model registries: the adapters that talk to them (adapters/), the sync that copies them into Keel
(sync.py), and the services, selectors and filters of registry connections, models and deployments."""
