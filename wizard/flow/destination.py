"""Steps 1-5 against AWS: region, key, bucket, review (with a source account), apply, undo."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core import doctor, iam_policy
from wizard.core import plan as core_plan
from wizard.core import requirements as req
from wizard.core.change import Plan
from wizard.core.errors import UsageError
from wizard.core.findings import Severity, sort_findings
from wizard.core.key_in_use import alias_conflict
from wizard.core.outcomes import RollbackReport, StepReport
from wizard.core.presets import DEFAULT_KEY_ALIAS, suggested_bucket_name
from wizard.core.state import (
    KEY_MANAGER_CUSTOMER,
    SSE_KMS,
    Choices,
    Identity,
    KeyState,
    Snapshot,
)
from wizard.core.text import count
from wizard.core.validate import alias_problem, normalize_alias
from wizard.flow.state import BucketHealth, BucketOption, Review, WizardState

if TYPE_CHECKING:
    # The AWS layer (boto3) loads on first use, so that a face can draw its first screen
    # before boto3 is imported (the TUI shows its first screen within a second).
    from wizard.aws import apply as aws_apply
    from wizard.aws import inventory
    from wizard.aws.lock import DestinationLock
    from wizard.aws.session import AwsSession


def _elsewhere(bucket: inventory.BucketSummary, region: str) -> BucketOption:
    return BucketOption(
        bucket.name,
        bucket.region,
        False,
        f"in {bucket.region or 'an unknown region'}: exports need a bucket in {region}",
    )


PREPARED_SERVICES = ("kms", "s3", "logs")  # what steps 2-7 call, in the order they do


class DestinationFlow:
    """Steps 1-5 of one wizard run against one AWS session (real or the sandbox)."""

    def __init__(
        self,
        session: AwsSession,
        *,
        journal_dir: Path | None = None,
        source: AwsSession | None = None,
    ) -> None:
        self.session = session
        self.journal_dir = journal_dir
        # A central logging account: the session of the account whose log groups export to
        # this destination (its caller runs the test export); None: this account's own.
        self.source = source
        self._keys: dict[str, list[inventory.KeyOption]] = {}
        self._groups_seen: dict[tuple[str, str], inventory.LogGroupSummary] = {}

    # Step 1 ------------------------------------------------------------------------------
    def identity(self) -> Identity:
        return self.session.identity()

    def regions(self) -> list[str]:
        from wizard.aws import inventory

        regions = inventory.list_regions(self.session)
        if self.session.region not in regions:
            regions = sorted([*regions, self.session.region])
        return regions

    @property
    def default_region(self) -> str:
        return self.session.region

    def prepare_clients(self, region: str) -> None:
        """Create the KMS, S3 and CloudWatch Logs clients of ``region`` ahead of the steps
        that need them: the first client of a service loads its model (a quarter of a
        second for KMS on a busy machine), which otherwise delays the key step's first rows.
        The models are shared by every region's clients, so another region gains too."""
        self.session.prepare_clients(PREPARED_SERVICES, region)

    # Step 2 ------------------------------------------------------------------------------
    def keys(
        self,
        region: str,
        on_page: Callable[[list[inventory.KeyOption]], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[inventory.KeyOption]:
        from wizard.aws import inventory

        options = inventory.list_keys(self.session, region, on_page=on_page, cancel=cancel)
        self._keys[region] = options
        return options

    def key_rotations(
        self,
        region: str,
        keys: Iterable[KeyState],
        on_batch: Callable[[dict[str, bool | None]], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, bool | None]:
        """Whether rotation is on, by key id, read after the list and a few at a time."""
        from wizard.aws import inventory

        return inventory.key_rotations(self.session, region, keys, on_batch=on_batch, cancel=cancel)

    @staticmethod
    def default_key(options: list[inventory.KeyOption]) -> inventory.KeyOption | None:
        """The first usable customer managed key, else None (then: create one)."""
        return next((o for o in options if o.usable), None)

    def suggested_alias(self, region: str) -> str:
        taken = {a for o in self._keys.get(region, []) for a in o.key.aliases}
        alias, n = DEFAULT_KEY_ALIAS, 2
        while alias in taken:
            alias, n = f"{DEFAULT_KEY_ALIAS}-{n}", n + 1
        return alias

    def alias_taken(self, region: str, alias: str) -> bool:
        return any(alias in o.key.aliases for o in self._keys.get(region, []))

    def key_alias(self, region: str | None, key: str | None, *, ask: bool = False) -> str | None:
        """A key's first alias (people know keys by alias), from the keys listed so far;
        ``ask``: when they were not listed (a command), one ListAliases call."""
        if not region or not key:
            return None
        for option in self._keys.get(region, []):
            if key in (option.key.arn, option.key.key_id) and option.key.aliases:
                return option.key.aliases[0]
        if ask:
            from wizard.aws import inventory

            found = inventory.aliases_of(self.session, region, key)
            return found[0] if found else None
        return None

    def alias_problem(self, region: str, text: str) -> str | None:
        """The new key's alias: valid, and not the alias of a key already listed."""
        problem = alias_problem(text)
        if problem is None and self.alias_taken(region, normalize_alias(text)):
            return (
                f"{normalize_alias(text)} already exists in {region}: choose that key in the "
                "list, or give the new key another alias."
            )
        return problem

    # Step 3 ------------------------------------------------------------------------------
    def buckets(self, region: str) -> list[BucketOption]:
        """The region's buckets first, then the others, explained as unusable (one listing).

        For a face that shows everything at once (plain mode). The TUI lists the region's
        buckets first (``region_buckets``: fast) and the others after (``other_region_buckets``).
        """
        from wizard.aws import inventory

        summaries = inventory.list_buckets(self.session, None)
        here = [BucketOption(b.name, b.region, True) for b in summaries if b.region == region]
        elsewhere = [_elsewhere(b, region) for b in summaries if b.region != region]
        return here + elsewhere

    def region_buckets(self, region: str) -> list[BucketOption]:
        """The region's buckets (all usable), from a listing of that region alone."""
        from wizard.aws import inventory

        summaries = inventory.list_buckets(self.session, region)
        return [BucketOption(b.name, b.region or region, True) for b in summaries]

    def other_region_buckets(self, region: str) -> list[BucketOption]:
        """The other regions' buckets, explained as unusable (lists every bucket: slower)."""
        from wizard.aws import inventory

        summaries = inventory.list_buckets(self.session, None)
        return [_elsewhere(b, region) for b in summaries if b.region != region]

    def suggested_bucket(self, region: str) -> str:
        return suggested_bucket_name(self.identity().account, region)

    def bucket_availability(self, name: str) -> str | None:
        """None when the name can be created; else why not."""
        from wizard.aws import snapshot

        state = snapshot.read_bucket(self.session, name)
        if not state.exists:
            return None
        if not state.owned:
            return f"{name} is taken by another AWS account (bucket names are global)."
        return f"You already own {name}: select it in the list instead of creating it."

    def bucket_health(self, region: str, name: str, key_arn: str | None) -> BucketHealth:
        from wizard.aws import snapshot

        # As the Review will judge it: with the source account of a central logging account.
        choices = self.with_source(Choices(region=region, bucket=name, key=key_arn))
        snap = snapshot.read(self.session, choices)
        findings = doctor.diagnose(snap, choices)
        enc = snap.bucket.encryption
        if enc is None or enc.algorithm is None:
            encryption = "no default encryption"
        elif enc.algorithm == SSE_KMS:
            # snap.key is the chosen key; name the bucket's own key, which may be another one.
            key = snap.key
            own = enc.kms_key_id or "?"
            if not (key and key.exists and own in (key.arn, key.key_id, *key.aliases)):
                key = snapshot.read_key(self.session, own, region) if enc.kms_key_id else None
            named = key.display_name if key and key.exists else own
            encryption = f"SSE-KMS ({named})"
        else:
            encryption = "SSE-S3" if enc.algorithm == "AES256" else enc.algorithm
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if not errors:
            return BucketHealth(encryption, True, "ready")
        blockers = core_plan.build(snap, choices).blockers
        return BucketHealth(
            encryption,
            False,
            f"{count(len(errors), 'problem')}: {errors[0].code}",
            tuple(f.message for f in errors),
            blockers=min(len(blockers), len(errors)),
        )

    # Repair ------------------------------------------------------------------------------
    def repair_state(self, bucket: str) -> WizardState:
        """Choices that fix ``bucket``: its own key when usable, else the first usable key."""
        from wizard.aws import snapshot

        bucket_state = snapshot.read_bucket(self.session, bucket)
        region = bucket_state.region or self.session.region
        state = WizardState(region=region, bucket=bucket, repair=True)
        current: KeyState | None = None
        enc = bucket_state.encryption
        if enc and enc.algorithm == SSE_KMS and enc.kms_key_id:
            current = snapshot.read_key(self.session, enc.kms_key_id, region)
        options = self.keys(region)
        usable = {o.key.arn: o for o in options if o.usable}
        if current and current.arn in usable and current.manager == KEY_MANAGER_CUSTOMER:
            state.key = current.arn
        elif (first := self.default_key(options)) is not None:
            state.key = first.key.arn
        else:
            state.create_key_alias = self.suggested_alias(region)
        return state

    # Step 4 ------------------------------------------------------------------------------
    def with_source(self, choices: Choices) -> Choices:
        """``choices`` with the source session's account and caller added (a central
        logging account), as the statements must name them."""
        if self.source is None:
            return choices
        caller = self.source.identity()
        if caller.account == self.identity().account:
            return choices  # the same account: its own log groups need nothing more
        # The role, not the session: a session's name changes from one sign-in to the next.
        principal = req.caller_role_arn(caller.arn)
        return dataclasses.replace(
            choices,
            source_accounts=tuple(dict.fromkeys((*choices.source_accounts, caller.account))),
            source_callers=tuple(dict.fromkeys((*choices.source_callers, principal))),
        )

    def source_account(self) -> str | None:
        """The source session's account, when it is another one."""
        if self.source is None:
            return None
        account = self.source.identity().account
        return None if account == self.identity().account else account

    def review(self, choices: Choices) -> Review:
        """Read the destination, diagnose it and plan it. A key to create whose alias is
        already someone else's key is refused (UsageError): creating was asked for, not
        patching that key. With a source session, its caller's own policy is checked too."""
        from wizard.aws import permissions, snapshot

        choices = self.with_source(choices)
        snap = snapshot.read(self.session, choices, self.source)
        conflict = alias_conflict(snap, choices)
        if conflict is not None:
            raise UsageError(conflict[0], fix=conflict[1])
        plan = core_plan.build(snap, choices)
        # Before any write: may this caller do what the plan needs (IAM's simulator)?
        check = permissions.check(self.session, plan, snap.key) if plan.changes else None
        hint = iam_policy.command_for(choices, snap.identity.account)
        findings = [*doctor.diagnose(snap, choices), *doctor.permission_findings(check, hint)]
        if self.source is not None and choices.source_callers:
            scope = self.source_scope(choices, snap)
            source_check = permissions.simulate(self.source, iam_policy.source_needs(scope))
            findings += doctor.source_permission_findings(
                source_check, iam_policy.source_command_for(scope)
            )
        return Review(snap, tuple(sort_findings(findings)), plan)

    def source_scope(self, choices: Choices, snap: Snapshot) -> iam_policy.SourceScope:
        """What the source account's caller needs for this destination."""
        caller = self.source.identity() if self.source is not None else None
        key = snap.key.arn if snap.key is not None and snap.key.exists else None
        return iam_policy.SourceScope(
            region=choices.region,
            account=caller.account if caller is not None else None,
            bucket=choices.bucket,
            prefix=choices.prefix,
            key=key,
            acls_enabled=snap.bucket.acls_enabled,
            log_group=choices.log_group,
        )

    # Step 5 ------------------------------------------------------------------------------
    def apply(
        self,
        plan: Plan,
        on_step: Callable[[aws_apply.StepResult], None] | None = None,
        cancel: threading.Event | None = None,
        *,
        on_notice: Callable[[str], None] | None = None,
        lock: DestinationLock | None = None,
        lock_wait: float | None = None,
    ) -> aws_apply.ApplyResult:
        """Apply ``plan`` (journal, drift check, rollback); ``lock``: one the caller holds
        already (see ``lock``), else one is taken for the apply."""
        from wizard.aws import apply as aws_apply

        options = {} if lock_wait is None else {"lock_wait": lock_wait}
        return aws_apply.run(
            self.session,
            plan,
            journal_dir=self.journal_dir,
            on_step=on_step,
            on_notice=on_notice,
            cancel=cancel,
            lock=lock,
            **options,
        )

    def lock(
        self,
        region: str,
        *,
        wait: float,
        on_notice: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> DestinationLock:
        """Take the one-apply-at-a-time lock of the account and region now (the commands
        plan under it, so a second apply plans from the first one's result). Release it."""
        from wizard.aws import apply as aws_apply

        lock = aws_apply.destination_lock(self.journal_dir, self.identity().account, region)
        aws_apply.acquire_lock(lock, wait=wait, cancel=cancel, on_notice=on_notice)
        return lock

    def undo(
        self,
        journal_path: Path,
        on_report: Callable[[StepReport], None] | None = None,
        *,
        on_notice: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> RollbackReport:
        """Put back what an apply changed (its journal), judging each step by reading AWS."""
        from wizard.aws import apply as aws_apply

        return aws_apply.undo(
            self.session, journal_path, on_report=on_report, on_notice=on_notice, cancel=cancel
        )
