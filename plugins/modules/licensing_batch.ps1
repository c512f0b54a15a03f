#!powershell

# Copyright: (c) 2026, winops volume activation team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# The collection's only target-side code. It executes a batch of allow-listed operations
# and returns one result per operation; every decision is taken by the Python action
# plugins. Contract: docs/executor-protocol.md. tests/unit/plugins/modules/
# test_licensing_batch_contract.py fails when the tables below drift from that contract.

$spec = @{
    options = @{
        operations = @{ type = 'list'; elements = 'dict'; required = $true }
        product_keys = @{ type = 'list'; elements = 'str'; no_log = $true }
        confirmation_ids = @{ type = 'list'; elements = 'str'; no_log = $true }
        stop_on_error = @{ type = 'bool'; default = $true }
    }
    # Check mode: a batch of read operations runs; a batch with any mutating operation is
    # refused before anything runs (the action plugins never send one in check mode).
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$ErrorActionPreference = 'Stop'

# --- Contract tables -----------------------------------------------------------------
# op -> keys it requires / may carry; any other key fails validation (a typo is never ignored).
$Ops = @{
    cim_query = @{ req = @('class'); opt = @('namespace', 'filter', 'properties', 'optional_properties') }
    cim_invoke = @{ req = @('class', 'method'); opt = @('namespace', 'filter', 'arguments', 'static', 'argument_property') }
    cim_delete = @{ req = @('class', 'filter'); opt = @('namespace') }
    reg_get = @{ req = @('path'); opt = @('names') }
    reg_set = @{ req = @('path', 'name', 'type', 'value'); opt = @() }
    reg_remove = @{ req = @('path', 'name'); opt = @() }
    firewall_get = @{ req = @('name'); opt = @('group') }
    firewall_set = @{ req = @('name'); opt = @('group', 'enabled', 'profiles', 'remote_addresses', 'local_ports') }
    firewall_create = @{
        req = @('name', 'group')
        opt = @('description', 'direction', 'action', 'protocol', 'local_ports', 'remote_addresses', 'profiles', 'enabled', 'program', 'service')
    }
    firewall_remove = @{ req = @('name', 'group'); opt = @() }
    service_get = @{ req = @('name'); opt = @() }
    service_restart = @{ req = @('name'); opt = @() }
    os_restart = @{ req = @(); opt = @('delay') }
    ospp_rearm = @{ req = @(); opt = @() }
    ad_activation_objects = @{ req = @(); opt = @() }
    ad_installation_id = @{ req = @('product_key'); opt = @() }
    ad_activation_object_remove = @{ req = @('dn'); opt = @() }
    dns_query = @{ req = @('type'); opt = @('name', 'name_from') }
    tcp_exchange = @{
        req = @()
        opt = @('targets', 'configured_from', 'srv_from', 'default_port', 'send', 'frame_length', 'receive_max',
            'connect_timeout_ms', 'receive_timeout_ms', 'check_ports')
    }
}
# ad_installation_id only computes an ID (GenerateActiveDirectoryOfflineActivationId changes
# nothing; Get-ADLicenseInfo -ProductKey is documented read-only for the same call).
# dns_query and tcp_exchange do network I/O (the kms_probe module) and change nothing on the host.
$ReadOps = @('cim_query', 'reg_get', 'firewall_get', 'service_get', 'ad_activation_objects', 'ad_installation_id',
    'dns_query', 'tcp_exchange')
# lower-case spelling -> the spelling passed to WMI; '\' is accepted and turned into '/'
$Namespaces = @{ 'root/cimv2' = 'root/cimv2'; 'root/microsoftdns' = 'root/MicrosoftDNS' }
$QueryClasses = @('SoftwareLicensingService', 'SoftwareLicensingProduct', 'OfficeSoftwareProtectionService',
    'OfficeSoftwareProtectionProduct', 'Win32_OperatingSystem', 'MicrosoftDNS_SRVType', 'MicrosoftDNS_Zone',
    'Win32_ComputerSystem', 'MicrosoftDNS_Server')
$ServiceMethods = @('InstallProductKey', 'RefreshLicenseStatus', 'SetKeyManagementServiceMachine',
    'ClearKeyManagementServiceMachine', 'SetKeyManagementServicePort', 'ClearKeyManagementServicePort',
    'SetKeyManagementServiceLookupDomain', 'ClearKeyManagementServiceLookupDomain', 'SetVLActivationInterval',
    'SetVLRenewalInterval', 'SetKeyManagementServiceListeningPort', 'ClearKeyManagementServiceListeningPort',
    'DisableKeyManagementServiceDnsPublishing', 'EnableKeyManagementServiceLowPriority',
    'DisableKeyManagementServiceHostCaching', 'SetVLActivationTypeEnabled', 'ClearVLActivationTypeEnabled',
    'ReArmWindows', 'ReArmApp',
    'DoActiveDirectoryOnlineActivation', 'DepositActiveDirectoryOfflineActivationConfirmation')
$ProductMethods = @('Activate', 'UninstallProductKey', 'DepositOfflineConfirmationId', 'SetKeyManagementServiceMachine',
    'ClearKeyManagementServiceMachine', 'SetKeyManagementServicePort', 'ClearKeyManagementServicePort',
    'SetKeyManagementServiceLookupDomain', 'ClearKeyManagementServiceLookupDomain', 'SetVLActivationTypeEnabled',
    'ClearVLActivationTypeEnabled', 'ReArmSku')
$InvokeMethods = @{
    SoftwareLicensingService = $ServiceMethods
    OfficeSoftwareProtectionService = $ServiceMethods
    SoftwareLicensingProduct = $ProductMethods
    OfficeSoftwareProtectionProduct = $ProductMethods
    MicrosoftDNS_SRVType = @('CreateInstanceFromPropertyData', 'Modify')
}
$StaticMethods = @('CreateInstanceFromPropertyData')
# Both service classes are singletons [MS-SLS]: invoking without a filter hits exactly one instance.
$SingletonClasses = @('SoftwareLicensingService', 'OfficeSoftwareProtectionService')
$DeleteClasses = @('MicrosoftDNS_SRVType')
# property returned as an invocation's "key"
$KeyProperty = @{
    SoftwareLicensingProduct = 'ID'; OfficeSoftwareProtectionProduct = 'ID'
    SoftwareLicensingService = 'Version'; OfficeSoftwareProtectionService = 'Version'; MicrosoftDNS_SRVType = 'Name'
}
$RegistryRoots = @('HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform',
    'HKLM:\SOFTWARE\Microsoft\OfficeSoftwareProtectionPlatform')
$RegistryTypes = @('String', 'ExpandString', 'DWord', 'QWord', 'MultiString')
$FirewallRules = @('SPPSVC-In-TCP')
$FirewallPrefix = 'winops-va-'
# The firewall is driven through its COM API (HNetCfg.FwPolicy2 / INetFwRule, FirewallAPI.dll,
# Windows Vista / Server 2008 and later [MicrosoftDocs/sdk-api sdk-api-src/content/netfw/
# nn-netfw-inetfwrule.md]) on every Windows version, not through the NetSecurity cmdlets
# (Get-NetFirewallRule...), which exist only from Windows 8 / Server 2012: one code path for
# every target, the one community.windows' win_firewall_rule.ps1 also uses. INetFwRule has no
# locale-independent rule ID: its Name is the rule's friendly (display) name, localized for
# the rules Windows ships. So a built-in rule is recognised by what Windows ships and never
# translates: an indirect-string Grouping ('@<dll>,-<id>'), the direction (1 inbound),
# protocol (6 TCP), local port and service. The collection's own rules are found by Name and
# Grouping, both set by the collection.
$BuiltinRuleIdentity = @{
    'SPPSVC-In-TCP' = @{ Direction = 1; Protocol = 6; LocalPorts = '1688'; ServiceName = 'sppsvc' }
}
# NET_FW_PROFILE_TYPE2 bits and NET_FW_PROFILE2_ALL [sdk-api netfw ne-netfw-net_fw_profile_type2.md]
$FirewallProfileBits = [ordered]@{ Domain = 1; Private = 2; Public = 4 }
$FirewallAllProfiles = 2147483647  # 0x7FFFFFFF
$Services = @('sppsvc', 'osppsvc')
$SecretLists = @('product_keys', 'confirmation_ids')
# Active Directory-based activation: the activation objects container of the computer's forest,
# read and deleted over ADSI as slmgr.vbs /ao-list and /del-ao do [SLMGR10 ADActObjContainer].
$AdContainer = 'CN=Activation Objects,CN=Microsoft SPP,CN=Services,'
$AdObjectClass = 'msSPP-ActivationObject'

$Secrets = @{}
foreach ($name in $SecretLists) {
    $Secrets[$name] = $module.Params[$name]
    if ($null -eq $Secrets[$name]) { $Secrets[$name] = @() }
    # Ansible.Basic registers a no_log option's value with ToString(), which for a list is its
    # type name, so the items of a no_log *list* are not masked in the returned invocation.
    # Mask them here (the invocation is a copy made by Create(); Params keep the real values).
    if ($null -ne $module.Params[$name]) {
        $module.Result.invocation.module_args[$name] = @($Secrets[$name] | ForEach-Object { 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' })
    }
}

# --- Helpers -------------------------------------------------------------------------
function ConvertTo-UInt32($Value) {
    # .NET HResult is a signed Int32; the protocol wants the unsigned form (0xC004F050 = 3221549136).
    [uint32]([int64]$Value -band [int64]4294967295)
}

function Get-ErrorInfo($Record) {
    # CIM errors carry the WMI/SL HRESULT in ErrorData.error_Code (an MSFT_WmiError); the
    # exception's own HResult is generic there. CDXML cmdlets (NetSecurity) may wrap the
    # CimException, so walk the inner exceptions before falling back to Exception.HResult.
    $code = $null
    $e = $Record.Exception
    while ($null -ne $e -and $null -eq $code) {
        $data = $e.PSObject.Properties['ErrorData']
        if ($null -ne $data -and (Test-CimInstance $data.Value)) {
            $prop = $data.Value.CimInstanceProperties['error_Code']
            if ($null -ne $prop) { $code = $prop.Value }
        }
        $e = $e.InnerException
    }
    $e = $Record.Exception
    # a .NET method called (or a COM property set) from PowerShell wraps its exception; the
    # HRESULT is the inner one's
    if (($e -is [Management.Automation.MethodInvocationException] -or $e -is [Management.Automation.SetValueInvocationException]) -and
        $null -ne $e.InnerException) { $e = $e.InnerException }
    # Invoke-CimMethod checks method and parameter names against the class definition before it
    # calls WMI and throws an ArgumentException ("Can not find Parameter 'X' in method 'M' of class
    # 'C'."; PowerShell/PowerShell CimInvokeCimMethod.cs CreateParametersCollection). The engine
    # wraps it in a CmdletInvocationException whose ErrorRecord already carries the inner exception
    # (CommandProcessorBase.cs, ExecutionExceptions.cs); unwrap in case a host hands us the wrapper.
    # ArgumentException.HResult is COR_E_ARGUMENT = 0x80070057 (E_INVALIDARG).
    if ($e -is [Management.Automation.CmdletInvocationException] -and $null -ne $e.InnerException) { $e = $e.InnerException }
    # A Win32 error deeper in the chain (Restart-Service -> InvalidOperationException ->
    # Win32Exception 5) is the real cause: HRESULT_FROM_WIN32 of its NativeErrorCode, as Windows
    # reports it (Win32Exception.HResult itself is the generic E_FAIL).
    $inner = $Record.Exception
    while ($null -eq $code -and $null -ne $inner) {
        if ($inner -is [ComponentModel.Win32Exception] -and $inner.NativeErrorCode -ne 0) {
            $code = 0x80070000 -bor ($inner.NativeErrorCode -band 0xFFFF)
        }
        $inner = $inner.InnerException
    }
    if ($null -eq $code) { $code = $e.HResult }
    $hresult = ConvertTo-UInt32 $code
    [ordered]@{ hresult = $hresult; hresult_hex = '0x{0:X8}' -f $hresult; error = "$($e.Message)".Trim() }
}

function Test-CimInstance($Value) {
    # by name: a type literal would need Microsoft.Management.Infrastructure to be loaded already
    ($null -ne $Value) -and ($Value.GetType().FullName -eq 'Microsoft.Management.Infrastructure.CimInstance')
}

function ConvertTo-ResultValue($Value) {
    if ($null -eq $Value) { return $null }
    if ($Value -is [string]) { return $Value }
    if ($Value -is [datetime]) {
        # CIM DATETIME arrives as a DateTime; the protocol wants ISO 8601 with an explicit offset.
        return ([DateTimeOffset]$Value).ToString("yyyy-MM-dd'T'HH:mm:sszzz", [Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [enum] -or $Value -is [timespan]) { return $Value.ToString() }  # TimeSpan: a CIM interval
    # integers keep their CIM type, so a uint32 stays unsigned in the JSON
    if ($Value -is [ValueType]) { return $Value }
    if (Test-CimInstance $Value) { return ConvertTo-InstanceDict $Value $null }
    if ($Value -is [Collections.IEnumerable]) {
        $list = [Collections.Generic.List[object]]::new()
        foreach ($item in $Value) { $list.Add((ConvertTo-ResultValue $item)) }
        return , $list  # the comma stops PowerShell unrolling the list (and turning [] into $null)
    }
    "$Value"
}

function ConvertTo-InstanceDict($Instance, $Names) {
    # CimInstanceProperties keeps the WMI property order; with a SELECT list WMI still
    # returns every property (unselected ones NULL), so keep only the requested names.
    $dict = [ordered]@{}
    foreach ($p in $Instance.CimInstanceProperties) {
        if ($null -eq $Names -or $Names -contains $p.Name) { $dict[$p.Name] = ConvertTo-ResultValue $p.Value }
    }
    $dict
}

function Get-Namespace($Op) {
    if (-not $Op.ContainsKey('namespace')) { return 'root/cimv2' }
    $Namespaces["$($Op['namespace'])".Replace('\', '/').ToLowerInvariant()]
}

function Get-WqlQuery($Op, $Select) {
    $query = "SELECT $Select FROM $($Op['class'])"
    if ($Op.ContainsKey('filter')) { $query += " WHERE $($Op['filter'])" }
    $query
}

function Test-RegistryPath([string]$Path) {
    # -LiteralPath is used throughout, but New-Item is not literal and the provider resolves
    # '..' and treats '/' as a separator: refuse all of them rather than normalise.
    if ($Path -match '[*?\[\]/`]' -or $Path -match '(^|\\)\.\.?(\\|$)') { return $false }
    foreach ($root in $RegistryRoots) {
        if ($Path.Equals($root, 'OrdinalIgnoreCase') -or $Path.StartsWith("$root\", 'OrdinalIgnoreCase')) { return $true }
    }
    $false
}

function Test-FirewallName([string]$Name) {
    # only the built-in rules the executor knows, and the collection's own (plain names, no wildcards)
    ($FirewallRules -contains $Name) -or ($Name -match "^$([regex]::Escape($FirewallPrefix))[A-Za-z0-9._-]+$")
}

function Test-SecretReference($Value) {
    # {"secret": "product_keys", "index": 0}: the secret travels in a no_log option, never in operations
    if ($Value.Count -ne 2 -or $Value.Keys -notcontains 'secret' -or $Value.Keys -notcontains 'index') { return $false }
    $index = $Value['index']
    if ($SecretLists -notcontains $Value['secret'] -or -not ($index -is [int] -or $index -is [long])) { return $false }
    ($index -ge 0) -and ($index -lt @($Secrets[$Value['secret']]).Count)
}

function Get-OperationError($Op, [int]$Index) {
    # Returns why the operation is refused, or $null. Nothing has run when this is called.
    if ($Op -isnot [Collections.IDictionary]) { return "operations[$Index]: not a dict" }
    $name = "$($Op['op'])"
    $where = "operations[$Index] ($name)"
    if ($Ops.Keys -cnotcontains $name -or $Op['op'] -isnot [string]) { return "operations[$Index]: unknown op '$name'" }
    foreach ($key in $Ops[$name].req) {
        if (-not $Op.ContainsKey($key) -or $null -eq $Op[$key]) { return "${where}: missing required key '$key'" }
    }
    foreach ($key in $Op.Keys) {
        if ($key -cne 'op' -and $key -cne 'skip_after_failure' -and $Ops[$name].req -cnotcontains $key -and $Ops[$name].opt -cnotcontains $key) { return "${where}: unknown key '$key'" }
    }
    if ($Op.ContainsKey('skip_after_failure') -and $Op['skip_after_failure'] -isnot [bool]) { return "${where}: skip_after_failure must be a bool" }
    $class = "$($Op['class'])"
    if ($name -like 'cim_*' -and $null -eq (Get-Namespace $Op)) { return "${where}: namespace '$($Op['namespace'])' is not allowed" }
    # an empty filter would become 'WHERE ' (or, worse, be taken for no filter at all)
    if ($Op.ContainsKey('filter') -and ($Op['filter'] -isnot [string] -or $Op['filter'].Trim() -eq '')) { return "${where}: filter must be a non-empty string" }
    if ($name -eq 'cim_query') {
        if ($QueryClasses -notcontains $class) { return "${where}: class '$class' is not allowed" }
        if ($Op.ContainsKey('properties') -and @($Op['properties']).Count -eq 0) { return "${where}: properties must not be empty" }
        if ($Op.ContainsKey('optional_properties') -and -not $Op.ContainsKey('properties')) { return "${where}: optional_properties needs properties" }
        foreach ($p in @($Op['properties']) + @($Op['optional_properties'])) {
            if ($null -ne $p -and "$p" -notmatch '^[A-Za-z_][A-Za-z0-9_]*$') { return "${where}: '$p' is not a property name" }
        }
    }
    elseif ($name -eq 'cim_invoke') {
        $method = "$($Op['method'])"
        if (-not $InvokeMethods.ContainsKey($class)) { return "${where}: class '$class' is not allowed" }
        if ($InvokeMethods[$class] -notcontains $method) { return "${where}: method '$method' is not allowed on class '$class'" }
        if ($Op.ContainsKey('static') -and $Op['static'] -isnot [bool]) { return "${where}: static must be a bool" }
        $static = $Op['static'] -eq $true
        if ($static -ne ($StaticMethods -contains $method)) { return "${where}: static must be $(-not $static) for method '$method'" }
        if ($static -and $Op.ContainsKey('filter')) { return "${where}: a static method takes no filter" }
        if (-not $static -and -not $Op.ContainsKey('filter') -and $SingletonClasses -notcontains $class) {
            return "${where}: method '$method' on class '$class' needs a filter"
        }
        if ($Op.ContainsKey('argument_property')) {
            if ($static -or $KeyProperty[$class] -ne 'ID') { return "${where}: argument_property is only for product instances" }
            if ("$($Op['argument_property'])" -notmatch '^[A-Za-z_][A-Za-z0-9_]*$') { return "${where}: '$($Op['argument_property'])' is not a property name" }
            if ($Op.ContainsKey('arguments')) { return "${where}: argument_property and arguments exclude each other" }
        }
        if ($Op.ContainsKey('arguments')) {
            if ($Op['arguments'] -isnot [Collections.IDictionary]) { return "${where}: arguments must be a dict" }
            foreach ($arg in $Op['arguments'].Keys) {
                $value = $Op['arguments'][$arg]
                if ($value -is [Collections.IDictionary] -and -not (Test-SecretReference $value)) { return "${where}: argument '$arg' is not a valid secret reference" }
            }
        }
    }
    elseif ($name -eq 'cim_delete') {
        if ($DeleteClasses -notcontains $class) { return "${where}: class '$class' is not allowed" }
    }
    elseif ($name -like 'reg_*') {
        if (-not (Test-RegistryPath "$($Op['path'])")) { return "${where}: registry path '$($Op['path'])' is not allowed" }
        if ($name -eq 'reg_set') {
            $type = "$($Op['type'])"
            $value = $Op['value']
            if ($RegistryTypes -cnotcontains $type) { return "${where}: registry type '$type' is not allowed" }
            # checked here so a bad number cannot fail the batch half-way
            $isNumber = ($value -is [int] -or $value -is [long]) -and $value -ge 0
            if ($type -eq 'DWord' -and -not ($isNumber -and $value -le [uint32]::MaxValue)) { return "${where}: '$value' is not a DWORD" }
            if ($type -eq 'QWord' -and -not $isNumber) { return "${where}: '$value' is not a QWORD" }
        }
    }
    elseif ($name -like 'firewall_*') {
        if (-not (Test-FirewallName "$($Op['name'])")) { return "${where}: firewall rule '$($Op['name'])' is not allowed" }
        $builtin = $FirewallRules -contains "$($Op['name'])"
        if ($builtin -and $name -in @('firewall_create', 'firewall_remove')) { return "${where}: '$($Op['name'])' is a built-in rule" }
        # a built-in rule is recognised by what Windows ships; the collection's own by Name and Grouping
        if ($builtin -and $Op.ContainsKey('group')) { return "${where}: a built-in rule takes no group" }
        if (-not $builtin -and "$($Op['group'])".Trim() -eq '') { return "${where}: the rule '$($Op['name'])' needs its group" }
        if ($Op.ContainsKey('profiles')) {
            foreach ($p in @($Op['profiles'])) {
                if (@('Any', 'Domain', 'Private', 'Public') -cnotcontains "$p") { return "${where}: '$p' is not a firewall profile" }
            }
        }
        if ($Op.ContainsKey('protocol') -and @('TCP', 'UDP', 'Any') -cnotcontains $Op['protocol']) { return "${where}: protocol must be TCP, UDP or Any" }
        # [bool]'no' is $true in PowerShell: insist on a real boolean
        if ($Op.ContainsKey('enabled') -and $Op['enabled'] -isnot [bool]) { return "${where}: enabled must be a bool" }
        if ($Op.ContainsKey('direction') -and @('Inbound', 'Outbound') -cnotcontains $Op['direction']) { return "${where}: direction must be Inbound or Outbound" }
        if ($Op.ContainsKey('action') -and @('Allow', 'Block') -cnotcontains $Op['action']) { return "${where}: action must be Allow or Block" }
    }
    elseif ($name -like 'service_*') {
        if ($Services -notcontains "$($Op['name'])") { return "${where}: service '$($Op['name'])' is not allowed" }
    }
    elseif ($name -eq 'os_restart' -and $Op.ContainsKey('delay')) {
        $delay = $Op['delay']
        if (-not ($delay -is [int] -or $delay -is [long]) -or $delay -lt 0 -or $delay -gt 600) { return "${where}: delay must be an integer of seconds, 0..600" }
    }
    elseif ($name -eq 'ad_installation_id') {
        if (-not (Test-SecretReference $Op['product_key'])) { return "${where}: product_key must be a secret reference" }
    }
    elseif ($name -eq 'dns_query' -or $name -eq 'tcp_exchange') {
        $problem = Get-NetworkOperationError $Op $Index
        if ($null -ne $problem) { return "${where}: $problem" }
    }
    elseif ($name -eq 'ad_activation_object_remove') {
        # only a direct child of an activation objects container: CN=<name>,CN=Activation Objects,...
        $dn = "$($Op['dn'])"
        if ($dn -notmatch '^CN=[^,]+,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,(DC=[^,]+,)*DC=[^,]+$') {
            return "${where}: '$dn' is not an activation object's distinguished name"
        }
    }
    $null
}

# --- Network probes (dns_query, tcp_exchange): the kms_probe module ----------------------
# The controller builds the bytes and judges the answer; these only resolve, connect and copy.
function Test-IntInRange($Value, [int64]$Min, [int64]$Max) {
    ($Value -is [int] -or $Value -is [long]) -and $Value -ge $Min -and $Value -le $Max
}

function Test-ResultReference($Ref, [int]$Index, [string[]]$Names) {
    # {"result": <index of an earlier cim_query>, "<name>": "<property>", ...}
    if ($Ref -isnot [Collections.IDictionary] -or -not (Test-IntInRange $Ref['result'] 0 ($Index - 1))) { return $false }
    foreach ($n in $Names) { if ("$($Ref[$n])" -notmatch '^[A-Za-z_][A-Za-z0-9_]*$') { return $false } }
    $true
}

function Get-NetworkOperationError($Op, [int]$Index) {
    if ($Op['op'] -eq 'dns_query') {
        if (@('SRV', 'A') -cnotcontains $Op['type']) { return "type must be SRV or A" }
        if ($Op.ContainsKey('name') -eq $Op.ContainsKey('name_from')) { return "give name or name_from" }
        if ($Op.ContainsKey('name') -and "$($Op['name'])" -notmatch '^[A-Za-z0-9_.-]{1,253}$') { return "'$($Op['name'])' is not a DNS name" }
        if ($Op.ContainsKey('name_from')) {
            $from = $Op['name_from']
            if ($from -isnot [Collections.IDictionary] -or "$($from['prefix'])" -notmatch '^[A-Za-z0-9_.-]*$') { return 'name_from needs a DNS name prefix' }
            foreach ($ref in @($from['first_of'])) {
                if (-not (Test-ResultReference $ref $Index @('property'))) { return 'name_from.first_of must reference earlier results' }
            }
        }
        return $null
    }
    foreach ($key in @('connect_timeout_ms', 'receive_timeout_ms')) {
        if ($Op.ContainsKey($key) -and -not (Test-IntInRange $Op[$key] 100 10000)) { return "$key must be 100..10000" }
    }
    if ($Op.ContainsKey('receive_max') -and -not (Test-IntInRange $Op['receive_max'] 1 65536)) { return 'receive_max must be 1..65536' }
    if ($Op.ContainsKey('default_port') -and -not (Test-IntInRange $Op['default_port'] 1 65535)) { return 'default_port must be 1..65535' }
    $ports = @($Op['check_ports'] | Where-Object { $null -ne $_ })
    if ($ports.Count -gt 8 -or @($ports | Where-Object { -not (Test-IntInRange $_ 1 65535) }).Count -gt 0) { return 'check_ports must be up to 8 ports' }
    $targets = @($Op['targets'] | Where-Object { $null -ne $_ })
    if ($targets.Count -gt 8) { return 'at most 8 targets' }
    foreach ($target in $targets) {
        if ($target -isnot [Collections.IDictionary] -or "$($target['host'])" -notmatch '^[A-Za-z0-9_.-]{1,253}$' -or -not (Test-IntInRange $target['port'] 1 65535)) {
            return 'each target needs a host name or address and a port'
        }
    }
    if ($Op.ContainsKey('configured_from') -and -not (Test-ResultReference $Op['configured_from'] $Index @('host_property', 'port_property'))) {
        return 'configured_from must reference an earlier result'
    }
    if ($Op.ContainsKey('srv_from') -and -not (Test-IntInRange $Op['srv_from'] 0 ($Index - 1))) { return 'srv_from must be the index of an earlier dns_query' }
    if ($Op.ContainsKey('send')) {
        try { $null = [Convert]::FromBase64String("$($Op['send'])") } catch { return 'send must be base64' }
    }
    if ($Op.ContainsKey('frame_length')) {
        $frame = $Op['frame_length']
        if ($frame -isnot [Collections.IDictionary] -or -not (Test-IntInRange $frame['offset'] 0 60) -or @(2, 4) -notcontains $frame['size']) {
            return 'frame_length needs an offset (0..60) and a size (2 or 4)'
        }
    }
    $null
}

$DnsApiSource = @'
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace WinopsVolumeActivation
{
    // DnsQuery_W and DnsRecordListFree (dnsapi.dll, Windows 2000 and later): MicrosoftDocs/sdk-api
    // sdk-api-src/content/windns/nf-windns-dnsquery_w.md. Record layout (DNS_RECORDW): pNext, pName,
    // wType, wDataLength, Flags (bits 0-1: the section), dwTtl, dwReserved, then the data union:
    // DNS_SRV_DATAW {pNameTarget, wPriority, wWeight, wPort, Pad} or DNS_A_DATA {IpAddress}
    // (ns-windns-dns_recordw.md, ns-windns-dns_srv_dataw.md, ns-windns-dns_a_data.md).
    public static class DnsProbe
    {
        [DllImport("dnsapi.dll", EntryPoint = "DnsQuery_W", CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int DnsQuery(string name, ushort type, uint options, IntPtr extra, out IntPtr results, IntPtr reserved);

        [DllImport("dnsapi.dll", EntryPoint = "DnsRecordListFree")]
        private static extern void DnsRecordListFree(IntPtr list, int freeType);

        private const uint DNS_QUERY_BYPASS_CACHE = 0x8;
        private const int DnsFreeRecordList = 1;
        private static readonly string[] Sections = { "question", "answer", "authority", "additional" };

        public static int Query(string name, ushort type, List<Dictionary<string, object>> records)
        {
            IntPtr list;
            int status = DnsQuery(name, type, DNS_QUERY_BYPASS_CACHE, IntPtr.Zero, out list, IntPtr.Zero);
            try
            {
                int ptr = IntPtr.Size;
                int data = 2 * ptr + 16;
                for (IntPtr r = list; status == 0 && r != IntPtr.Zero; r = Marshal.ReadIntPtr(r))
                {
                    ushort rtype = (ushort)Marshal.ReadInt16(r, 2 * ptr);
                    int flags = Marshal.ReadInt32(r, 2 * ptr + 4);
                    var rec = new Dictionary<string, object>();
                    rec["section"] = Sections[flags & 3];
                    rec["name"] = Marshal.PtrToStringUni(Marshal.ReadIntPtr(r, ptr));
                    rec["ttl"] = (uint)Marshal.ReadInt32(r, 2 * ptr + 8);
                    if (rtype == 33)
                    {
                        rec["type"] = "SRV";
                        rec["target"] = Marshal.PtrToStringUni(Marshal.ReadIntPtr(r, data));
                        rec["priority"] = (int)(ushort)Marshal.ReadInt16(r, data + ptr);
                        rec["weight"] = (int)(ushort)Marshal.ReadInt16(r, data + ptr + 2);
                        rec["port"] = (int)(ushort)Marshal.ReadInt16(r, data + ptr + 4);
                    }
                    else if (rtype == 1)
                    {
                        byte[] a = new byte[4];
                        Marshal.Copy(IntPtr.Add(r, data), a, 0, 4);
                        rec["type"] = "A";
                        rec["address"] = string.Format("{0}.{1}.{2}.{3}", a[0], a[1], a[2], a[3]);
                    }
                    else { continue; }
                    records.Add(rec);
                }
            }
            finally
            {
                if (list != IntPtr.Zero) { DnsRecordListFree(list, DnsFreeRecordList); }
            }
            return status;
        }
    }
}
'@

function Invoke-DnsQuery([string]$Name, [string]$Type) {
    if (-not ('WinopsVolumeActivation.DnsProbe' -as [type])) { Add-Type -TypeDefinition $DnsApiSource -Language CSharp }
    $records = [Collections.Generic.List[Collections.Generic.Dictionary[string, object]]]::new()
    $status = [WinopsVolumeActivation.DnsProbe]::Query($Name, @{ SRV = 33; A = 1 }[$Type], $records)
    [ordered]@{ status = $status; records = $records }
}

function Get-ReferencedValue($Ref, [string]$Property) {
    # the named property of the first instance of an earlier cim_query result (null when absent)
    $earlier = $results[[int]$Ref['result']]
    if ($null -eq $earlier -or -not $earlier.Contains('instances') -or @($earlier.instances).Count -eq 0) { return $null }
    $first = @($earlier.instances)[0]
    if ($first.Contains($Property)) { return $first[$Property] }
    $null
}

function Get-SocketErrorCode($ErrorRecord) {
    $e = $ErrorRecord.Exception
    while ($null -ne $e -and $e -isnot [Net.Sockets.SocketException]) { $e = $e.InnerException }
    if ($null -ne $e) { return $e.ErrorCode }
    -1
}

function Connect-Tcp([string[]]$Addresses, [int]$Port, [int]$TimeoutMs) {
    # Each address in turn, each bounded by the timeout: a socket or the last Winsock error.
    $out = [ordered]@{ connected = $false; address = $null; error_code = $null; connect_ms = $null; socket = $null }
    foreach ($address in $Addresses) {
        $socket = [Net.Sockets.Socket]::new([Net.Sockets.AddressFamily]::InterNetwork, [Net.Sockets.SocketType]::Stream, [Net.Sockets.ProtocolType]::Tcp)
        $clock = [Diagnostics.Stopwatch]::StartNew()
        try {
            $pending = $socket.BeginConnect([Net.IPAddress]::Parse($address), $Port, $null, $null)
            if (-not $pending.AsyncWaitHandle.WaitOne($TimeoutMs)) { $out.error_code = 10060; $socket.Close(); continue }  # WSAETIMEDOUT
            $socket.EndConnect($pending)
            $out.connected = $true
            $out.address = $address
            $out.error_code = $null
            $out.connect_ms = [math]::Round($clock.Elapsed.TotalMilliseconds, 1)
            $out.socket = $socket
            return $out
        }
        catch { $out.error_code = Get-SocketErrorCode $_; $socket.Close() }
    }
    $out
}

function Test-TcpPorts([string]$Address, [int[]]$Ports, [int]$TimeoutMs) {
    # Connect-only, all ports at once, one shared timeout.
    $tries = foreach ($port in $Ports) {
        $socket = [Net.Sockets.Socket]::new([Net.Sockets.AddressFamily]::InterNetwork, [Net.Sockets.SocketType]::Stream, [Net.Sockets.ProtocolType]::Tcp)
        [pscustomobject]@{ port = $port; socket = $socket; pending = $socket.BeginConnect([Net.IPAddress]::Parse($Address), $port, $null, $null) }
    }
    $clock = [Diagnostics.Stopwatch]::StartNew()
    foreach ($try in @($tries)) {
        $left = [math]::Max(0, $TimeoutMs - [int]$clock.Elapsed.TotalMilliseconds)
        $entry = [ordered]@{ port = $try.port; connected = $false; error_code = 10060 }
        if ($try.pending.AsyncWaitHandle.WaitOne($left)) {
            try { $try.socket.EndConnect($try.pending); $entry.connected = $true; $entry.error_code = $null }
            catch { $entry.error_code = Get-SocketErrorCode $_ }
        }
        $try.socket.Close()
        $entry
    }
}

function Receive-Frame($Socket, $Op, [int]$TimeoutMs) {
    $max = 4096
    if ($Op.ContainsKey('receive_max')) { $max = [int]$Op['receive_max'] }
    $buffer = [byte[]]::new($max)
    $got = 0
    $want = $max
    $out = [ordered]@{ received = ''; receive_ms = $null; receive_error_code = $null; closed = $false }
    $Socket.ReceiveTimeout = $TimeoutMs
    $clock = [Diagnostics.Stopwatch]::StartNew()
    try {
        while ($got -lt $want) {
            $n = $Socket.Receive($buffer, $got, $want - $got, [Net.Sockets.SocketFlags]::None)
            if ($n -eq 0) { $out.closed = $true; break }
            $got += $n
            $frame = $Op['frame_length']
            if ($null -ne $frame -and $got -ge $frame['offset'] + $frame['size']) {
                $length = if ($frame['size'] -eq 2) { [BitConverter]::ToUInt16($buffer, $frame['offset']) } else { [BitConverter]::ToUInt32($buffer, $frame['offset']) }
                $want = [math]::Min($max, [math]::Max([int]$length, $got))
            }
        }
    }
    catch { $out.receive_error_code = Get-SocketErrorCode $_ }
    $out.receive_ms = [math]::Round($clock.Elapsed.TotalMilliseconds, 1)
    $out.received = [Convert]::ToBase64String($buffer, 0, $got)
    $out
}

function Get-TcpTargets($Op) {
    $port = 1688
    if ($Op.ContainsKey('default_port')) { $port = [int]$Op['default_port'] }
    if ($Op.ContainsKey('targets')) {
        return 'targets', @($Op['targets'] | ForEach-Object { [ordered]@{ host = "$($_['host'])"; port = [int]$_['port'] } })
    }
    if ($Op.ContainsKey('configured_from')) {
        $ref = $Op['configured_from']
        $name = "$(Get-ReferencedValue $ref $ref['host_property'])".Trim()
        if ($name -ne '') {
            $configuredPort = Get-ReferencedValue $ref $ref['port_property']
            if ($configuredPort -gt 0) { $port = [int]$configuredPort }
            return 'configured', @([ordered]@{ host = $name; port = $port })
        }
    }
    if ($Op.ContainsKey('srv_from')) {
        $srv = $results[[int]$Op['srv_from']]
        $found = @($srv.records | Where-Object { $_['type'] -eq 'SRV' -and $_['section'] -eq 'answer' } |
                Select-Object -First 8 | ForEach-Object { [ordered]@{ host = "$($_['target'])"; port = [int]$_['port'] } })
        return 'srv', $found
    }
    'none', @()
}

function Get-RegistryValue($Key, [string]$Name) {
    # Get-Item's RegistryKey, not Get-ItemProperty: only the key gives the value kind, and
    # DoNotExpandEnvironmentNames returns an ExpandString as stored rather than expanded.
    $kind = $Key.GetValueKind($Name).ToString()
    $value = $Key.GetValue($Name, $null, 'DoNotExpandEnvironmentNames')
    # DWORD/QWORD come back as signed Int32/Int64; report them unsigned, as regedit shows them.
    if ($kind -eq 'DWord') { $value = ConvertTo-UInt32 $value }
    elseif ($kind -eq 'QWord') { $value = [BitConverter]::ToUInt64([BitConverter]::GetBytes([int64]$value), 0) }
    [ordered]@{ type = $kind; value = ConvertTo-ResultValue $value }
}

function Get-FirewallPolicy {
    New-Object -ComObject HNetCfg.FwPolicy2
}

function Find-FirewallRule($Policy, [string]$Name, $Group) {
    # The INetFwRule that is the protocol's rule $Name, or $null; more than one is an error.
    $identity = $BuiltinRuleIdentity[$Name]
    $found = [Collections.Generic.List[object]]::new()
    foreach ($rule in $Policy.Rules) {
        if ($null -ne $identity) {
            $hit = "$($rule.Grouping)".StartsWith('@') -and [int]$rule.Direction -eq $identity.Direction -and
                [int]$rule.Protocol -eq $identity.Protocol -and "$($rule.LocalPorts)" -eq $identity.LocalPorts -and
                "$($rule.serviceName)" -eq $identity.ServiceName
        }
        else {
            $hit = ("$($rule.Name)" -eq $Name) -and ("$($rule.Grouping)" -eq "$Group")
        }
        if ($hit) { $found.Add($rule) }
    }
    if ($found.Count -gt 1) { throw "$($found.Count) firewall rules are the rule '$Name'; remove the duplicates by hand" }
    if ($found.Count -eq 0) { return $null }
    return $found[0]
}

function Split-FirewallList($Value) {
    # INetFwRule lists are comma-separated strings ('LocalSubnet,10.0.0.0/255.0.0.0', '*')
    if ([string]::IsNullOrEmpty("$Value")) { return }
    foreach ($item in "$Value".Split(',')) { if ($item.Trim() -ne '') { $item.Trim() } }
}

function Get-FirewallRuleState([string]$Name, $Rule) {
    if ($null -eq $Rule) { return $null }
    $mask = [int]$Rule.Profiles
    $protocols = @{ 6 = 'TCP'; 17 = 'UDP'; 256 = 'Any' }  # NET_FW_IP_PROTOCOL
    $protocol = $protocols[[int]$Rule.Protocol]
    if ($null -eq $protocol) { $protocol = "$($Rule.Protocol)" }
    [ordered]@{
        name = $Name
        display_name = "$($Rule.Name)"  # localized for built-in rules: informative only
        group = "$($Rule.Grouping)"
        description = "$($Rule.Description)"
        enabled = [bool]$Rule.Enabled
        direction = @{ 1 = 'Inbound'; 2 = 'Outbound' }[[int]$Rule.Direction]  # NET_FW_RULE_DIRECTION
        action = @{ 0 = 'Block'; 1 = 'Allow' }[[int]$Rule.Action]  # NET_FW_ACTION
        profiles = @(foreach ($p in $FirewallProfileBits.Keys) { if ($mask -band $FirewallProfileBits[$p]) { $p } })
        protocol = $protocol
        local_ports = @(Split-FirewallList $Rule.LocalPorts)
        remote_addresses = @(Split-FirewallList $Rule.RemoteAddresses)  # as the COM API returns them ('*' = any)
        program = "$($Rule.ApplicationName)"
        service = "$($Rule.serviceName)"
    }
}

function Set-FirewallRuleProperty($Rule, $Op) {
    # Protocol before ports: INetFwRule takes ports only on a TCP or UDP rule, and checks each
    # property as it is set [sdk-api nn-netfw-inetfwrule.md, Remarks].
    if ($Op.ContainsKey('protocol')) {
        $numbers = @{ TCP = 6; UDP = 17; Any = 256 }
        $Rule.Protocol = $numbers["$($Op['protocol'])"]
    }
    if ($Op.ContainsKey('local_ports')) { $Rule.LocalPorts = @($Op['local_ports']) -join ',' }
    if ($Op.ContainsKey('remote_addresses')) {
        # the protocol's 'Any' is the COM API's '*', which must then be the only token
        $addresses = @(foreach ($a in @($Op['remote_addresses'])) { if ("$a" -eq 'Any') { '*' } else { "$a" } })
        if ($addresses -contains '*') { $addresses = @('*') }
        $Rule.RemoteAddresses = $addresses -join ','
    }
    if ($Op.ContainsKey('profiles')) {
        $mask = 0
        foreach ($p in @($Op['profiles'])) {
            if ("$p" -eq 'Any') { $mask = 7 } else { $mask = $mask -bor $FirewallProfileBits["$p"] }
        }
        if ($mask -eq 7) { $mask = $FirewallAllProfiles }
        $Rule.Profiles = [int]$mask  # an [int]: the COM binder refuses a uint32 here (community.windows win_firewall_rule.ps1)
    }
    if ($Op.ContainsKey('enabled')) { $Rule.Enabled = [bool]$Op['enabled'] }
}

function Get-AdContainer {
    # The computer's domain (not the user's: slmgr.vbs uses ADSystemInfo.DomainDNSName) and the
    # activation objects container under its forest's configuration naming context.
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem -Property @('Domain', 'PartOfDomain')
    if (-not $cs.PartOfDomain) {
        throw [Runtime.InteropServices.COMException]::new('The specified domain either does not exist or could not be contacted.', [int]0x8007054B)
    }
    $rootDse = [ADSI]"LDAP://$($cs.Domain)/RootDSE"
    @{ domain = "$($cs.Domain)"; dn = "$AdContainer$($rootDse.Properties['configurationNamingContext'].Value)" }
}

# --- Operations: each fills $r (already holding op and ok=$true) -----------------------
$Handlers = @{
    cim_query = {
        param($op, $r)
        $names = $null
        if ($op.ContainsKey('properties')) { $names = @($op['properties']) }
        if ($op.ContainsKey('optional_properties')) {
            # Names the class may lack on this Windows version (SoftwareLicensingProduct has no
            # ProductKeyChannel on 6.1): select those the class definition has. Get-CimClass reads
            # the schema from the WMI repository, not the provider, so it costs no licensing work.
            # A missing class is left to the query below, which reports it as WMI does (0x80041010).
            $defined = @()
            try { $defined = @((Get-CimClass -Namespace (Get-Namespace $op) -ClassName $op['class']).CimClassProperties | ForEach-Object { $_.Name }) }
            catch { $defined = @() }
            foreach ($p in @($op['optional_properties'])) {
                if ($defined -contains $p -and $names -notcontains $p) { $names += "$p" }
            }
        }
        $select = '*'
        if ($null -ne $names) { $select = $names -join ', ' }
        $r.instances = [Collections.Generic.List[object]]::new()
        foreach ($instance in Get-CimInstance -Namespace (Get-Namespace $op) -Query (Get-WqlQuery $op $select)) {
            $r.instances.Add((ConvertTo-InstanceDict $instance $names))
        }
    }
    cim_invoke = {
        param($op, $r)
        $class = $op['class']
        $arguments = @{}
        if ($op.ContainsKey('arguments')) {
            foreach ($arg in $op['arguments'].Keys) {
                $value = $op['arguments'][$arg]
                if ($value -is [Collections.IDictionary]) { $value = $Secrets[$value['secret']][[int]$value['index']] }
                $arguments[$arg] = $value
            }
        }
        $static = $op['static'] -eq $true
        if ($static) {
            # -CimClass rather than -ClassName: the cmdlet then converts each argument to the
            # declared CIM type (uint16 Priority...) instead of guessing from the .NET type.
            $targets = @(Get-CimClass -Namespace (Get-Namespace $op) -ClassName $class)
        }
        else {
            # Licensing classes: select only the key (enough to invoke), as slmgr.vbs selects only
            # what it needs (GetServiceObject("Version"), GetProductCollection("ID", ...) [SLMGR10]);
            # SELECT * would make the provider compute every property, installation IDs included.
            # Instances from Get-CimInstance carry their class, so arguments are converted to the
            # declared types here too. DNS records keep '*' (Modify needs the whole record).
            $select = '*'
            if ($KeyProperty[$class] -in @('ID', 'Version')) { $select = $KeyProperty[$class] }
            if ($op.ContainsKey('argument_property')) { $select = "ID, $($op['argument_property'])" }
            $targets = @(Get-CimInstance -Namespace (Get-Namespace $op) -Query (Get-WqlQuery $op $select))
        }
        $byPosition = $null
        if ($op.ContainsKey('argument_property')) {
            # ospp.vbs passes the product's own ProductKeyID to OfficeSoftwareProtectionProduct.
            # UninstallProductKey by position ("instance.UninstallProductKey(instance.ProductKeyID)",
            # Microsoft's ospp.vbs): do the same, naming the argument as the class declares its only
            # in-parameter.
            $declared = (Get-CimClass -Namespace (Get-Namespace $op) -ClassName $class).CimClassMethods[$op['method']]
            $inputs = @($declared.Parameters | Where-Object { $null -ne $_.Qualifiers['In'] })
            if ($inputs.Count -ne 1) { throw "$class.$($op['method']) declares $($inputs.Count) in-parameters, not one" }
            $byPosition = $inputs[0].Name
        }
        $r.matched = $targets.Count
        $r.invocations = [Collections.Generic.List[object]]::new()
        foreach ($target in $targets) {
            $inv = [ordered]@{ key = $null; return_value = $null; out = $null; hresult = $null; error = $null }
            if (-not $static) { $inv.key = @{ $KeyProperty[$class] = ConvertTo-ResultValue $target.CimInstanceProperties[$KeyProperty[$class]].Value } }
            if ($null -ne $byPosition) {
                $arguments = @{ $byPosition = $target.CimInstanceProperties[$op['argument_property']].Value }
            }
            try {
                if ($static) { $result = Invoke-CimMethod -CimClass $target -MethodName $op['method'] -Arguments $arguments }
                else { $result = Invoke-CimMethod -InputObject $target -MethodName $op['method'] -Arguments $arguments }
                # Invoke-CimMethod returns one note property per out parameter, plus ReturnValue and PSComputerName.
                $inv.out = [ordered]@{}
                foreach ($p in $result.PSObject.Properties) {
                    if ($p.Name -eq 'ReturnValue') { $inv.return_value = ConvertTo-ResultValue $p.Value }
                    elseif ($p.Name -ne 'PSComputerName') { $inv.out[$p.Name] = ConvertTo-ResultValue $p.Value }
                }
                if ($null -ne $inv.return_value -and $inv.return_value -ne 0) {
                    # a WMI method may report failure by its return value alone; never let that pass as success
                    $inv.hresult = ConvertTo-UInt32 $inv.return_value
                    $inv.hresult_hex = '0x{0:X8}' -f $inv.hresult
                    $inv.error = "$($op['method']) returned $($inv.hresult_hex)"
                }
            }
            catch {
                $info = Get-ErrorInfo $_
                foreach ($k in $info.Keys) { $inv[$k] = $info[$k] }
            }
            if ($null -ne $inv.hresult -and $r.ok) {
                $r.ok = $false
                foreach ($k in @('hresult', 'hresult_hex', 'error')) { $r[$k] = $inv[$k] }
            }
            $r.invocations.Add($inv)
        }
    }
    cim_delete = {
        param($op, $r)
        $r.deleted = 0
        foreach ($instance in @(Get-CimInstance -Namespace (Get-Namespace $op) -Query (Get-WqlQuery $op '*'))) {
            Remove-CimInstance -InputObject $instance
            $r.deleted++  # counted one by one so a failure part-way still reports what was removed
        }
    }
    reg_get = {
        param($op, $r)
        $r.exists = Test-Path -LiteralPath $op['path']
        $r.values = [ordered]@{}
        if (-not $r.exists) { return }
        $key = Get-Item -LiteralPath $op['path']
        $present = $key.GetValueNames()
        $names = $present
        if ($op.ContainsKey('names')) { $names = @($op['names']) }
        foreach ($name in $names) {
            if ($present -contains $name) { $r.values[$name] = Get-RegistryValue $key $name }
        }
    }
    reg_set = {
        param($op, $r)
        $path = $op['path']
        $name = $op['name']
        $r.previous = $null
        if (Test-Path -LiteralPath $path) {
            $key = Get-Item -LiteralPath $path
            if ($key.GetValueNames() -contains $name) { $r.previous = Get-RegistryValue $key $name }
        }
        else {
            New-Item -Path $path -Force | Out-Null  # also creates missing parents
        }
        $value = $op['value']
        # The registry stores DWORD/QWORD as signed; pass the bit pattern of the unsigned value.
        switch ($op['type']) {
            'DWord' { $value = [BitConverter]::ToInt32([BitConverter]::GetBytes([uint32]$value), 0) }
            'QWord' { $value = [BitConverter]::ToInt64([BitConverter]::GetBytes([uint64]$value), 0) }
            'MultiString' { $value = [string[]]@($value) }
            default { $value = [string]$value }
        }
        # -Force replaces an existing value, including one of another type
        New-ItemProperty -LiteralPath $path -Name $name -PropertyType $op['type'] -Value $value -Force | Out-Null
    }
    reg_remove = {
        param($op, $r)
        $r.existed = (Test-Path -LiteralPath $op['path']) -and ((Get-Item -LiteralPath $op['path']).GetValueNames() -contains $op['name'])
        if ($r.existed) { Remove-ItemProperty -LiteralPath $op['path'] -Name $op['name'] }
    }
    firewall_get = {
        param($op, $r)
        $r.rule = Get-FirewallRuleState $op['name'] (Find-FirewallRule (Get-FirewallPolicy) $op['name'] $op['group'])
        $r.exists = $null -ne $r.rule
    }
    firewall_set = {
        param($op, $r)
        $rule = Find-FirewallRule (Get-FirewallPolicy) $op['name'] $op['group']
        if ($null -eq $rule) {
            throw [ComponentModel.Win32Exception]::new(2, "No firewall rule '$($op['name'])' was found")  # ERROR_FILE_NOT_FOUND
        }
        Set-FirewallRuleProperty $rule $op
        $r.rule = Get-FirewallRuleState $op['name'] $rule
    }
    firewall_create = {
        param($op, $r)
        $policy = Get-FirewallPolicy
        if ($null -ne (Find-FirewallRule $policy $op['name'] $op['group'])) {
            throw [ComponentModel.Win32Exception]::new(183, "The firewall rule '$($op['name'])' already exists")  # ERROR_ALREADY_EXISTS
        }
        $rule = New-Object -ComObject HNetCfg.FWRule
        $rule.Name = $op['name']
        $rule.Grouping = $op['group']
        if ($op.ContainsKey('description')) { $rule.Description = $op['description'] }
        $direction = 'Inbound'
        if ($op.ContainsKey('direction')) { $direction = $op['direction'] }
        $rule.Direction = @{ Inbound = 1; Outbound = 2 }[$direction]  # NET_FW_RULE_DIRECTION
        $action = 'Allow'
        if ($op.ContainsKey('action')) { $action = $op['action'] }
        $rule.Action = @{ Block = 0; Allow = 1 }[$action]  # NET_FW_ACTION
        $given = @{ protocol = 'TCP' }  # the protocol default; set before the ports
        foreach ($k in $op.Keys) { $given[$k] = $op[$k] }
        Set-FirewallRuleProperty $rule $given
        if ($op.ContainsKey('program')) { $rule.ApplicationName = [Environment]::ExpandEnvironmentVariables($op['program']) }
        if ($op.ContainsKey('service')) { $rule.serviceName = $op['service'] }
        $policy.Rules.Add($rule)
        $r.rule = Get-FirewallRuleState $op['name'] (Find-FirewallRule $policy $op['name'] $op['group'])
    }
    firewall_remove = {
        param($op, $r)
        $policy = Get-FirewallPolicy
        $r.existed = $null -ne (Find-FirewallRule $policy $op['name'] $op['group'])
        if ($r.existed) {
            # INetFwRules.Remove takes a Name: refuse when a rule of another group has the same one
            $namesake = @(foreach ($rule in $policy.Rules) { if ("$($rule.Name)" -eq $op['name']) { $rule } }).Count
            if ($namesake -gt 1) { throw "Another firewall rule is also named '$($op['name'])'; nothing was removed" }
            $policy.Rules.Remove($op['name'])
        }
    }
    service_get = {
        param($op, $r)
        $service = Get-Service -Name $op['name'] -ErrorAction SilentlyContinue -ErrorVariable serviceError
        if ($null -eq $service -and $serviceError.Count -gt 0 -and "$($serviceError[0].CategoryInfo.Category)" -ne 'ObjectNotFound') {
            throw $serviceError[0]  # only "no such service" is an answer
        }
        $r.exists = $null -ne $service
        $r.status = $null
        $r.start_type = $null
        if ($r.exists) {
            $r.status = "$($service.Status)"
            # ServiceController.StartType exists from .NET Framework 4.6.1; WMF 5.1 on Windows 7 /
            # Server 2008 R2 may run on .NET 4.5.x, where the Service Control Manager's own record is
            # read instead (Win32_Service.StartMode: Boot, System, Auto, Manual, Disabled
            # [MicrosoftDocs/win32 desktop-src/CIMWin32Prov/win32-service.md]). The name is allow-listed.
            $startType = $service.PSObject.Properties['StartType']
            if ($null -ne $startType) { $r.start_type = "$($startType.Value)" }
            else {
                $mode = "$((Get-CimInstance -ClassName Win32_Service -Filter "Name='$($op['name'])'" -Property StartMode).StartMode)"
                $r.start_type = @{ Auto = 'Automatic'; Manual = 'Manual'; Disabled = 'Disabled'; Boot = 'Boot'; System = 'System' }[$mode]
            }
        }
    }
    service_restart = {
        param($op, $r)
        Restart-Service -Name $op['name']
        $r.status = "$((Get-Service -Name $op['name']).Status)"
    }
    os_restart = {
        param($op, $r)
        # shutdown.exe schedules the restart and returns at once, so this result still reaches
        # the controller; the action plugin then waits for Win32_OperatingSystem.LastBootUpTime
        # to change, as ansible.windows' reboot does. /d p:4:2: planned, application maintenance.
        $delay = 2
        if ($op.ContainsKey('delay')) { $delay = [int]$op['delay'] }
        $out = & "$env:SystemRoot\System32\shutdown.exe" /r /t $delay /d p:4:2 /c 'winops.volume_activation: restart after rearm' 2>&1
        if ($LASTEXITCODE -ne 0) { throw "shutdown.exe /r failed with exit code ${LASTEXITCODE}: $out" }
        $r.delay = $delay
    }
    ospp_rearm = {
        param($op, $r)
        # What ospp.vbs /rearm runs (OSPP has no rearm method): OSPPREARM.EXE from the OSPP folder
        # (Office 2010) or the Office folder (Office 2013+ on Windows 7), 64- and 32-bit locations.
        $candidates = @(
            "$env:CommonProgramFiles\Microsoft Shared\OfficeSoftwareProtectionPlatform\OSPPREARM.EXE"
            "${env:CommonProgramFiles(x86)}\Microsoft Shared\OfficeSoftwareProtectionPlatform\OSPPREARM.EXE"
            "$env:ProgramFiles\Microsoft Office\Office16\OSPPREARM.EXE"
            "${env:ProgramFiles(x86)}\Microsoft Office\Office16\OSPPREARM.EXE"
            "$env:ProgramFiles\Microsoft Office\Office15\OSPPREARM.EXE"
            "${env:ProgramFiles(x86)}\Microsoft Office\Office15\OSPPREARM.EXE"
        )
        $exe = $candidates | Where-Object { $_ -and (Test-Path -LiteralPath $_ -PathType Leaf) } | Select-Object -First 1
        if ($null -eq $exe) { throw [IO.FileNotFoundException]'OSPPREARM.EXE was not found in the OSPP or Office folders' }
        $null = & $exe 2>&1
        $code = $LASTEXITCODE
        $r.path = $exe
        $r.exit_code = $code
        if ($code -ne 0) {
            # OSPPREARM reports an HRESULT as its exit code (0xC004D307: no rearm left)
            $r.ok = $false
            $r.hresult = ConvertTo-UInt32 $code
            $r.hresult_hex = '0x{0:X8}' -f $r.hresult
            $r.error = "OSPPREARM.EXE exited with $($r.hresult_hex)"
        }
    }
    ad_activation_objects = {
        param($op, $r)
        $container = Get-AdContainer
        $r.domain = $container.domain
        $r.container = $container.dn
        $r.objects = [Collections.Generic.List[object]]::new()
        $searcher = [DirectoryServices.DirectorySearcher]::new([ADSI]"LDAP://$($container.domain)/$($container.dn)",
            "(objectClass=$AdObjectClass)", [string[]]@('displayName', 'distinguishedName', 'msSPP-CSVLKSkuId',
                'msSPP-CSVLKPid', 'msSPP-CSVLKPartialProductKey'))
        $searcher.SearchScope = 'OneLevel'
        foreach ($hit in $searcher.FindAll()) {
            $p = $hit.Properties
            $sku = $null
            if ($p['msspp-csvlkskuid'].Count -gt 0) { $sku = ([guid]::new([byte[]]$p['msspp-csvlkskuid'][0])).ToString() }
            $r.objects.Add([ordered]@{
                name = "$($p['displayname'][0])"; dn = "$($p['distinguishedname'][0])"; sku_id = $sku
                pid = "$($p['msspp-csvlkpid'][0])"; partial_product_key = "$($p['msspp-csvlkpartialproductkey'][0])"
            })
        }
    }
    ad_installation_id = {
        param($op, $r)
        $key = $Secrets[$op['product_key']['secret']][[int]$op['product_key']['index']]
        $service = Get-CimInstance -ClassName SoftwareLicensingService -Property Version
        $out = Invoke-CimMethod -InputObject $service -MethodName GenerateActiveDirectoryOfflineActivationId -Arguments @{ ProductKey = $key }
        $r.installation_id = "$($out.InstallationID)"
    }
    dns_query = {
        param($op, $r)
        $name = $op['name']
        if ($op.ContainsKey('name_from')) {
            $name = $null
            foreach ($ref in @($op['name_from']['first_of'])) {
                $value = "$(Get-ReferencedValue $ref $ref['property'])".Trim()
                if ($value -ne '') { $name = "$($op['name_from']['prefix'])$value"; break }
            }
        }
        $r.name = $name
        $r.status = $null
        $r.records = @()
        if ($null -ne $name) {
            $answer = Invoke-DnsQuery $name $op['type']
            $r.status = $answer.status
            $r.records = $answer.records
        }
    }
    tcp_exchange = {
        param($op, $r)
        $connectMs = 2000
        $receiveMs = 2000
        if ($op.ContainsKey('connect_timeout_ms')) { $connectMs = [int]$op['connect_timeout_ms'] }
        if ($op.ContainsKey('receive_timeout_ms')) { $receiveMs = [int]$op['receive_timeout_ms'] }
        $picked = @(Get-TcpTargets $op)
        $r.source = $picked[0]
        $targets = $picked[1]
        $checkPorts = @($op['check_ports'] | Where-Object { $null -ne $_ })
        $r.targets = [Collections.Generic.List[object]]::new()
        foreach ($target in @($targets)) {
            $entry = [ordered]@{ host = $target.host; port = $target.port; addresses = @(); dns_status = 0 }
            $literal = $null
            if ([Net.IPAddress]::TryParse($target.host, [ref]$literal) -and $literal.AddressFamily -eq 'InterNetwork') { $entry.addresses = @($target.host) }
            else {
                $answer = Invoke-DnsQuery $target.host 'A'
                $entry.dns_status = $answer.status
                $entry.addresses = @($answer.records | Where-Object { $_['type'] -eq 'A' } | ForEach-Object { $_['address'] })
            }
            $connection = Connect-Tcp $entry.addresses $target.port $connectMs
            foreach ($k in @('connected', 'address', 'error_code', 'connect_ms')) { $entry[$k] = $connection[$k] }
            $entry.check_ports = @()
            if ($connection.connected) {
                try {
                    if ($op.ContainsKey('send')) { $null = $connection.socket.Send([Convert]::FromBase64String($op['send'])) }
                    $frame = Receive-Frame $connection.socket $op $receiveMs
                    foreach ($k in $frame.Keys) { $entry[$k] = $frame[$k] }
                }
                catch { $entry.receive_error_code = Get-SocketErrorCode $_ }
                finally { $connection.socket.Close() }
            }
            elseif ($entry.addresses.Count -gt 0 -and $checkPorts.Count -gt 0) {
                $entry.check_ports = @(Test-TcpPorts $entry.addresses[0] $checkPorts $connectMs)
            }
            $r.targets.Add($entry)
        }
    }
    ad_activation_object_remove = {
        param($op, $r)
        $container = Get-AdContainer
        $entry = [ADSI]"LDAP://$($container.domain)/$($op['dn'])"
        $r.existed = [DirectoryServices.DirectoryEntry]::Exists($entry.Path)
        if ($r.existed) {
            if ($entry.SchemaClassName -ne $AdObjectClass) { throw "'$($op['dn'])' is not an $AdObjectClass" }
            $entry.DeleteTree()
        }
    }
}

# --- Run: validate everything, then execute in order -----------------------------------
$operations = @($module.Params.operations)
if ($operations.Count -eq 0) { $module.FailJson('Invalid operation batch: operations is empty') }
for ($i = 0; $i -lt $operations.Count; $i++) {
    $problem = Get-OperationError $operations[$i] $i
    if ($null -ne $problem) { $module.FailJson("Invalid operation batch, nothing was run: $problem") }
}
if ($module.CheckMode) {
    for ($i = 0; $i -lt $operations.Count; $i++) {
        if ($ReadOps -notcontains $operations[$i]['op']) {
            $module.FailJson("Invalid operation batch, nothing was run: operation $i ($($operations[$i]['op'])) changes the host and the task runs in check mode")
        }
    }
}

$results = [Collections.Generic.List[object]]::new()
$stopped = $false
$failedBefore = $false
foreach ($op in $operations) {
    $r = [ordered]@{ op = $op['op']; ok = $true }
    $reads = $ReadOps -contains $op['op']
    # skip_after_failure: this mutating operation, and every mutating one after it, is skipped
    # when a mutating operation before it failed (whatever stop_on_error says).
    if (-not $reads -and $failedBefore -and $op['skip_after_failure'] -eq $true) { $stopped = $true }
    # stop_on_error: a failed mutating operation skips the mutating operations after it; read
    # operations always run, so a read-back at the end of the batch shows the state after it.
    if ($stopped -and -not $reads) {
        $r.ok = $false
        $r.skipped = $true
    }
    else {
        try { $null = & $Handlers[$op['op']] $op $r }  # stray pipeline output would corrupt the module's JSON
        catch {
            # keep what the handler recorded before the failure (e.g. deleted so far)
            $r.ok = $false
            $info = Get-ErrorInfo $_
            foreach ($k in $info.Keys) { $r[$k] = $info[$k] }
        }
        if (-not $r.ok -and -not $reads) {
            $failedBefore = $true
            if ($module.Params.stop_on_error) { $stopped = $true }
        }
        if (-not $reads) {
            # changed only when something was really done: a succeeded invocation, a deletion,
            # a removal of something that existed, or any other mutating op that succeeded
            if ($r.Contains('invocations')) { $done = @($r.invocations | Where-Object { $null -eq $_.hresult }).Count -gt 0 }
            elseif ($r.Contains('deleted')) { $done = $r.deleted -gt 0 }
            elseif ($r.Contains('existed')) { $done = $r.ok -and $r.existed }
            else { $done = $r.ok }
            if ($done) { $module.Result.changed = $true }
        }
    }
    $results.Add($r)
}

$module.Result.results = $results
$module.ExitJson()
