"""What a simulated host answers: Ansible module executions (``modules``), the
collection's executor operations (``executor``), and command lines / text renderers
(``commands``, ``slmgr``, ``ospp``)."""
