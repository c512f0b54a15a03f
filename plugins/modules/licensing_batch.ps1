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
    cim_query = @{ req = @('class'); opt = @('namespace', 'filter', 'properties') }
    cim_invoke = @{ req = @('class', 'method'); opt = @('namespace', 'filter', 'arguments', 'static') }
    cim_delete = @{ req = @('class', 'filter'); opt = @('namespace') }
    reg_get = @{ req = @('path'); opt = @('names') }
    reg_set = @{ req = @('path', 'name', 'type', 'value'); opt = @() }
    reg_remove = @{ req = @('path', 'name'); opt = @() }
    firewall_get = @{ req = @('name'); opt = @() }
    firewall_set = @{ req = @('name'); opt = @('enabled', 'profiles', 'remote_addresses', 'local_ports') }
    firewall_create = @{
        req = @('name', 'display_name')
        opt = @('description', 'group', 'direction', 'action', 'protocol', 'local_ports', 'remote_addresses', 'profiles', 'enabled', 'program', 'service')
    }
    firewall_remove = @{ req = @('name'); opt = @() }
    service_get = @{ req = @('name'); opt = @() }
    service_restart = @{ req = @('name'); opt = @() }
    ad_activation_objects = @{ req = @(); opt = @() }
    ad_installation_id = @{ req = @('product_key'); opt = @() }
    ad_activation_object_remove = @{ req = @('dn'); opt = @() }
}
# ad_installation_id only computes an ID (GenerateActiveDirectoryOfflineActivationId changes
# nothing; Get-ADLicenseInfo -ProductKey is documented read-only for the same call).
$ReadOps = @('cim_query', 'reg_get', 'firewall_get', 'service_get', 'ad_activation_objects', 'ad_installation_id')
# lower-case spelling -> the spelling passed to WMI; '\' is accepted and turned into '/'
$Namespaces = @{ 'root/cimv2' = 'root/cimv2'; 'root/microsoftdns' = 'root/MicrosoftDNS' }
$QueryClasses = @('SoftwareLicensingService', 'SoftwareLicensingProduct', 'OfficeSoftwareProtectionService',
    'OfficeSoftwareProtectionProduct', 'Win32_OperatingSystem', 'MicrosoftDNS_SRVType', 'MicrosoftDNS_Zone',
    'Win32_ComputerSystem')
$ServiceMethods = @('InstallProductKey', 'RefreshLicenseStatus', 'SetKeyManagementServiceMachine',
    'ClearKeyManagementServiceMachine', 'SetKeyManagementServicePort', 'ClearKeyManagementServicePort',
    'SetKeyManagementServiceLookupDomain', 'ClearKeyManagementServiceLookupDomain', 'SetVLActivationInterval',
    'SetVLRenewalInterval', 'SetKeyManagementServiceListeningPort', 'ClearKeyManagementServiceListeningPort',
    'DisableKeyManagementServiceDnsPublishing', 'EnableKeyManagementServiceLowPriority',
    'DisableKeyManagementServiceHostCaching', 'SetVLActivationTypeEnabled', 'ClearVLActivationTypeEnabled',
    'DoActiveDirectoryOnlineActivation', 'DepositActiveDirectoryOfflineActivationConfirmation')
