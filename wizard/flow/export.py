"""Steps 6-7 against AWS: the test export, busy slot, propagation, probe export and proof."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core import doctor, pacing
from wizard.core import proof as core_proof
from wizard.core import verify as core_verify
from wizard.core.errors import Cancelled, ExportBusy, ExportRefused, UsageError
from wizard.core.findings import is_healthy
from wizard.core.state import Choices, ExportTaskInfo
from wizard.core.validate import parse_duration_ms
from wizard.flow.destination import DestinationFlow
from wizard.flow.results import proof_commands, result_view
from wizard.flow.state import Review, Verified, WizardState

if TYPE_CHECKING:
    # The AWS layer (boto3) loads on first use, so that a face can draw its first screen
    # before boto3 is imported (the TUI shows its first screen within a second).
    from wizard.aws import export as aws_export
    from wizard.aws import inventory
    from wizard.aws.session import AwsSession


class BusyChoice(Enum):
    """What to do when another export task is active (one per account and region)."""

    WAIT = "wait"  # wait for it to finish, then start ours
    CANCEL = "cancel"  # cancel it, wait until it has stopped, then start ours
    STOP = "stop"  # start nothing (fail, or skip the test export)


# The busy-export policy, one for every face: when another export task holds the account's
# one export slot in the region, wait for it or cancel it (the user says, or --if-busy), then
# start again; after BUSY_RETRIES such rounds something keeps starting exports: stop, say so.
BUSY_RETRIES = 3


class BusyRounds:
    """Counts the rounds of clearing the export slot for one test export."""

    def __init__(self) -> None:
        self.rounds = 0

    def next_round(self, busy: ExportBusy) -> None:
        """Another round is allowed (counted), or ExportBusy says the limit was reached."""
        if self.rounds >= BUSY_RETRIES:
            raise ExportBusy(busy.active, busy.region, rounds=self.rounds) from None
        self.rounds += 1


# Policy changes reach CloudWatch Logs eventually ("typically less than a few seconds, in some
# cases several minutes", KMS developer guide): a test export right after an apply waits up to
# this long, trying again after 2, 4, 8, 16, 16... seconds.
# The one propagation rule, for every face: when AWS refuses an export although the
# policies the caller can read allow it, the change is still reaching CloudWatch Logs
# (whoever made it: this run, Terraform, another machine), so wait, bounded, and say why.
PROPAGATION_WAIT = 120.0
PROPAGATION_FIRST_RETRY = 2.0
PROPAGATION_MAX_RETRY = 16.0


@dataclass(frozen=True)
class PropagationWait:
    """A test export was refused although the policies allow it: waiting for them to reach
    CloudWatch Logs, then trying again."""

    refused: str  # AWS's text
    waited: float  # seconds so far
    limit: float  # seconds at most
    retry_in: float


def _default_journal_dir() -> Path:
    from wizard.aws import journal as aws_journal

    return aws_journal.default_journal_dir()


class ExportFlow(DestinationFlow):
    """Steps 6-7 of a wizard run: the test export, and the proof."""

    # Step 6 ------------------------------------------------------------------------------
    def log_groups(
        self, region: str, pattern: str | None = None
    ) -> list[inventory.LogGroupSummary]:
        from wizard.aws import inventory

        listed = inventory.list_log_groups(self.exporter, region, pattern=pattern)
        # A filtered listing says less (no size, no last event read): what an earlier listing
        # found about a group stays, so one group never shows two different stories.
        groups = []
        for group in listed:
            seen = self._groups_seen.get((region, group.name))
            if seen is not None:
                group = dataclasses.replace(
                    group,
                    stored_bytes=group.stored_bytes
                    if group.stored_bytes is not None
                    else seen.stored_bytes,
                    last_event_ms=group.last_event_ms or seen.last_event_ms,
                )
            self._groups_seen[(region, group.name)] = group
            groups.append(group)
        # Most recently written first: that is where a test export finds data.
        return sorted(groups, key=lambda g: g.last_event_ms or g.created_ms, reverse=True)

    @staticmethod
    def export_request(state: WizardState, now_ms: int | None = None) -> aws_export.ExportRequest:
        if not state.region or not state.bucket or not state.log_group:
            raise ValueError("region, bucket and log group must be chosen first")
        to_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        return ExportFlow.make_export_request(
            state.region,
            state.log_group,
            state.bucket,
            state.prefix,
            to_ms - parse_duration_ms(state.window),
            to_ms,
            state.stream_prefix or None,
        )

    def start_export(
        self,
        request: aws_export.ExportRequest,
        *,
        wait_for_propagation: float | None = None,
        on_wait: Callable[[PropagationWait], None] | None = None,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = pacing.monotonic,
    ) -> str:
        """The task id; raises ExportBusy when another task is active (offer wait / cancel).

        KMS and S3 policy changes reach CloudWatch Logs seconds (sometimes minutes) after they
        are written. When the export is refused with a documented permission text although
        the doctor finds the destination healthy, the change is still propagating: it is
        tried again, with backoff, for up to ``wait_for_propagation`` seconds (None:
        PROPAGATION_WAIT, whoever made the change), and ``on_wait`` hears why before each wait.
        """
        from wizard.aws import export as aws_export

        if wait_for_propagation is None:
            wait_for_propagation = PROPAGATION_WAIT
        started = clock()
        delay = PROPAGATION_FIRST_RETRY
        healthy: bool | None = None
        stop = cancel or threading.Event()
        tries = 0
        while True:
            try:
                tries += 1
                return aws_export.start(self.exporter, request)
            except ExportRefused as refused:
                waited = clock() - started
                if waited + delay > wait_for_propagation:
                    if tries > 1:  # it did wait: say how long, never "after 0 s"
                        refused.message += (
                            f" It was still refused after {tries} tries and {waited:.1f} s of "
                            "waiting for policy changes to reach CloudWatch Logs."
                        )
                        refused.args = (refused.message,)
                    raise
                if healthy is None:
                    healthy = self.destination_healthy(request)
                if not healthy:
                    raise  # the doctor explains what is wrong; waiting would not help
                if on_wait is not None:
                    on_wait(PropagationWait(refused.aws_error, waited, wait_for_propagation, delay))
                if pacing.pause(stop, delay):
                    raise Cancelled("Stopped waiting for the policies to propagate.") from None
                delay = min(delay * 2, PROPAGATION_MAX_RETRY)

    def destination_healthy(self, request: aws_export.ExportRequest) -> bool:
        """The doctor's verdict on the destination as it is (its own key)."""
        from wizard.aws import snapshot

        choices = Choices(
            region=request.region,
            bucket=request.bucket,
            prefix=request.prefix,
            log_group=request.log_group,
        )
        return is_healthy(doctor.diagnose(snapshot.read(self.session, choices), choices))

    def probe_log_group(self, region: str) -> str:
        """The log group a probe export uses when none was chosen: the one written last."""
        groups = self.log_groups(region)
        if not groups:
            raise UsageError(
                f"There is no log group in {region} to run a probe export with.",
                fix="Create one, or give --log-group.",
            )
        return groups[0].name

    def verify(
        self,
        choices: Choices,
        *,
        review: Review | None = None,
        wait_if_busy: bool = False,
        wait_for_propagation: float | None = None,
        on_wait: Callable[[PropagationWait], None] | None = None,
        on_status: Callable[[ExportTaskInfo, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Verified:
        """The doctor's prediction checked against AWS's answer to a probe export (a minute's
        window: the test object and a few lines at most). Without ``wait_for_propagation``,
        a refusal while the policies allow the export is retried for PROPAGATION_WAIT
        seconds, as every export is. The answer is kept for the proof (test-export --report)."""
        from wizard.aws import probe

        if not choices.log_group:
            choices = dataclasses.replace(choices, log_group=self.probe_log_group(choices.region))
        seen = review.snapshot.log_group if review is not None else None
        if review is None or seen is None or seen.name != choices.log_group:
            review = self.review(choices)  # predicted for the probe's own log group
        assert choices.log_group is not None
        patience = wait_for_propagation  # None: the one rule (start_export)
        request = probe.probe_request(
            choices.region, choices.log_group, choices.bucket, choices.prefix
        )
        waited = [0.0]

        def told(wait: PropagationWait) -> None:
            waited[0] = wait.waited + wait.retry_in
            if on_wait is not None:
                on_wait(wait)

        observation = probe.run(
            self.exporter,
            request,
            lambda: self.start_export(
                request, wait_for_propagation=patience, on_wait=told, cancel=cancel
            ),
            wait_if_busy=wait_if_busy,
            on_status=on_status,
            cancel=cancel,
        )
        observation = dataclasses.replace(observation, waited=waited[0])
        prediction = core_verify.predict(review.findings)
        account = review.snapshot.identity.account
        verification = core_verify.compare(
            prediction,
            observation,
            review.findings,
            account=account,
        )
        moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        probe.save_record(
            self.journal_dir or _default_journal_dir(),
            {
                "time": moment,
                "account": account,
                "region": choices.region,
                "bucket": choices.bucket,
                "prefix": choices.prefix,
                "log_group": choices.log_group,
                "task_id": observation.task_id,
                **verification.to_json(),
            },
        )
        return Verified(review, verification, choices.log_group, choices.prefix, moment)

    def proof(
        self,
        state: WizardState,
        result: aws_export.ExportResult,
        *,
        key_alias: str | None = None,
    ) -> core_proof.Proof:
        """The proof of a test export for a change ticket: the failure reproduced before the
        change (the newest kept verification of this destination that AWS refused, older
        than the change), the changes applied (this run's journal, else the newest journal
        of this bucket) and the export after them."""
        from wizard.aws import journal as aws_journal
        from wizard.aws import probe

        folder = self.journal_dir or aws_journal.default_journal_dir()
        bucket, prefix = state.bucket or "", state.prefix
        journal: aws_journal.Journal | None = None
        if state.applied is not None:
            journal = aws_journal.load(state.applied.journal_path)
        else:
            for path in aws_journal.journals(folder):
                try:
                    found = aws_journal.load(path)
                except UsageError:
                    continue
                if any(step.params.get("bucket") == bucket for step in found.steps):
                    journal = found
                    break
        record = probe.latest_record(
            folder, bucket, prefix, before=journal.time if journal else None
        )
        before = None
        here = state.reproduced_here
        if here is not None and here.refused:
            answer = here.verification.observation
            before = core_proof.Before(
                time=here.time,
                predicted=here.verification.prediction.aws_error,
                aws_error=answer.aws_error or answer.outcome.value,
                agrees=here.verification.agrees,
            )
        elif record is not None:
            predicted = record.get("predicted") or {}
            observed = record.get("observed") or {}
            before = core_proof.Before(
                time=str(record.get("time", "")),
                predicted=predicted.get("aws_error"),
                aws_error=str(observed.get("aws_error")),
                agrees=bool(record.get("agrees")),
            )
        view = result_view(state, result, sandbox=False, key_alias=key_alias)
        encryption = result.encryption
        return core_proof.Proof(
            destination=f"s3://{bucket}/{prefix}/",
            account=self.identity().account,
            region=state.region or "",
            log_group=result.task.log_group,
            made=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            before=before,
            journal=str(journal.path) if journal is not None else None,
            steps=tuple(
                core_proof.AppliedStep(step.summary, step.status.value)
                for step in (journal.steps if journal is not None else ())
            ),
            after=core_proof.After(
                succeeded=result.succeeded,
                verdict=view.verdict,
                task_id=result.task.task_id,
                objects=tuple(o.uri for o in result.objects),
                algorithm=encryption.algorithm if encryption else None,
                key_arn=encryption.kms_key_id if encryption else None,
                key_alias=key_alias,
                bucket_key=encryption.bucket_key if encryption else None,
                sample_title=view.sample_title,
                sample=result.sample,
                explanation=result.explanation,
            ),
            commands=proof_commands(state, result, self.export_profile()),
        )

    def wait_export(
        self,
        region: str,
        task_id: str,
        on_status: Callable[[ExportTaskInfo, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ExportTaskInfo:
        from wizard.aws import export as aws_export

        return aws_export.wait(self.exporter, region, task_id, on_status=on_status, cancel=cancel)

    def clear_busy(
        self,
        region: str,
        active: ExportTaskInfo,
        choice: BusyChoice,
        on_status: Callable[[ExportTaskInfo, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """Make room for a test export while ``active`` runs: wait for it, or cancel it and
        wait until it has stopped (a cancelled task passes PENDING_CANCEL first)."""
        from wizard.aws import export as aws_export

        if choice is BusyChoice.STOP:
            raise ExportBusy(active, region)
        if choice is BusyChoice.CANCEL:
            aws_export.cancel_task(self.exporter, region, active.task_id)
        aws_export.wait_until_idle(self.exporter, region, on_status=on_status, cancel=cancel)

    @staticmethod
    def make_export_request(
        region: str,
        log_group: str,
        bucket: str,
        prefix: str,
        from_ms: int,
        to_ms: int,
        stream_prefix: str | None = None,
    ) -> aws_export.ExportRequest:
        from wizard.aws import export as aws_export

        return aws_export.ExportRequest(
            region=region,
            log_group=log_group,
            bucket=bucket,
            prefix=prefix,
            from_ms=from_ms,
            to_ms=to_ms,
            stream_prefix=stream_prefix,
        )

    @property
    def exporter(self) -> AwsSession:
        """The session that runs export tasks: the source account's, when there is one."""
        return self.source if self.source is not None else self.session

    def export_profile(self) -> str | None:
        """The profile of the session that runs exports (--source-profile's, else
        --profile's or AWS_PROFILE's): a command that repeats an export names it."""
        return self.exporter.profile

    def close(self) -> None:
        """The run is over: the AWS layer's threads take no more work."""
        self.session.close()
        if self.source is not None:
            self.source.close()

    def cancel_export(self, region: str, task_id: str) -> None:
        from wizard.aws import export as aws_export

        aws_export.cancel_task(self.exporter, region, task_id)

    def collect_export(
        self, request: aws_export.ExportRequest, task: ExportTaskInfo, lines: int = 10
    ) -> aws_export.ExportResult:
        from wizard.aws import export as aws_export

        return aws_export.collect(self.session, request, task, lines=lines)
