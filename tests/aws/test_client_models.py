"""Clients share their service model and class (wizard.aws.client_models), and still work."""

from __future__ import annotations

import botocore.loaders

from tests.aws.conftest import session_for
from wizard.aws.session import AwsSession
from wizard.sandbox.server import Sandbox


def _sessions(demo: Sandbox) -> tuple[AwsSession, AwsSession]:
    # Two sessions as two profiles would make them: separate boto3 and botocore sessions.
    return session_for(demo), session_for(demo)


def test_clients_of_two_sessions_and_two_regions_share_one_model_and_class(
    demo: Sandbox,
) -> None:
    first, second = _sessions(demo)
    clients = [
        first.client("logs", "us-east-1"),
        first.client("logs", "eu-west-1"),
        second.client("logs", "ap-northeast-1"),
    ]
    assert len({type(c) for c in clients}) == 1
    assert len({id(c.meta.service_model) for c in clients}) == 1
    # What is per client stays per client: its region, endpoint and events.
    assert [c.meta.region_name for c in clients] == ["us-east-1", "eu-west-1", "ap-northeast-1"]
    assert clients[0].meta.events is not clients[1].meta.events
    # And every one of them works: the shared class dispatches to the instance's endpoint.
    for client in clients:
        assert "logGroups" in client.describe_log_groups(limit=1)


def test_a_service_description_of_another_loader_gets_its_own_model_and_class(
    demo: Sandbox,
) -> None:
    first, second = _sessions(demo)
    shared = first.client("kms", "us-east-1")
    # A session whose loader is not the process's shared one (as a library user might make):
    # the description is another object, so nothing made of the shared one is reused for it.
    other_loader = botocore.loaders.create_loader()
    core = second._shared.boto._session
    core.register_component("data_loader", other_loader)
    second._shared.clients.clear()
    own = second.client("kms", "eu-west-1")
    assert own.meta.service_model is not shared.meta.service_model
    assert type(own) is not type(shared)
    assert own.list_keys(Limit=1)["Keys"] is not None
