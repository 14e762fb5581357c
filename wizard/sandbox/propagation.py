"""Eventual consistency: what CloudWatch Logs sees of a policy or encryption change, and when."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from moto.kms.models import Key
from moto.s3.models import FakeBucket

from wizard.core import pacing
from wizard.core.policy import PolicyDocument
from wizard.sandbox.moto_state import (
    BucketCrypto,
    bucket_crypto,
    bucket_policy,
    key_policy,
    policy_text,
)


class Propagation:
    """Eventual consistency (``sandbox --propagation-delay S``): a change to a bucket policy,
    a bucket's default encryption or a key policy takes effect for CloudWatch Logs only S
    seconds after it was written, as on AWS ("typically less than a few seconds, in some
    cases several minutes"). The caller's own reads see every change at once."""

    def __init__(self, delay: float, clock: Callable[[], float] = pacing.wall_time) -> None:
        self.delay = max(0.0, delay)
        self._clock = clock
        self._lock = threading.Lock()
        # (kind, name) -> [(when written, the value before that write)], oldest first
        self._changes: dict[tuple[str, str], list[tuple[float, Any]]] = {}

    def record(self, kind: str, name: str, previous: Any) -> None:
        if self.delay <= 0:
            return
        now = self._clock()
        with self._lock:
            changes = self._changes.setdefault((kind, name), [])
            changes[:] = [c for c in changes if now - c[0] < self.delay]
            changes.append((now, copy.deepcopy(previous)))

    def effective(self, kind: str, name: str, current: Any) -> Any:
        """What the logs principal sees now: the value before the oldest change still
        propagating, else ``current``."""
        if self.delay <= 0:
            return current
        now = self._clock()
        with self._lock:
            pending = [c for c in self._changes.get((kind, name), []) if now - c[0] < self.delay]
        return pending[0][1] if pending else current

    def created_recently(self, created: float | None) -> bool:
        """A key made less than ``delay`` ago is not yet known to the rest of AWS."""
        return self.delay > 0 and created is not None and self._clock() - created < self.delay

    # -- the views ExportTasks judges with

    def bucket_policy(self, bucket: FakeBucket) -> PolicyDocument | None:
        text = self.effective("bucket-policy", bucket.name, policy_text(bucket.policy))
        return bucket_policy(bucket, text) if text else None

    def bucket_crypto(self, account: str, bucket: FakeBucket) -> BucketCrypto:
        config = self.effective("bucket-encryption", bucket.name, bucket.encryption)
        return bucket_crypto(account, bucket, config)

    def key_policy(self, key: Key) -> PolicyDocument | None:
        if self.created_recently(getattr(key, "creation_date", None)):
            return None
        text = self.effective("key-policy", key.id, key.policy)
        return key_policy(key, text) if text else None
