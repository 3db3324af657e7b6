"""Model-registry adapters, one small module per kind behind one interface (base.RegistryAdapter).
They know HTTP/boto3 and nothing of the ORM."""
