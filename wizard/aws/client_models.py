"""What botocore rebuilds for every client, built once per process: service models, client
classes and event-name aliases.

botocore parses a fresh ``ServiceModel`` for every client (so every client recomputes each
operation's model, and scans all of them for endpoint discovery) and builds a new client class
(a method with a docstring per operation: 133 for CloudWatch Logs). Together that is about
two thirds of making a client. A survey makes one Logs client per account and region (127 in
the fleet sandbox), and the sign-in, bucket and key reads make more.

Both are pure functions of what they are made from, so they are shared:
- a service model, of the service description the process's one data loader has cached
  (the same object for every session: ``session._shared_loader``); its lazily computed
  parts are deterministic, so whichever thread computes one first computes the same value;
- a client class, of its service and API version: every session of this process is made by
  ``AwsSession`` with boto3's stock handlers, so the ``creating-client-class`` event adds the
  same methods whichever session builds it, and the class holds no per-client state (the
  client's endpoint, credentials, events and config live on the instance).

- an event name's alias (``before-call.cloudwatch-logs...``): botocore memoizes it per event
  emitter, but every client gets a fresh copy of the session's emitter with an empty memo, so
  each client re-derives each name (about 0.1 ms each, a tenth of a client's cost). The alias
  is a pure function of the name and the alias table, so one memo serves every emitter that
  uses botocore's own table.

botocore has no hook for any of these, so ``install`` (the AWS session calls it) replaces the
three methods that compute them with cached versions of the same signature.
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.client
import botocore.hooks
from botocore.model import ServiceModel

_lock = threading.Lock()
# service name -> (the description it was made from, the model): a model is reused only for
# the very description object it was made of, so another loader's data is never mixed in.
_models: dict[tuple[str, str | None], tuple[Any, ServiceModel]] = {}
_classes: dict[str, tuple[ServiceModel, type]] = {}

_aliases: dict[str, str] = {}

_build_model = botocore.client.ClientCreator._load_service_model
_build_class = botocore.client.ClientCreator._create_client_class
_alias = botocore.hooks.EventAliaser._alias_event_name


def _shared_model(
    creator: botocore.client.ClientCreator, service_name: str, api_version: str | None = None
) -> ServiceModel:
    description = creator._loader.load_service_model(
        service_name, "service-2", api_version=api_version
    )
    key = (service_name, api_version)
    with _lock:
        known = _models.get(key)
        if known is not None and known[0] is description:
            return known[1]
    model: ServiceModel = _build_model(creator, service_name, api_version)
    with _lock:
        _models[key] = (description, model)
    return model


def _shared_class(
    creator: botocore.client.ClientCreator, service_name: str, service_model: ServiceModel
) -> type:
    # Reused only for the very model it was made of: a model of other data gets its own.
    with _lock:
        known = _classes.get(service_name)
        if known is not None and known[0] is service_model:
            return known[1]
    built: type = _build_class(creator, service_name, service_model)
    with _lock:
        _classes[service_name] = (service_model, built)
    return built


def _shared_alias(aliaser: botocore.hooks.EventAliaser, event_name: str) -> str:
    if aliaser._event_aliases != botocore.hooks.EVENT_ALIASES:
        return str(_alias(aliaser, event_name))  # a table of its own: botocore's own memo
    known = _aliases.get(event_name)
    if known is None:
        known = _aliases.setdefault(event_name, str(_alias(aliaser, event_name)))
    return known


def install() -> None:
    """Make every client of this process share models and classes (idempotent)."""
    botocore.client.ClientCreator._load_service_model = _shared_model
    botocore.client.ClientCreator._create_client_class = _shared_class
    botocore.hooks.EventAliaser._alias_event_name = _shared_alias
