"""The executor, its documentation and docs/executor-protocol.md describe the same contract.

Nothing can run ``licensing_batch.ps1`` here (no PowerShell), and ansible-test's
validate-modules needs pwsh to compare a PowerShell module's argument spec with its
documentation. This test does that comparison and more, statically:

* the literal tables at the top of the ``.ps1`` (operations and their keys, allow-lists,
  the ``Ansible.Basic`` argument spec) are read with the tree-sitter PowerShell grammar;
* the option documentation comes from the sidecar ``licensing_batch.yml``;
* the contract comes from ``docs/executor-protocol.md`` (its option table, the
  ``### `op``` sections with their ``Keys:`` lines, and the allow-list table).

When any of the three drifts, a test here fails and names the difference.
"""

from __future__ import annotations

import pathlib
import re
import typing as t

import pytest
import tree_sitter
import tree_sitter_powershell
import yaml

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _client

ROOT = pathlib.Path(__file__).resolve().parents[4]
PS1 = ROOT / "plugins" / "modules" / "licensing_batch.ps1"
DOC_YML = ROOT / "plugins" / "modules" / "licensing_batch.yml"
PROTOCOL = ROOT / "docs" / "executor-protocol.md"


# --- reading the literal tables of the .ps1 -------------------------------------------


class _NotLiteral(Exception):
    pass


_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def _text(source: bytes, node: tree_sitter.Node) -> str:
    return source[node.start_byte : node.end_byte].decode()


def _evaluate(source: bytes, node: tree_sitter.Node, env: dict[str, t.Any]) -> t.Any:
    """Value of a literal PowerShell expression: strings, ints, $true/$false/$null, @(...), @{...}, $Var."""
    named = [c for c in node.named_children if c.type != "comment"]
    if node.type == "string_literal":
        raw = _text(source, node)
        if raw.startswith("'"):
            return raw[1:-1].replace("''", "'")
        if raw.startswith('"') and "$" not in raw and "`" not in raw:
            return raw[1:-1]
        raise _NotLiteral(raw)
    if node.type == "integer_literal":
        return int(_text(source, node))
    if node.type == "variable":
        name = _text(source, node)[1:].lower()
        constants = {"true": True, "false": False, "null": None}
        if name in constants:
            return constants[name]
        if name in env:
            return env[name]
        raise _NotLiteral(name)
    if node.type == "array_expression":  # @( ... ) is always a list
        if not named:
            return []
        value = _evaluate(source, named[0], env)
        return value if isinstance(value, list) else [value]
    if node.type == "hash_literal_expression":
        result: dict[str, t.Any] = {}
        body = named[0] if named else None
        for entry in body.named_children if body is not None else []:
            if entry.type != "hash_entry":
                continue
            key_node, value_node = (c for c in entry.named_children if c.type != "comment")
            key = _text(source, key_node).strip()
            if key[:1] in {"'", '"'}:
                key = key[1:-1]
            result[key] = _evaluate(source, value_node, env)
        return result
    if node.type in {"array_literal_expression", "statement_list"} and len(named) > 1:
        return [_evaluate(source, c, env) for c in named]
    if len(named) == 1:  # the grammar wraps every expression in single-child precedence nodes
        return _evaluate(source, named[0], env)
    raise _NotLiteral(node.type)


def _top_level_literals(source: bytes) -> dict[str, t.Any]:
    """``$Name = <literal>`` statements at the top of the script, by lower-case variable name."""
    tree = _PARSER.parse(source)
    assert not tree.root_node.has_error, "the executor does not parse (see tools/check_powershell.py)"
    env: dict[str, t.Any] = {}
    statements = next(c for c in tree.root_node.named_children if c.type == "statement_list")
    for pipeline in statements.named_children:
        assign = pipeline.named_children[0] if pipeline.named_children else None
        if assign is None or assign.type != "assignment_expression":
            continue
        target, _operator, value = (c for c in assign.named_children if c.type != "comment")
        name = _text(source, target).strip()
        if not re.fullmatch(r"\$\w+", name):
            continue
        try:
            env[name[1:].lower()] = _evaluate(source, value, env)
        except _NotLiteral:
            continue
    return env