$ProductMethods = @('Activate', 'UninstallProductKey', 'DepositOfflineConfirmationId', 'SetKeyManagementServiceMachine',
    'ClearKeyManagementServiceMachine', 'SetKeyManagementServicePort', 'ClearKeyManagementServicePort',
    'SetKeyManagementServiceLookupDomain', 'ClearKeyManagementServiceLookupDomain', 'SetVLActivationTypeEnabled',
    'ClearVLActivationTypeEnabled')
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
    # a .NET method called from PowerShell wraps its exception; the HRESULT is the inner one's
    if ($e -is [Management.Automation.MethodInvocationException] -and $null -ne $e.InnerException) { $e = $e.InnerException }
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
    # the character class also keeps wildcards away from Get-NetFirewallRule -Name
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
        foreach ($p in @($Op['properties'])) {
            if ("$p" -notmatch '^[A-Za-z_][A-Za-z0-9_]*$') { return "${where}: '$p' is not a property name" }
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
        if ($name -eq 'firewall_create' -and $FirewallRules -contains "$($Op['name'])") { return "${where}: '$($Op['name'])' is a built-in rule" }
        # [bool]'no' is $true in PowerShell: insist on a real boolean
        if ($Op.ContainsKey('enabled') -and $Op['enabled'] -isnot [bool]) { return "${where}: enabled must be a bool" }
        if ($Op.ContainsKey('direction') -and @('Inbound', 'Outbound') -cnotcontains $Op['direction']) { return "${where}: direction must be Inbound or Outbound" }
        if ($Op.ContainsKey('action') -and @('Allow', 'Block') -cnotcontains $Op['action']) { return "${where}: action must be Allow or Block" }
    }
    elseif ($name -like 'service_*') {
        if ($Services -notcontains "$($Op['name'])") { return "${where}: service '$($Op['name'])' is not allowed" }
    }
    elseif ($name -eq 'ad_installation_id') {
        if (-not (Test-SecretReference $Op['product_key'])) { return "${where}: product_key must be a secret reference" }
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

function Get-FirewallRuleState([string]$Name) {
    $rule = Get-NetFirewallRule -Name $Name -ErrorAction SilentlyContinue -ErrorVariable ruleError
    if ($null -eq $rule) {
        # "no such rule" is an answer; any other failure is raised as Windows reported it
        if ($ruleError.Count -gt 0 -and "$($ruleError[0].CategoryInfo.Category)" -ne 'ObjectNotFound') { throw $ruleError[0] }
        return $null
    }
    $ports = $rule | Get-NetFirewallPortFilter
    $addresses = $rule | Get-NetFirewallAddressFilter
    [ordered]@{
        name = $rule.Name
        display_name = $rule.DisplayName
        group = $rule.Group  # the locale-independent group (often an @resource string), not DisplayGroup
        description = $rule.Description
        enabled = "$($rule.Enabled)" -eq 'True'  # an enum with members True/False, not a bool
        direction = "$($rule.Direction)"
        action = "$($rule.Action)"
        profiles = @("$($rule.Profile)" -split ', ')  # flags enum: 'Any' or e.g. 'Domain, Private'
        protocol = "$($ports.Protocol)"
        local_ports = @($ports.LocalPort | ForEach-Object { "$_" })
        remote_addresses = @($addresses.RemoteAddress | ForEach-Object { "$_" })
        program = "$(($rule | Get-NetFirewallApplicationFilter).Program)"
        service = "$(($rule | Get-NetFirewallServiceFilter).Service)"
    }
}

function Get-FirewallParameters($Op) {
    $names = [ordered]@{
        name = 'Name'; display_name = 'DisplayName'; description = 'Description'; group = 'Group'
        direction = 'Direction'; action = 'Action'; protocol = 'Protocol'; local_ports = 'LocalPort'
        remote_addresses = 'RemoteAddress'; profiles = 'Profile'; enabled = 'Enabled'; program = 'Program'; service = 'Service'
    }
    $params = @{ ErrorAction = 'Stop' }
    foreach ($key in $names.Keys) {
        if (-not $Op.ContainsKey($key)) { continue }
        $value = $Op[$key]
        if ($key -eq 'enabled') { $value = "$([bool]$value)" }  # -Enabled takes the strings True/False
        elseif ($key -eq 'profiles') { $value = @($value) -join ',' }  # 'Domain,Private' converts to the flags enum
        elseif ($key -in @('local_ports', 'remote_addresses')) { $value = [string[]]@($value) }
        $params[$names[$key]] = $value
    }
    $params
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
            # Product classes: select only the key (enough to invoke), as slmgr.vbs selects only
            # what it needs [SLMGR10]; instances from Get-CimInstance carry their class, so
            # arguments are converted to the declared types here too.
            $select = '*'
            if ($KeyProperty[$class] -eq 'ID') { $select = 'ID' }
            $targets = @(Get-CimInstance -Namespace (Get-Namespace $op) -Query (Get-WqlQuery $op $select))
        }
        $r.matched = $targets.Count
        $r.invocations = [Collections.Generic.List[object]]::new()
        foreach ($target in $targets) {
            $inv = [ordered]@{ key = $null; return_value = $null; out = $null; hresult = $null; error = $null }
            if (-not $static) { $inv.key = @{ $KeyProperty[$class] = ConvertTo-ResultValue $target.CimInstanceProperties[$KeyProperty[$class]].Value } }
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
        $r.rule = Get-FirewallRuleState $op['name']
        $r.exists = $null -ne $r.rule
    }
    firewall_set = {
        param($op, $r)
        $params = Get-FirewallParameters $op
        Set-NetFirewallRule @params  # a missing rule fails here with the Windows error
        $r.rule = Get-FirewallRuleState $op['name']
    }
    firewall_create = {
        param($op, $r)
        $params = @{ Direction = 'Inbound'; Action = 'Allow'; Protocol = 'TCP' }  # protocol defaults
        $given = Get-FirewallParameters $op
        foreach ($k in $given.Keys) { $params[$k] = $given[$k] }
        New-NetFirewallRule @params | Out-Null
        $r.rule = Get-FirewallRuleState $op['name']
    }
    firewall_remove = {
        param($op, $r)
        $r.existed = $null -ne (Get-FirewallRuleState $op['name'])
        if ($r.existed) { Remove-NetFirewallRule -Name $op['name'] }
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
            $r.start_type = "$($service.StartType)"  # ServiceController.StartType: .NET 4.6.1+, as in PowerShell 5.1
        }
    }
    service_restart = {
        param($op, $r)
        Restart-Service -Name $op['name']
        $r.status = "$((Get-Service -Name $op['name']).Status)"
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
