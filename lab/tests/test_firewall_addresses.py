"""RemoteAddress values as Set-NetFirewallRule takes them (issue 11 item 10).

Source: Microsoft's cmdlet reference, MicrosoftDocs/windows-powershell-docs
docset/winserver2022-ps/netsecurity/Set-NetFirewallRule.md, "-RemoteAddress": addresses, subnets
(prefix or IPv4 mask), ranges, and the keywords Any, LocalSubnet, DNS, DHCP, WINS, DefaultGateway,
Internet, Intranet, IntranetRemoteAccess, PlayToDevice, each optionally ending in 4 or 6.
"""

from __future__ import annotations

import pytest

from winlab.models.firewall import address_matches, validate_addresses


@pytest.mark.parametrize(("given", "kept"), [
    ("Internet", "Internet"), ("internet", "Internet"), ("Intranet", "Intranet"),
    ("IntranetRemoteAccess", "IntranetRemoteAccess"), ("PlayToDevice", "PlayToDevice"), ("DNS", "DNS"),
    ("dhcp", "DHCP"), ("WINS", "WINS"), ("DefaultGateway", "DefaultGateway"), ("LocalSubnet4", "LocalSubnet4"),
    ("Internet6", "Internet6"), ("fd00::/64", "fd00::/64"), ("10.0.0.0/255.0.0.0", "10.0.0.0/255.0.0.0"),
    ("fe80::1-fe80::9", "fe80::1-fe80::9"), ("2001:db8::1", "2001:db8::1"),
])
def test_documented_remote_addresses_are_accepted(given: str, kept: str) -> None:
    assert validate_addresses([given]) == [kept]


@pytest.mark.parametrize("bad", ["Everyone", "LocalSubnet5", "10.0.0.0/33", "300.1.1.1", "10.0.0.1-fe80::1",
                                 "RmtIntranet"])
def test_other_values_are_refused_naming_them(bad: str) -> None:
    with pytest.raises(ValueError, match=f"'{bad}'"):
        validate_addresses([bad])


@pytest.mark.parametrize(("spec", "matches"), [
    ("LocalSubnet", True), ("Intranet", True), ("LocalSubnet4", True), ("LocalSubnet6", False),
    ("Internet", False), ("DNS", False), ("127.0.0.0/255.0.0.0", True), ("127.0.20.1-127.0.20.20", True),
    ("fd00::/8", False), ("Any", True),
])
def test_what_a_lab_peer_matches(spec: str, matches: bool) -> None:
    """Every lab peer is on the loopback subnet: local and intranet, never the internet."""
    assert address_matches(spec, "127.0.20.11") is matches
