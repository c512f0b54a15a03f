"""Wire formats the lab speaks, without sockets.

- ``wsman``: WS-Management SOAP envelopes and WinRS shell/command semantics (MS-WSMV).
- ``ntlm_http``: HTTP framing, Basic/NTLM authentication and MS-WSMV 2.2.9.1.1 sealing.
- ``ansible_payload``: what ansible-core sends to a Windows host, decoded into a ``ModuleCall``.
"""
