#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: host_licensing runs entirely through its action plugin
# (plugins/action/host_licensing.py), which sends batches to the
# winops.volume_activation.licensing_batch executor. The suboptions of each part are those of
# the fine-grained module (tests/unit/plugins/modules/test_kms_docs.py checks both against the
# argument specs, which are shared).

DOCUMENTATION = r"""
---
module: host_licensing
short_description: Bring a Windows host's whole volume licensing state to what is desired, in one pass
version_added: 0.1.0
description:
  - Takes the whole desired licensing state of one host (product keys by product, KMS client settings,
    KMS host settings, the KMS firewall rule, activation), plans all of it from one read and applies it
    in one batch with a read-back.
  - Each part is planned and reported by the same code as its fine-grained module
    (M(winops.volume_activation.product_key), M(winops.volume_activation.kms_client),
    M(winops.volume_activation.kms_host), M(winops.volume_activation.kms_firewall),
    M(winops.volume_activation.activation)); its result under its option's name (a list for
    O(product_keys) and O(kms_client)) is what that module returns, with C(changed), C(changes),
    C(diff), C(failed) and C(msg).
  - Also returns the licensing state read back, as M(winops.volume_activation.license_info) returns it
    (default options), under RV(license_info), so that a report needs no read of its own.
  - 'Round trips: one when nothing is to be done; two when only the product keys, or only the settings and
    the activation, change; three when keys are installed and then settings or activation follow (the
    product a key lands on is known from the read-back only).'
  - The parts are applied in this order, keys first, then the KMS host settings, the firewall rule, the KMS
    client settings and the activation. A part that fails stops the parts after it (they are reported with
    C(skipped) and a C(msg)), as a failed task stops a role; within a part, the operations go on after a
    failure where the fine-grained module goes on.
  - Every option of every part is checked before the host is contacted; O(validate_only) checks them
    without contacting it at all.
options:
  activation:
    description:
    - The activation of the host, with the options of M(winops.volume_activation.activation).
    - Planned after the product keys are installed (on the state read back after installing them), in the same batch
      as the KMS host, firewall and KMS client settings, after them.
    - 'The threshold wait belongs to the caller: the result''s C(activation.summary.waiting_for_threshold) says which
      products wait for their KMS host''s threshold.'
    type: dict
    version_added: 0.1.0
    suboptions:
      activation_ids:
        description:
        - Activate only the products with these activation IDs (the C(ID) that C(slmgr.vbs /dlv all) shows), of any
          channel. Each must exist and hold a key.
        - Mutually exclusive with O(activation.product).
        type: list
        elements: str
        default: []
        version_added: 0.1.0
      confirmation_ids:
        description:
        - For O(activation.method=offline), the confirmation ID for each product, by activation ID. Digits, optionally
          in groups separated by spaces or hyphens. Never shown.
        - The products named here are activated; they must be in O(activation.activation_ids) when that is given.
        type: dict
        default: {}
        version_added: 0.1.0
      fail_below_threshold:
        description:
        - Fail the task when a KMS client is waiting for its host to count enough clients (0xC004F038) instead of
          reporting V(waiting_for_threshold).
        type: bool
        default: false
        version_added: 0.1.0
      force:
        description:
        - Activate products that are already licensed, too. For a MAK or a KMS host key this may use one of the key's
          activations.
        type: bool
        default: false
        version_added: 0.1.0
      method:
        description:
        - V(online) activates through KMS for a KMS client and through Microsoft's activation service for a MAK, a
          KMS host key or a retail key.
        - V(offline) is phone activation of MAK, KMS host and retail keys. Without O(activation.confirmation_ids)
          it only returns the installation IDs (C(slmgr.vbs /dti)); with them it deposits the confirmation IDs (C(slmgr.vbs
          /atp)). KMS clients are skipped (named ones are refused), because they activate against a KMS host only.
        type: str
        choices:
        - offline
        - online
        default: online
        version_added: 0.1.0
      product:
        description:
        - Which products to activate when O(activation.activation_ids) is not given, V(all) (default) of Windows and
          Office, V(windows), V(office) (every Office version) or one Office version.
        - Only products with a key of a volume channel (KMS client, MAK, KMS host) are chosen this way.
        - Mutually exclusive with O(activation.activation_ids).
        type: str
        choices:
        - all
        - office
        - office2010
        - office2013
        - office2016
        - office2019
        - office2021
        - office2024
        - windows
        version_added: 0.1.0
  kms_client:
    description:
    - KMS client settings, one entry per product family (or set of activation IDs), each with the options of M(winops.volume_activation.kms_client).
    - Planned on the state after the product keys (a product's own settings need its key).
    type: list
    elements: dict
    default: []
    version_added: 0.1.0
    suboptions:
      activation_ids:
        description:
        - Configure only the licensing products with these activation IDs (the C(ID) of the product, as C(slmgr.vbs
          /dlv all) shows it), Windows or Office, in whichever platform they are.
        - Mutually exclusive with O(kms_client[].product).
        type: list
        elements: str
        version_added: 0.1.0
      activation_type:
        description:
        - The volume activation types the products may use (C(slmgr.vbs /act-type), C(ospp.vbs /actype)).
        - V(all) clears the restriction (Windows' default); V(ad) allows Active Directory-based activation only, V(kms)
          KMS only, V(token) token-based activation only.
        - Windows 8 / Windows Server 2012 and later only; V(ad), V(kms) and V(token) are refused on Windows 7 and
          for Office 2010, where V(all) is what the host already does.
        type: str
        choices:
        - ad
        - all
        - kms
        - token
        version_added: 0.1.0
      host_caching:
        description:
        - Whether the client keeps using the KMS host it last reached instead of asking DNS again (C(slmgr.vbs /skhc)
          for V(true), C(/ckhc) for V(false), C(ospp.vbs /cachst)). Windows' default is V(true); turn it off when
          the SRV records carry priority and weight.
        - A setting of the licensing service, not of a product. On Windows 8 and later Office 2013+ shares it with
          Windows (C(ospp.vbs /cachst) changes the Windows setting there too).
        type: bool
        version_added: 0.1.0
      kms_host:
        description:
        - The KMS host to use, which turns DNS discovery off for the products configured.
        - A host name (V(kms01.example.com)), an IPv4 address, or an IPv6 address in brackets (V([fd00::10])), optionally
          followed by V(:port) (V(kms01.example.com:1689), V([fd00::10]:1689)).
        - Without a port, the port is cleared, so that the default 1688 is used, as C(slmgr.vbs /skms) does.
        - Not allowed with O(kms_client[].state=absent).
        type: str
        version_added: 0.1.0
      kms_port:
        description:
        - The port of O(kms_client[].kms_host), when it is not written in O(kms_client[].kms_host) itself.
        - Needs O(kms_client[].kms_host); must agree with a port written there.
        type: int
        version_added: 0.1.0
      lookup_domain:
        description:
        - The DNS domain searched for C(_vlmcs._tcp) SRV records instead of the client's own (C(slmgr.vbs /skms-domain),
          C(ospp.vbs /skms-domain)). An empty string clears it (C(/ckms-domain)).
        - A KMS host set with O(kms_client[].kms_host) takes precedence over it.
        - Windows 8 / Windows Server 2012 and later only; a domain is refused on Windows 7 and for Office 2010, where
          an empty string is what the host already has.
        type: str
        version_added: 0.1.0
      product:
        description:
        - The product family to configure, V(windows), V(office) (Office 2013 and later) or V(office2010).
        - V(windows) when neither this nor O(kms_client[].activation_ids) is given.
        - Mutually exclusive with O(kms_client[].activation_ids).
        type: str
        choices:
        - office
        - office2010
        - windows
        version_added: 0.1.0
      state:
        description:
        - V(present) sets what is given.
        - V(absent) clears the KMS host and port (C(slmgr.vbs /ckms), C(ospp.vbs /remhst)), so that the client finds
          its host through DNS again. The other options still apply.
        type: str
        choices:
        - absent
        - present
        default: present
        version_added: 0.1.0
  kms_firewall:
    description:
    - The firewall rule for the KMS port, with the options of M(winops.volume_activation.kms_firewall).
    - Without O(kms_firewall.port), the port O(kms_host.port) sets when given, else the port the host is configured
      with.
    type: dict
    version_added: 0.1.0
    suboptions:
      port:
        description:
        - The TCP port of the KMS host.
        - By default the port the KMS host is configured to listen on (C(KeyManagementServiceListeningPort), read
          in the same round trip, see M(winops.volume_activation.kms_host)), which is 1688 unless it was changed.
        type: int
        version_added: 0.1.0
      profiles:
        description:
        - The firewall profiles in which the rule applies.
        - V(Any) or all three profiles apply it everywhere.
        type: list
        elements: str
        choices:
        - Any
        - Domain
        - Private
        - Public
        default:
        - Domain
        - Private
        version_added: 0.1.0
      remote_addresses:
        description:
        - Who may connect, as C(Set-NetFirewallRule -RemoteAddress) takes it.
        - IPv4 or IPv6 addresses (V(10.1.2.3), V(fd00::10)), subnets (V(10.20.0.0/16), V(10.20.0.0/255.255.0.0), V(fd00::/64)),
          ranges (V(10.20.0.1-10.20.0.99)), or the keywords V(LocalSubnet), V(DNS), V(DHCP), V(WINS), V(DefaultGateway),
          V(Intranet), V(RmtIntranet), V(Internet), V(Ply2Renders), V(PlayToDevice), or V(Any).
        - V(Any) and V(Internet) let anyone reach the KMS host and be counted by it; the module warns.
        type: list
        elements: str
        default:
        - LocalSubnet
        version_added: 0.1.0
      state:
        description:
        - V(present) opens the port to O(kms_firewall.remote_addresses) in O(kms_firewall.profiles).
        - V(absent) closes it.
        type: str
        choices:
        - absent
        - present
        default: present
        version_added: 0.1.0
  kms_host:
    description:
    - The KMS host settings, with the options of M(winops.volume_activation.kms_host).
    - Planned on the state after the product keys, so that a KMS host key installed by O(product_keys) in the same
      task makes the host a KMS host first.
    type: dict
    version_added: 0.1.0
    suboptions:
      activation_interval:
        description:
        - Minutes between the activation attempts of clients that are not activated yet (C(slmgr.vbs /sai)), given
          to clients in the host's answers. Windows' default is 120.
        - From 15 to 43200 (30 days).
        type: int
        version_added: 0.1.0
      dns_publishing:
        description:
        - Whether the host registers its C(_vlmcs._tcp) SRV record by dynamic DNS update every 24 hours (C(slmgr.vbs
          /sdns) for V(true), C(/cdns) for V(false)). Windows' default is V(true).
        - Turn it off when the DNS zone does not accept dynamic updates and the records are managed by hand.
        type: bool
        version_added: 0.1.0
      host_caching:
        description:
        - Whether this machine, as a KMS client, keeps using the KMS host it last reached instead of asking DNS again
          (C(slmgr.vbs /skhc) for V(true), C(/ckhc) for V(false)). Windows' default is V(true). Microsoft recommends
          turning it off when SRV priority and weight are used.
        - The same setting as O(winops.volume_activation.kms_client#module:host_caching) for Windows.
        type: bool
        version_added: 0.1.0
      low_priority:
        description:
        - Whether the Key Management Service runs at low priority on a busy server (C(slmgr.vbs /spri) for V(false),
          C(/cpri) for V(true)). Windows' default is V(false).
        type: bool
        version_added: 0.1.0
      port:
        description:
        - The TCP port the host listens on (C(slmgr.vbs /sprt)). Windows' default is 1688.
        - Open the port with M(winops.volume_activation.kms_firewall); clients that find the host through DNS learn
          the port from the SRV record, others need it with O(winops.volume_activation.kms_client#module:kms_host).
        type: int
        aliases:
        - listening_port
        version_added: 0.1.0
      publish_domains:
        description:
        - The DNS domains, besides the host's own, in which the host publishes its SRV record, with the record's priority
          and weight (registry value C(DnsDomainPublishList), one line C(domain, priority, weight) per domain).
        - An empty list removes the value, so that the host publishes in its own domain only.
        - Clients honour priority and weight only with host caching turned off.
        - Takes effect only with DNS publishing on.
        type: list
        elements: dict
        version_added: 0.1.0
        suboptions:
          domain:
            description:
            - The DNS domain, for example V(branch.example.com).
            type: str
            required: true
            version_added: 0.1.0
          priority:
            description:
            - The SRV priority, 0 to 65535; lower is tried first.
            type: int
            default: 0
            version_added: 0.1.0
          weight:
            description:
            - The SRV weight, 0 to 65535, among the records of one priority.
            type: int
            default: 0
            version_added: 0.1.0
      renewal_interval:
        description:
        - Minutes between the renewals of activated clients (C(slmgr.vbs /sri)). Windows' default is 10080 (7 days).
        - From 15 to 43200 (30 days).
        type: int
        version_added: 0.1.0
      republish:
        description:
        - Restart the Software Protection service (C(sppsvc)) even when no setting changed, so that a KMS host with DNS
          publishing on publishes its C(_vlmcs._tcp) SRV record again now. Windows publishes it when the service starts
          and every 24 hours after; use this after a DNS outage or refused dynamic updates left the zone without the record.
        - Costs the restart only; nothing is restarted in check mode.
        type: bool
        default: false
        version_added: 0.1.0
      restart_service:
        description:
        - Restart the Software Protection service (C(sppsvc)) in the same round trip when a setting that the KMS host
          reads at start changed.
        - With V(false) the settings are stored and C(restart_required) is V(true); the host applies them at its next
          restart.
        type: bool
        default: true
        version_added: 0.1.0
  product_keys:
    description:
    - Product keys to install or remove, one entry per key (or per O(product_keys[].gvlk=auto) request), each with
      the options of M(winops.volume_activation.product_key).
    - Planned on the first read and sent first, in one batch; everything else is planned on the state read back after
      them.
    type: list
    elements: dict
    default: []
    version_added: 0.1.0
    suboptions:
      activation_id:
        description:
        - The product the key is for or whose key is removed, by its activation ID (the C(ID) that C(slmgr.vbs /dlv
          all) shows).
        - Mutually exclusive with O(product_keys[].product).
        type: str
        version_added: 0.1.0
      allow_unpublished_gvlk:
        description:
        - With O(product_keys[].key_type=kms_client), install a O(product_keys[].key) that is not one of the KMS client
          setup keys (GVLKs) Microsoft publishes for the product, as the collection's tables list them (a GVLK published
          after this release).
        - Without it such a key is refused before anything is installed - a MAK or a KMS host key given as a client key
          would otherwise be installed and then activated, consuming an activation of that key.
        type: bool
        default: false
        version_added: 0.1.0
      gvlk:
        description:
        - Install a public KMS client setup key instead of O(product_keys[].key).
        - V(auto) chooses it for what is installed, for the products O(product_keys[].product) selects (default V(all)),
          Windows from the release (OS version) and the edition in the Windows product name, each Office product with
          a key from its name. Retail media, an edition without a published key and an Office product the tables do
          not list fail with what was found. A product already on its GVLK is left alone, one activated with a MAK
          is left alone with a warning unless O(product_keys[].replace_mak=true).
        - Any other value names a row of Microsoft's tables, for example V(Windows Server 2022 Standard) or V(Office
          LTSC Professional Plus 2021).
        - Mutually exclusive with O(product_keys[].key); only with O(product_keys[].state=present).
        type: str
        version_added: 0.1.0
      key:
        description:
        - The product key, five groups of five characters. It is never shown; results, diffs, logs and errors show
          it as C(XXXXX-XXXXX-XXXXX-XXXXX-) followed by its last five characters.
        - Needs O(product_keys[].key_type) unless it is a public KMS client setup key, and O(product_keys[].product)
          or O(product_keys[].activation_id) unless the public tables tell the product.
        - With O(product_keys[].state=absent), the key whose last five characters select the product to clear.
        type: str
        aliases:
        - product_key
        version_added: 0.1.0
      key_type:
        description:
        - What the key is. A KMS host key (CSVLK), a MAK or a retail key cannot be told apart without Microsoft's
          key configuration, so the module takes it from here and checks what it can against the host.
        - V(kms_host) is a KMS host key (CSVLK), V(kms_client) a KMS client setup key (GVLK, recognised from the public
          tables when omitted), V(mak) a Multiple Activation Key, V(retail) a retail key.
        - With O(product_keys[].state=absent), only a key of this kind is removed.
        type: str
        choices:
        - kms_client
        - kms_host
        - mak
        - retail
        version_added: 0.1.0
      product:
        description:
        - The product the key is for. V(windows) installs through the Software Licensing Service. An Office version
          installs through the Office Software Protection Platform for Office 2010 on every Windows and for Office
          2013 and later on Windows 7 / Windows Server 2008 R2, through the Software Licensing Service otherwise;
          an Office KMS host key (O(product_keys[].key_type=kms_host)) always goes to the Software Licensing Service,
          where the Office KMS host license pack lives.
        - V(all) and V(office) (every Office version found) only with O(product_keys[].gvlk=auto).
        - Mutually exclusive with O(product_keys[].activation_id).
        type: str
        choices:
        - all
        - office
        - windows
        - office2010
        - office2013
        - office2016
        - office2019
        - office2021
        - office2024
        version_added: 0.1.0
      replace_mak:
        description:
        - Allow a KMS client setup key to replace the key of a product that is activated with a MAK, which switches
          it to KMS activation. Without it, O(product_keys[].gvlk=auto) leaves such a product alone with a warning
          and an explicit GVLK is refused.
        type: bool
        default: false
        version_added: 0.1.0
      state:
        description:
        - V(present) installs the key.
        - V(absent) removes the key of the products named by O(product_keys[].activation_id), O(product_keys[].product),
          O(product_keys[].key) and O(product_keys[].key_type) together, never every key (unlike C(slmgr.vbs /upk)
          without an activation ID). When several products of O(product_keys[].product) hold a key, name the one to
          remove with O(product_keys[].key) or O(product_keys[].activation_id).
        type: str
        choices:
        - absent
        - present
        default: present
        version_added: 0.1.0
  validate_only:
    description:
    - 'Check every option (key format, key types, host names, ports, intervals, addresses...) and stop: nothing is
      read or changed, the host is not contacted.'
    - 'Runs on the controller with C(delegate_to: localhost), for a role''s one-time validation of every host''s variables
      before the first change.'
    type: bool
    default: false
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details:
      - Reads the host once and reports what every part would change; nothing is changed.
      - The parts after the product keys are planned on the state before the keys, since the keys are not
        installed in check mode.
  diff_mode:
    details: A list with one diff per part, headed by the part (C(product_keys[0]), C(kms_host), ...).
notes:
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target.
  - O(validate_only) runs entirely in the action plugin; use it with C(delegate_to=localhost) and
    C(run_once) to validate a fleet's variables before the first change.
  - The threshold wait of KMS clients (C(0xC004F038)) is left to the caller, once for the fleet;
    C(activation.summary.waiting_for_threshold) counts the products waiting.
  - Product keys and confirmation IDs never appear in results, diffs or errors; keys are shown masked
    (C(XXXXX-XXXXX-XXXXX-XXXXX-3V66T)).
seealso:
  - module: winops.volume_activation.product_key
  - module: winops.volume_activation.kms_client
  - module: winops.volume_activation.kms_host
  - module: winops.volume_activation.kms_firewall
  - module: winops.volume_activation.activation
  - module: winops.volume_activation.license_info
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: A KMS client, converged in one pass (one round trip when nothing is to be done)
  winops.volume_activation.host_licensing:
    product_keys:
      - gvlk: auto
        product: all
    kms_client:
      - product: windows
        kms_host: kms01.example.com
    activation:
      product: all
  register: volume_activation_host_result

- name: A KMS host with its host key, settings, firewall rule and activation
  winops.volume_activation.host_licensing:
    product_keys:
      - key: "{{ vault_kms_host_key }}"
        key_type: kms_host
        product: windows
    kms_host:
      port: 1688
      dns_publishing: true
    kms_firewall:
      remote_addresses: [LocalSubnet]
    activation:
      product: windows
  register: volume_activation_host_result

- name: Check every host's settings on the controller before anything changes
  winops.volume_activation.host_licensing:
    kms_client:
      - product: windows
        kms_host: "{{ hostvars[item].kms_host_name }}"
    validate_only: true
  loop: "{{ ansible_play_hosts }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
activation:
  description:
    - The result of the activation part, as M(winops.volume_activation.activation) returns it (C(products),
      C(summary), C(changed), C(changes), C(failed), C(msg)).
    - C(skipped) with a C(msg) when a part before it failed.
  returned: when O(activation) is given and O(validate_only) is false
  version_added: 0.1.0
  type: dict
  sample:
    changed: true
    products: [{name: "Windows(R), Enterprise edition", family: windows, outcome: activated,
                license_status: licensed, message: "Windows(R), Enterprise edition: activated by kms01:1688"}]
    summary: {activated: 1, waiting_for_threshold: 0}
changes:
  description: What was done (or would be done in check mode), one sentence per operation, prefixed by the part.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["product_keys[0]: install product key 'XXXXX-XXXXX-XXXXX-XXXXX-T83GX' on 'Windows(R), Enterprise edition'"]
kms_client:
  description: The result of each O(kms_client) entry, as M(winops.volume_activation.kms_client) returns it.
  returned: when O(validate_only) is false
  version_added: 0.1.0
  type: list
  elements: dict
  sample:
    - {changed: false, product: windows, platform: spp, host_caching: true,
       targets: [{target: service, class: SoftwareLicensingService, kms_host: kms01.example.com, kms_port: 1688}]}
kms_firewall:
  description: The result of the firewall part, as M(winops.volume_activation.kms_firewall) returns it.
  returned: when O(kms_firewall) is given and O(validate_only) is false
  version_added: 0.1.0
  type: dict
  sample: {changed: false, port: 1688, port_source: option, rule_name: SPPSVC-In-TCP}
kms_host:
  description: The result of the KMS host part, as M(winops.volume_activation.kms_host) returns it.
  returned: when O(kms_host) is given and O(validate_only) is false
  version_added: 0.1.0
  type: dict
  sample: {changed: false, current_count: 50, required_count: 5, restarted: false, changed_settings: []}
license_info:
  description:
    - The licensing state of the host after the task (read back after the last change, or the one read when
      nothing changed; in check mode, the state before), as M(winops.volume_activation.license_info) returns
      it with its default options.
    - Null when that read failed.
  returned: when O(validate_only) is false
  version_added: 0.1.0
  type: dict
  contains:
    os:
      description: The operating system, as RV(winops.volume_activation.license_info#module:os).
      type: dict
      sample: {caption: Microsoft Windows 11 Enterprise, build_number: "22631"}
    service:
      description: The Software Licensing Service, as RV(winops.volume_activation.license_info#module:service).
      type: dict
      sample: {version: 10.0.22631.1, kms_host: kms01.example.com}
    ospp_service:
      description: The Office Software Protection Platform service, null when absent.
      type: dict
      sample: null
    products:
      description: The products with a key, as RV(winops.volume_activation.license_info#module:products).
      type: list
      sample: [{name: "Windows(R), Enterprise edition", license_status: licensed, partial_product_key: 3V66T}]
    summary:
      description: The summary, as RV(winops.volume_activation.license_info#module:summary).
      type: dict
      sample: {activated: 1, products: 1}
product_keys:
  description: The result of each O(product_keys) entry, as M(winops.volume_activation.product_key) returns it.
  returned: when O(validate_only) is false
  version_added: 0.1.0
  type: list
  elements: dict
  sample:
    - {changed: false, key_type: kms_client, targets: [{product: windows, action: none}]}
round_trips:
  description: How many times the licensing executor ran on the host (1 when nothing changed, 2 or 3 after a change, 0 with O(validate_only)).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 1
validated:
  description: With O(validate_only), the parts whose options were checked.
  returned: when O(validate_only) is true and the options are valid
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["product_keys[0]", "kms_client[0]", activation]
"""