# --- reading docs/executor-protocol.md --------------------------------------------------


def _ticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def _protocol_sections(markdown: str) -> dict[str, str]:
    """``### `op``` heading -> body of that section."""
    parts = re.split(r"^### `(\w+)`\s*$", markdown, flags=re.M)
    return {parts[i]: re.split(r"^## ", parts[i + 1], flags=re.M)[0] for i in range(1, len(parts), 2)}


def _protocol_keys(section: str) -> tuple[set[str], set[str]]:
    """(all keys, keys marked ``(req``) from the section's ``Keys:`` paragraph."""
    match = re.search(r"^Keys:(.*?)(?=^\s*$|^\* |Result:)", section, flags=re.M | re.S)
    assert match, f"no Keys: paragraph in {section[:60]!r}"
    text = match.group(1)
    keys = {k for k in _ticked(text) if re.fullmatch(r"[a-z_]+", k)}
    required = set(re.findall(r"`([a-z_]+)` \(req", text))
    return keys, required


def _table_rows(markdown: str, heading: str) -> dict[str, str]:
    """First column (without backticks) -> the rest of the row, for the table under ``heading``."""
    body = markdown.split(heading, 1)[1]
    rows: dict[str, str] = {}
    for line in body.splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= {"-"} or cells[0] in {"option", "kind"}:
            continue
        rows[cells[0]] = " | ".join(cells[1:])
    return rows


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ps() -> dict[str, t.Any]:
    return _top_level_literals(PS1.read_bytes())


@pytest.fixture(scope="module")
def protocol() -> str:
    return PROTOCOL.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def allow(protocol: str) -> dict[str, list[str]]:
    return {k: _ticked(v) for k, v in _table_rows(protocol, "## Allow-list").items()}


@pytest.fixture(scope="module")
def doc_options() -> dict[str, dict[str, t.Any]]:
    return yaml.safe_load(DOC_YML.read_text(encoding="utf-8"))["DOCUMENTATION"]["options"]


def _folded(values: t.Iterable[str]) -> set[str]:
    # WMI class/method names are case-insensitive and so are PowerShell's -contains checks
    return {v.lower() for v in values}


# --- operations -----------------------------------------------------------------------------


def test_the_executor_tables_were_found(ps: dict[str, t.Any]) -> None:
    expected = {
        "spec",
        "ops",
        "readops",
        "namespaces",
        "queryclasses",
        "servicemethods",
        "productmethods",
        "invokemethods",
        "staticmethods",
        "singletonclasses",
        "deleteclasses",
        "keyproperty",
        "registryroots",
        "firewallrules",
        "firewallprefix",
        "services",
        "secretlists",
    }
    assert expected <= set(ps)


def test_operation_names_match(ps: dict[str, t.Any], protocol: str) -> None:
    assert set(ps["ops"]) == set(_protocol_sections(protocol))


def test_every_operation_has_a_handler() -> None:
    source = PS1.read_text(encoding="utf-8")
    handlers_block = source.split("$Handlers = @{", 1)[1].split("\n}\n", 1)[0]
    assert set(re.findall(r"^    (\w+) = \{$", handlers_block, flags=re.M)) == set(
        _top_level_literals(PS1.read_bytes())["ops"]
    )


@pytest.mark.parametrize("op", sorted(_protocol_sections(PROTOCOL.read_text(encoding="utf-8"))))
def test_operation_keys_match(op: str, ps: dict[str, t.Any], protocol: str) -> None:
    keys, required = _protocol_keys(_protocol_sections(protocol)[op])
    table = ps["ops"][op]
    assert set(table["req"]) | set(table["opt"]) == keys
    assert not set(table["req"]) & set(table["opt"])
    # keys the protocol marks (req) must be required by the executor; the executor may require more
    # where the protocol's wording leaves no sensible optional reading (reg_set's four keys)
    assert required <= set(table["req"])


