"""Plain data the whole program passes around: what the user chose and what AWS showed.

The AWS layer builds these from live state; the core decides from them; faces show them.
No boto3 types ever appear here.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.core.arn import partition_for_region
from wizard.core.presets import DEFAULT_PREFIX
from wizard.core.strenum import StrEnum

SSE_S3 = "AES256"
SSE_KMS = "aws:kms"
DSSE_KMS = "aws:kms:dsse"

KEY_MANAGER_CUSTOMER = "CUSTOMER"
KEY_MANAGER_AWS = "AWS"
KEY_STATE_ENABLED = "Enabled"
KEY_SPEC_SYMMETRIC = "SYMMETRIC_DEFAULT"
KEY_USAGE_ENCRYPT = "ENCRYPT_DECRYPT"
AWS_MANAGED_S3_ALIAS = "alias/aws/s3"

# The marks on what the wizard creates: a tag says who created a key (a later
# ``--create-key`` may reuse it), another which apply did (found again after a crash).
CREATED_BY_TAG = "created-by"
CREATED_BY_VALUE = "cwl-export-wizard"
JOURNAL_TAG = "cwl-export-wizard:journal"

OWNER_ENFORCED = "BucketOwnerEnforced"  # S3 Object Ownership with ACLs disabled


class ExportTaskStatus(StrEnum):
    """An export task's status code, as CloudWatch Logs gives it (DescribeExportTasks)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    PENDING_CANCEL = "PENDING_CANCEL"  # cancelled, not stopped yet: it still blocks a new one
    UNKNOWN = "UNKNOWN"  # the wizard's word: AWS gave no status, or one not listed here

    @classmethod
    def of(cls, code: str | None) -> ExportTaskStatus:
        """The status for AWS's ``status.code``; UNKNOWN for none or one not listed here."""
        try:
            return cls(code)
        except ValueError:
            return cls.UNKNOWN


ACTIVE_TASK_STATUSES = (ExportTaskStatus.PENDING, ExportTaskStatus.RUNNING)
FINAL_TASK_STATUSES = (
    ExportTaskStatus.COMPLETED,
    ExportTaskStatus.CANCELLED,
    ExportTaskStatus.FAILED,
)


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str
    partition: str = "aws"


@dataclass(frozen=True)
class Choices:
    """What the user picked. ``key``/``create_key_alias`` both None: keep the bucket's key."""

    region: str
    bucket: str
    create_bucket: bool = False
    key: str | None = None  # an existing key: key id, key ARN, alias name or alias ARN
    create_key_alias: str | None = None  # "alias/NAME" of a key the wizard creates
    prefix: str = DEFAULT_PREFIX
    log_group: str | None = None
    # A central logging account: other accounts whose log groups export here too, and the
    # principals (IAM role or user ARNs) that call CreateExportTask there.
    source_accounts: tuple[str, ...] = ()
    source_callers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Destination:
    """The facts the required statements are written from."""

    region: str
    account: str  # the destination's own account (the bucket's and the key's)
    partition: str
    bucket: str
    prefix: str
    # The accounts whose log groups export here, the own one first; () means the own only.
    source_accounts: tuple[str, ...] = ()
    # The principals (role or user ARNs) that call CreateExportTask in another account.
    callers: tuple[str, ...] = ()

    @property
    def accounts(self) -> tuple[str, ...]:
        """Every source account, the own one first, each once."""
        others = sorted(set(self.source_accounts) - {self.account})
        return (self.account, *others)

    @property
    def export_callers(self) -> tuple[str, ...]:
        """Who may run exports into this destination from other accounts: the callers named,
        and for a source account none of whose callers is named, its root (any principal
        its own IAM allows: that account decides)."""
        named = {c.split(":")[4] for c in self.callers if c.count(":") >= 5}
        open_accounts = [a for a in self.accounts[1:] if a not in named]
        roots = [f"arn:{self.partition}:iam::{a}:root" for a in open_accounts]
        return (*self.callers, *roots)

    @classmethod
    def of(cls, identity: Identity, choices: Choices) -> Destination:
        return cls(
            region=choices.region,
            account=identity.account,
            partition=identity.partition or partition_for_region(choices.region).name,
            bucket=choices.bucket,
            prefix=choices.prefix,
            source_accounts=tuple(choices.source_accounts),
            callers=tuple(sorted(set(choices.source_callers))),
        )


