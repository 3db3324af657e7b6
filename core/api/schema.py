"""OpenAPI (drf-spectacular) descriptions of Keel's own API plumbing; loaded by CoreConfig.ready()."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token keel_<prefix>_<secret>` (core.authentication.ApiTokenAuthentication)."""

    target_class = "core.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=self.target.keyword)