def test_read_only_operations_match(ps: dict[str, t.Any], protocol: str) -> None:
    sentence = re.search(r"mutating\s+operation\s+\(everything\s+except\s+(.*?)\)", protocol, flags=re.S)
    assert sentence
    assert set(ps["readops"]) == set(_ticked(sentence.group(1)))


# --- allow-lists --------------------------------------------------------------------------------


def test_namespaces_match(ps: dict[str, t.Any], allow: dict[str, list[str]]) -> None:
    assert set(ps["namespaces"].values()) == set(allow["namespaces"])
    assert set(ps["namespaces"]) == _folded(allow["namespaces"])  # lookup keys are the lower-case spelling


def test_query_classes_match(ps: dict[str, t.Any], allow: dict[str, list[str]]) -> None:
    assert _folded(ps["queryclasses"]) == _folded(allow["query classes"])


@pytest.mark.parametrize(
    ("row", "classes"),
    [
        (
            "`SoftwareLicensingService` / `OfficeSoftwareProtectionService` methods",
            ["SoftwareLicensingService", "OfficeSoftwareProtectionService"],
        ),
        (
            "`SoftwareLicensingProduct` / `OfficeSoftwareProtectionProduct` methods",
            ["SoftwareLicensingProduct", "OfficeSoftwareProtectionProduct"],
        ),
        ("`MicrosoftDNS_SRVType` methods", ["MicrosoftDNS_SRVType"]),
    ],
)
def test_methods_match(
    row: str, classes: list[str], ps: dict[str, t.Any], allow: dict[str, list[str]]
) -> None:
    documented = [m for m in allow[row] if m != "cim_delete"]  # the DNS row also mentions cim_delete
    for cls in classes:
        assert _folded(ps["invokemethods"][cls]) == _folded(documented), cls


def test_invoke_classes_are_exactly_the_documented_ones(
    ps: dict[str, t.Any], allow: dict[str, list[str]]
) -> None:
    documented = {c for row in allow if row.endswith(" methods") for c in _ticked(row)}
    assert set(ps["invokemethods"]) == documented


def test_static_methods_match(ps: dict[str, t.Any], protocol: str) -> None:
    static = re.findall(r"`(\w+)` \(static\)", protocol)
    assert set(ps["staticmethods"]) == set(static)


def test_singleton_classes_match(ps: dict[str, t.Any], protocol: str) -> None:
    sentence = re.search(r"allowed only on the singleton service classes\s*\((.*?)\)", protocol, flags=re.S)
    assert sentence
    assert set(ps["singletonclasses"]) == set(_ticked(sentence.group(1)))


def test_invocation_key_properties_match(ps: dict[str, t.Any], protocol: str) -> None:
    sentence = re.search(
        r"`key` holds `(\w+)` for product classes, `(\w+)` for service\s+classes, `(\w+)`\s+for DNS", protocol
    )
    assert sentence
    product, service, dns = sentence.groups()
    assert ps["keyproperty"] == {
        "SoftwareLicensingProduct": product,
        "OfficeSoftwareProtectionProduct": product,
        "SoftwareLicensingService": service,
        "OfficeSoftwareProtectionService": service,
        "MicrosoftDNS_SRVType": dns,
    }


def test_delete_classes_match(ps: dict[str, t.Any], allow: dict[str, list[str]]) -> None:
    assert set(ps["deleteclasses"]) == set(allow["`cim_delete` classes"])


def test_registry_roots_match(ps: dict[str, t.Any], allow: dict[str, list[str]]) -> None:
    assert set(ps["registryroots"]) == set(allow["registry paths"])


def test_firewall_rules_match(ps: dict[str, t.Any], allow: dict[str, list[str]]) -> None:
    fixed, prefix = allow["firewall rules"]
    assert ps["firewallrules"] == [fixed]
    assert ps["firewallprefix"] == prefix


def test_services_match(ps: dict[str, t.Any], allow: dict[str, list[str]]) -> None:
    assert set(ps["services"]) == set(allow["services"])


# --- options: protocol table, Ansible.Basic spec, sidecar documentation --------------------------


