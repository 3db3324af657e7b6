"""SageMaker Model Registry through boto3: model package groups → versioned model packages.

The deployment signal is each package's ModelApprovalStatus (PendingManualApproval, Approved,
Rejected). The endpoint URL is configurable, so the same code reads AWS or a moto server.
"""

from __future__ import annotations

import datetime as dt

from .base import PermanentRegistryError, RemoteModel, RemoteVersion, Snapshot, TransientRegistryError

PERMANENT_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "ValidationException",
    "ResourceNotFound",
}


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
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            message = exc.response.get("Error", {}).get("Message", str(exc))
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
                    created_by = detail.get("CreatedBy") or {}
                    versions[(name, version)] = RemoteVersion(
                        model_name=name,
                        version=version,
                        source=containers[0].get("ModelDataUrl", "") or containers[0].get("Image", ""),
                        status=detail.get("ModelPackageStatus", ""),
                        description=detail.get("ModelPackageDescription", ""),
                        created_by=created_by.get("UserProfileName", ""),
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
