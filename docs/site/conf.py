# Copyright (c) Ansible Project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Created with antsibull-docs 2.28.0

# This file only contains a selection of the most common options. For a full list see the
# documentation:
# http://www.sphinx-doc.org/en/master/config

project = 'winops.volume_activation'
copyright = 'winops volume activation team'

title = 'winops.volume_activation'
html_short_title = 'winops.volume_activation'

import pathlib
import tempfile
import zlib

# The site builds offline (make docs), so intersphinx cannot download Ansible's inventory. The
# generated pages refer to a few labels of the Ansible documentation (action plugins, common return
# values, the modules of other collections named in seealso): docs/site/ansible-refs.txt lists them
# with their pages, and this writes them as a local Sphinx inventory, so they become real links.
_REFS = pathlib.Path(__file__).with_name('ansible-refs.txt')


def _local_inventory() -> str:
    entries = []
    for line in _REFS.read_text(encoding='utf-8').splitlines():
        if line.strip() and not line.startswith('#'):
            label, uri, title = line.split(None, 2)
            entries.append(f'{label} std:label -1 {uri} {title}\n')
    path = pathlib.Path(tempfile.mkdtemp(prefix='winops-docs-')) / 'ansible_devel.inv'
    header = b'# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n# The remainder of this file is compressed using zlib.\n'
    path.write_bytes(header + zlib.compress(''.join(entries).encode('utf-8')))
    return str(path)


extensions = ['sphinx.ext.intersphinx', 'sphinx_antsibull_ext']
intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', _local_inventory()),
}

pygments_style = 'ansible'

highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False

display_version = False

html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False


default_role = 'any'

nitpicky = True
