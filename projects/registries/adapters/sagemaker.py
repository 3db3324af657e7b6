"""SageMaker Model Registry through boto3: model package groups → versioned model packages.

The deployment signal is each package's ModelApprovalStatus (PendingManualApproval, Approved,
Rejected). The endpoint URL is configurable, so the same code reads AWS or a moto server.
"""

from __future__ import annotations

import datetime as dt
import re

from .base import (
    AUTHOR_REGISTRY,
    PermanentRegistryError,
    RemoteModel,
    RemoteVersion,
    Snapshot,
    TransientRegistryError,
)

PERMANENT_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "ValidationException",
    "ResourceNotFound",
}
# The caller's key, secret or token is wrong or not allowed: a configuration error, shown as such.
CREDENTIAL_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
}
# AWS throttles with HTTP 400 and one of these codes; like a 429, it is worth retrying later.
THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
}


def _client_error(exc) -> tuple[str, str, int | None]:
    """(code, message, HTTP status) of a ClientError.

    Some endpoints (moto among them) answer this JSON-protocol API with an XML error document, which
    botocore leaves unparsed: the code is then the HTTP status and the message the whole document.
    """
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", "") or exc)
    if message.lstrip().startswith("<"):
        found = {tag: re.search(rf"<{tag}>(.*?)</{tag}>", message, re.S) for tag in ("Code", "Message")}
        code = found["Code"].group(1) if found["Code"] else code
        message = found["Message"].group(1) if found["Message"] else message
    return code, message[:300], exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _utc(value) -> dt.datetime | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


class SageMakerAdapter:
    def __init__(
        self,
        *,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        connect_timeout: float = 3.05,
        read_timeout: float = 30.0,
    ):
        import boto3
        from botocore.config import Config

        self.client = boto3.client(
            "sagemaker",
            endpoint_url=endpoint_url or None,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            # Retries belong to the Celery task (bounded, with backoff and jitter), not to botocore.
            config=Config(
                retries={"total_max_attempts": 1},
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            ),
        )
        self.requests_made = 0

    def _call(self, method: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        self.requests_made += 1
        try:
            return getattr(self.client, method)(**kwargs)
        except ClientError as exc:
            code, message, status = _client_error(exc)
            if code in THROTTLING_CODES or status == 429:
                raise TransientRegistryError(f"SageMaker throttled {method}: {code} {message}", status=status) from exc
            if code in CREDENTIAL_CODES or status in (401, 403):
                raise PermanentRegistryError(
                    f"SageMaker refused Keel's credentials ({status} {code}) for {method}: check the registry's"
                    f" credential variables. {message}",
                    status=status,
                ) from exc
            if code in PERMANENT_CODES or status in (400, 401, 403, 404):
                raise PermanentRegistryError(f"SageMaker refused {method}: {code} {message}", status=status) from exc
            raise TransientRegistryError(f"SageMaker {method} failed: {code} {message}", status=status) from exc
        except EndpointConnectionError as exc:
            raise TransientRegistryError(f"Cannot connect to SageMaker: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientRegistryError(f"SageMaker {method} failed: {exc}") from exc

    def _paged(self, method: str, key: str, **kwargs):
        token = None
        while True:
            page = self._call(method, **kwargs, **({"NextToken": token} if token else {}))
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return

    def fetch_snapshot(self) -> Snapshot:
        self.requests_made = 0
        models: dict[str, RemoteModel] = {}
        versions: dict[tuple[str, str], RemoteVersion] = {}
        try:
            for group in self._paged("list_model_package_groups", "ModelPackageGroupSummaryList", MaxResults=100):
                name = group["ModelPackageGroupName"]
                tags = {
                    t["Key"]: t["Value"]
                    for t in self._call("list_tags", ResourceArn=group["ModelPackageGroupArn"]).get("Tags", [])
                }
                models[name] = RemoteModel(
                    name=name,
                    description=group.get("ModelPackageGroupDescription", ""),
                    created_at=_utc(group.get("CreationTime")),
                    tags=tags,
                )
                for summary in self._paged(
                    "list_model_packages", "ModelPackageSummaryList", ModelPackageGroupName=name, MaxResults=100
                ):
                    version = str(summary["ModelPackageVersion"])
                    detail = self._call("describe_model_package", ModelPackageName=summary["ModelPackageArn"])
                    containers = (detail.get("InferenceSpecification") or {}).get("Containers") or [{}]
                    author = created_by_name(detail.get("CreatedBy"))
                    versions[(name, version)] = RemoteVersion(
                        model_name=name,
                        version=version,
                        source=containers[0].get("ModelDataUrl", "") or containers[0].get("Image", ""),
                        status=detail.get("ModelPackageStatus", ""),
                        description=detail.get("ModelPackageDescription", ""),
                        created_by=author,
                        author_source=AUTHOR_REGISTRY if author else "",
                        metrics=model_metrics(detail.get("ModelMetrics")),
                        created_at=_utc(detail.get("CreationTime")),
                        updated_at=_utc(detail.get("LastModifiedTime") or detail.get("CreationTime")),
                        tags=dict(detail.get("CustomerMetadataProperties") or {}),
                        approval=detail.get("ModelApprovalStatus", ""),
                        raw={
                            "arn": detail.get("ModelPackageArn"),
                            "approval_description": detail.get("ApprovalDescription", ""),
                            "metadata": detail.get("MetadataProperties") or {},
                        },
                    )
        except (KeyError, TypeError) as exc:
            raise TransientRegistryError(f"SageMaker sent a malformed record (missing {exc})") from exc
        return Snapshot(models=models, versions=versions, requests=self.requests_made)


def created_by_name(created_by) -> str:
    """Who created the package: the Studio user profile, else the IAM identity's ARN; "" when unknown."""
    created_by = created_by if isinstance(created_by, dict) else {}
    iam = created_by.get("IamIdentity") if isinstance(created_by.get("IamIdentity"), dict) else {}
    return str(created_by.get("UserProfileName") or iam.get("Arn") or iam.get("PrincipalId") or "")


def model_metrics(metrics) -> dict[str, dict]:
    """SageMaker's ModelMetrics, flattened: it holds reports (statistics, constraints, explainability),
    each a pointer to a document in S3, not values; Keel keeps where each report is, keyed by its path
    (e.g. "ModelQuality.Statistics"), so a reviewer can open it."""
    found: dict[str, dict] = {}

    def walk(prefix: str, node) -> None:
        if not isinstance(node, dict):
            return
        if "S3Uri" in node:
            found[prefix] = {"value": str(node["S3Uri"]), "content_type": str(node.get("ContentType", ""))}
            return
        for key, child in node.items():
            walk(f"{prefix}.{key}" if prefix else str(key), child)

    walk("", metrics or {})
    return found