@dataclass(frozen=True)
class BucketEncryption:
    algorithm: str | None  # AES256, aws:kms, aws:kms:dsse; None: no default encryption rule
    kms_key_id: str | None = None  # as S3 reports it: a key ARN, key id, or alias
    bucket_key: bool = False


@dataclass(frozen=True)
class PublicAccessBlock:
    block_public_acls: bool = True
    ignore_public_acls: bool = True
    block_public_policy: bool = True
    restrict_public_buckets: bool = True

    @property
    def all_on(self) -> bool:
        return (
            self.block_public_acls
            and self.ignore_public_acls
            and self.block_public_policy
            and self.restrict_public_buckets
        )


@dataclass(frozen=True)
class BucketState:
    name: str
    exists: bool
    owned: bool = True  # False: the name is taken by another account (HeadBucket 403)
    # The permission the caller lacks to read the bucket at all (HeadBucket 403 on a bucket
    # the account owns: s3:ListBucket); None when it could be read.
    unreadable: str | None = None
    region: str | None = None
    encryption: BucketEncryption | None = None
    policy: str | None = None  # the bucket policy JSON as read; None: the bucket has none
    object_ownership: str | None = None  # BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter
    public_access_block: PublicAccessBlock | None = None
    object_lock: bool = False

    @property
    def acls_enabled(self) -> bool:
        """ACLs on (not BucketOwnerEnforced); a bucket that does not exist yet will have
        them off (the wizard creates it so)."""
        return self.exists and self.object_ownership != OWNER_ENFORCED


@dataclass(frozen=True)
class KeyState:
    reference: str  # what was asked for: key id, ARN or alias
    exists: bool
    key_id: str | None = None
    arn: str | None = None
    region: str | None = None
    manager: str | None = None  # CUSTOMER or AWS
    state: str | None = None  # Enabled, Disabled, PendingDeletion, ...
    spec: str | None = None  # SYMMETRIC_DEFAULT, RSA_2048, ...
    usage: str | None = None  # ENCRYPT_DECRYPT, SIGN_VERIFY, ...
    multi_region: bool = False
    aliases: tuple[str, ...] = ()
    policy: str | None = None  # the key policy named "default"; None when it could not be read
    rotation_enabled: bool | None = None
    description: str = ""
    tags: tuple[tuple[str, str], ...] | None = None  # None: not read
    creation_ms: int | None = None

    @property
    def created_by_wizard(self) -> bool:
        """The key carries the wizard's created-by tag: a later ``--create-key`` may reuse it."""
        return (CREATED_BY_TAG, CREATED_BY_VALUE) in (self.tags or ())

    @property
    def display_name(self) -> str:
        return self.aliases[0] if self.aliases else (self.key_id or self.reference)

    @property
    def rotation_applies(self) -> bool:
        """Automatic rotation can be on or off only for an enabled symmetric customer key."""
        return bool(
            self.key_id
            and self.manager != KEY_MANAGER_AWS
            and self.spec == KEY_SPEC_SYMMETRIC
            and self.state == KEY_STATE_ENABLED
        )


@dataclass(frozen=True)
class LogGroupState:
    name: str
    exists: bool
    arn: str | None = None
    stored_bytes: int | None = None


@dataclass(frozen=True)
class ExportTaskInfo:
    task_id: str
    log_group: str
    status: ExportTaskStatus
    destination: str = ""
    prefix: str | None = None
    task_name: str | None = None
    status_message: str | None = None
    from_ms: int | None = None
    to_ms: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything observed about one destination, at one moment."""

    identity: Identity
    region: str
    bucket: BucketState
    key: KeyState | None  # the chosen key, else the bucket's key; None when there is neither
    log_group: LogGroupState | None = None
    active_tasks: tuple[ExportTaskInfo, ...] = ()
    # The bucket's current default key when another key was chosen: it tells, for example,
    # that the bucket is on aws/s3 even when S3 names that key by its ARN.
    bucket_key: KeyState | None = None