def _protocol_options(protocol: str) -> dict[str, dict[str, t.Any]]:
    """The module options table, as argument-spec-like dicts."""
    options = {}
    for name, rest in _table_rows(protocol, "## Module options").items():
        kind = rest.split("|")[0]
        spec: dict[str, t.Any] = {"no_log": "`no_log`" in kind, "required": "required" in kind}
        if m := re.match(r"\s*list of (\w+)", kind):
            spec["type"], spec["elements"] = "list", m.group(1)
        else:
            spec["type"] = kind.split(",")[0].strip()
        if m := re.search(r"default `(\w+)`", kind):
            spec["default"] = yaml.safe_load(m.group(1))
        options[name.strip("`")] = spec
    return options


def _normalised(spec: dict[str, t.Any]) -> dict[str, t.Any]:
    return {
        "type": spec.get("type", "str"),
        "elements": spec.get("elements"),
        "required": bool(spec.get("required", False)),
        "default": spec.get("default"),
    }


def test_protocol_table_was_read(protocol: str) -> None:
    assert set(_protocol_options(protocol)) == {
        "operations",
        "product_keys",
        "confirmation_ids",
        "stop_on_error",
    }


def test_argument_spec_matches_protocol(ps: dict[str, t.Any], protocol: str) -> None:
    spec_options = ps["spec"]["options"]
    expected = _protocol_options(protocol)
    assert set(spec_options) == set(expected)
    for name, want in expected.items():
        assert _normalised(spec_options[name]) == _normalised(want), name
        assert bool(spec_options[name].get("no_log")) == want["no_log"], name


def test_secret_lists_are_the_no_log_options(ps: dict[str, t.Any]) -> None:
    no_log = {name for name, spec in ps["spec"]["options"].items() if spec.get("no_log")}
    assert set(ps["secretlists"]) == no_log == {"product_keys", "confirmation_ids"}


def test_documentation_matches_argument_spec(
    ps: dict[str, t.Any], doc_options: dict[str, dict[str, t.Any]]
) -> None:
    # what validate-modules would check if pwsh were available to dump the argument spec
    spec_options = ps["spec"]["options"]
    assert set(doc_options) == set(spec_options)
    for name, spec in spec_options.items():
        assert _normalised(doc_options[name]) == _normalised(spec), name


def test_check_mode_is_declared_and_documented(ps: dict[str, t.Any], protocol: str) -> None:
    # the protocol: the executor declares check-mode support and refuses mutating batches in it
    assert ps["spec"].get("supports_check_mode") is True
    doc = yaml.safe_load(DOC_YML.read_text(encoding="utf-8"))["DOCUMENTATION"]
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert "declares check-mode support (`supports_check_mode`)" in protocol
    source = PS1.read_text(encoding="utf-8")
    assert "if ($module.CheckMode)" in source and "runs in check mode" in source


def test_read_operations_are_the_same_everywhere(ps: dict[str, t.Any], protocol: str) -> None:
    # stop_on_error and check mode both turn on this list: the .ps1, the protocol and the engine agree
    listed = re.search(r"\* Read operations are (.*?)\.\n", protocol)
    assert listed is not None
    assert set(_ticked(listed.group(1))) == set(ps["readops"]) == set(_client.READ_OPS)


def test_documentation_is_marked_internal() -> None:
    doc = yaml.safe_load(DOC_YML.read_text(encoding="utf-8"))["DOCUMENTATION"]
    assert doc["short_description"].startswith("Internal:")
    assert "not meant to be called directly" in " ".join(doc["description"])


def test_secret_lists_are_masked_in_the_invocation() -> None:
    """Ansible.Basic masks a no_log option by its ToString(): for a list that is the type name,
    so the list items would come back in ``invocation.module_args``. The executor must overwrite
    the invocation copy of every secret list (Ansible.Basic.cs SetNoLogValues/RemoveNoLogValues)."""
    source = PS1.read_text(encoding="utf-8")
    assert "$SecretLists = @('product_keys', 'confirmation_ids')" in source
    loop = source.split("foreach ($name in $SecretLists) {", 1)[1].split("\n}\n", 1)[0]
    assert "$module.Result.invocation.module_args[$name] =" in loop
    assert "'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'" in loop
