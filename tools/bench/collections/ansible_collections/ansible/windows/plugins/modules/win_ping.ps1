#!powershell
# A stand-in for ansible.windows.win_ping, used by tools/bench.py only: ansible.windows is not
# installed in this repository's environment. Same module name, option and result as the real
# module (Ansible.Basic, option data, returns ping), written here, so that a sweep of it costs
# the controller what a win_ping sweep costs: one PowerShell module execution per host.

#AnsibleRequires -CSharpUtil Ansible.Basic

$spec = @{
    options = @{ data = @{ type = 'str'; default = 'pong' } }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
if ($module.Params.data -eq 'crash') { throw 'boom' }
$module.Result.ping = $module.Params.data
$module.ExitJson()
