"""Joining a Ray cluster: probed first, a loopback address Ray would move refused at once, every
failure a ClusterError. No cluster is needed: Ray is a stand-in object here."""

from __future__ import annotations

import socket
import types

import pytest

from netreg.exceptions import ClusterError, InvalidParameterError
from netreg.tuning.backends import RayBackend
from netreg.tuning.backends.ray_connect import is_loopback, join, probe, split_address


class FakeRay:
    """What ``join`` uses of Ray: ``util.get_node_ip_address`` and ``init``."""

    def __init__(self, node_ip="127.0.0.1", fail=None):
        self.util = types.SimpleNamespace(get_node_ip_address=lambda: node_ip)
        self.fail, self.calls = fail, []

    def init(self, **options):
        self.calls.append(options)
        if self.fail is not None:
            raise self.fail


@pytest.fixture()
def listening():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def _closed_port():
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


@pytest.mark.parametrize(
    "address, parts",
    [
        ("head:6379", ("head", 6379)),
        ("10.0.0.1:6379", ("10.0.0.1", 6379)),
        ("[::1]:6379", ("::1", 6379)),
        ("ray://head:10001", ("head", 10001)),
        ("auto", None),
        ("local", None),
        ("head", None),
        ("head:port", None),
    ],
)
def test_addresses_are_split_into_host_and_port(address, parts):
    assert split_address(address) == parts


def test_loopback_hosts():
    assert [is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "LocalHost", "10.0.0.1", "head")] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_an_address_where_nothing_answers_is_refused_before_ray_is_asked(refused):
    port = _closed_port()
    ray = FakeRay()
    with refused(
        f"Nothing answers at the Ray cluster address '127.0.0.1:{port}' (Connection refused, waited up to 2 s); "
        "expected the address `ray start --head` printed, such as 'HEAD:6379'. Is the cluster running?",
        ClusterError,
    ):
        join(ray, f"127.0.0.1:{port}", node_ip_address=None, timeout_s=2)
    assert ray.calls == [] and probe("127.0.0.1", port, 1.0) == "Connection refused"


def test_a_loopback_cluster_that_ray_would_look_for_elsewhere_is_refused_at_once(refused, listening):
    # The cluster listens on 127.0.0.1 only; Ray takes this machine to be a network address
    # (a documentation address here, where nothing answers) and would look for it there.
    ray = FakeRay(node_ip="198.51.100.1")
    with refused(
        f"The Ray cluster at '127.0.0.1:{listening}' listens on the loopback address only, and Ray connects to this "
        f"machine's network address (198.51.100.1:{listening}) in its place, where nothing answers. For a cluster on "
        "one machine, set RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 in the environment of every Ray process (ray start and "
        "this one) and pass `node_ip_address='127.0.0.1'`; or start the cluster on the network address and use that.",
        ClusterError,
    ):
        join(ray, f"127.0.0.1:{listening}", node_ip_address=None, timeout_s=0.5)
    assert ray.calls == []


def test_a_reachable_cluster_is_joined_with_the_node_address_given(listening):
    ray = FakeRay()
    join(ray, f"127.0.0.1:{listening}", node_ip_address="127.0.0.1", timeout_s=2)
    join(ray, "local", node_ip_address=None, timeout_s=2)
    assert ray.calls == [
        {"address": f"127.0.0.1:{listening}", "_node_ip_address": "127.0.0.1"},
        {"address": "local"},
    ]


def test_ray_giving_up_is_a_cluster_error(refused, listening):
    ray = FakeRay(fail=ConnectionError("Failed to connect to GCS"))
    with refused(
        f"Could not join the Ray cluster at '127.0.0.1:{listening}': ConnectionError: Failed to connect to GCS "
        "Check the address and, on a machine with several network addresses, pass the node's own "
        "(`node_ip_address`, as given to `ray start --node-ip-address`).",
        ClusterError,
    ) as caught:
        join(ray, f"127.0.0.1:{listening}", node_ip_address=None, timeout_s=2)
    assert isinstance(caught.value.__cause__, ConnectionError)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"node_ip_address": 10},
            "`node_ip_address` must be None or an address such as '10.0.0.5'. Got node_ip_address=10.",
        ),
        ({"connect_timeout_s": 0}, "`connect_timeout_s` must be a finite float > 0. Got connect_timeout_s=0."),
    ],
)
def test_the_new_parameters_are_checked(refused, kwargs, message):
    with refused(message, InvalidParameterError):
        RayBackend(**kwargs)._check_params()
    assert "connect_timeout_s" in repr(RayBackend(connect_timeout_s=2.0))
