"""Sockets and threads only: the lab's listeners (WinRM over HTTP and HTTPS, and more to come).

The framing and semantics they serve live in ``winlab.protocols``.
"""
