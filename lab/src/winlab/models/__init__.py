"""Pure-state models of a simulated Windows fleet: hosts, licensing, KMS, activation, DNS view.

Nothing here touches sockets or threads (except ``World.lock``); surfaces and servers
call into these models. See ``world.World`` for the entry point.
"""
