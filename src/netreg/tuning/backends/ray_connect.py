"""Joining a Ray cluster without hanging: the address is probed first, and every way joining fails
is one :class:`~netreg.exceptions.ClusterError` that says what to do (loopback: ``docs/ray.md``)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from netreg.exceptions import ClusterError

__all__ = ["LOOPBACK_SWITCH", "join", "probe", "split_address"]

#: Ray's environment variable that keeps loopback addresses as they are (0: keep them).
LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_NAMED = {"auto", "local"}


def split_address(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of an address such as ``"HEAD:6379"``, ``"[::1]:6379"`` or
    ``"ray://HEAD:10001"``; None for ``"auto"``, ``"local"`` or anything without a port.

    Examples
    --------
    >>> split_address("head:6379"), split_address("ray://10.0.0.1:10001"), split_address("[::1]:6379")
    (('head', 6379), ('10.0.0.1', 10001), ('::1', 6379))
    >>> split_address("auto") is None and split_address("head") is None
    True
    """
    if address in _NAMED:
        return None
    rest = address.split("://", 1)[-1]
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine's loopback interface.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("10.0.0.1")
    (True, True, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def probe(host: str, port: int, timeout_s: float) -> str | None:
    """None if something accepts a TCP connection at ``host:port`` within ``timeout_s``, else why not.

    Examples
    --------
    >>> with socket.socket() as server:
    ...     server.bind(("127.0.0.1", 0))
    ...     server.listen()
    ...     probe("127.0.0.1", server.getsockname()[1], 1.0) is None
    True
    """
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except TimeoutError:
        return "no answer"
    except OSError as error:
        return error.strerror or type(error).__name__


def join(ray: Any, address: str, *, node_ip_address: str | None, timeout_s: float) -> None:
    """``ray.init`` for ``address``, after checking that it can answer.

    Raises
    ------
    ClusterError
        If nothing answers at ``address`` within ``timeout_s`` (nor, for a loopback ``address``, at
        the network address Ray would use instead), or if ``ray.init`` fails to connect.
    """
    target = split_address(address)
    if target is not None:
        host, port = target
        reason = probe(host, port, timeout_s)
        if reason is not None:
            raise ClusterError(
                f"Nothing answers at the Ray cluster address {address!r} ({reason}, waited up to {timeout_s:g} s); "
                "expected the address `ray start --head` printed, such as 'HEAD:6379'. Is the cluster running?"
            )
        if is_loopback(host) and node_ip_address is None:
            rewritten = ray.util.get_node_ip_address()
            if not is_loopback(rewritten) and probe(rewritten, port, timeout_s) is not None:
                raise ClusterError(
                    f"The Ray cluster at {address!r} listens on the loopback address only, and Ray connects to this "
                    f"machine's network address ({rewritten}:{port}) in its place, where nothing answers. For a "
                    f"cluster on one machine, set {LOOPBACK_SWITCH}=0 in the environment of every Ray process (ray "
                    "start and this one) and pass `node_ip_address='127.0.0.1'`; or start the cluster on the "
                    "network address and use that."
                )
    options: dict[str, Any] = {"address": address}
    if node_ip_address is not None:
        options["_node_ip_address"] = node_ip_address  # the driver's node, as `ray start --node-ip-address`
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as error:
        raise ClusterError(
            f"Could not join the Ray cluster at {address!r}: {type(error).__name__}: {error} "
            "Check the address and, on a machine with several network addresses, pass the node's own "
            "(`node_ip_address`, as given to `ray start --node-ip-address`)."
        ) from error
