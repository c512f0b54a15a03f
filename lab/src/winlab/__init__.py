"""winlab: a simulated Windows fleet for volume-activation work, reached over real WinRM.

The lab imitates Windows, never the collection: nothing here imports
``ansible_collections.winops.volume_activation``. See ``lab/README.md``.
"""

__version__ = "0.1.0"
