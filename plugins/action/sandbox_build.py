# -*- coding: utf-8 -*-
# Copyright (c) Slipway maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slipway.paas.sandbox_build: the deploy playbook's build step, in ansible-playbook's worker (no module process).

The build's output is shown line by line through Ansible's display as it is printed: a worker's display calls go
to ansible-playbook's main process, which writes them to its stdout (ansible-runner's stdout and its verbose
events, the pusher's terminal through the git hook).
"""

from __future__ import annotations

import os
import shlex
import subprocess

import yaml

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.slipway.paas.plugins.modules.sandbox_build import ARGUMENT_SPEC

display = Display()

PROCFILE_LIMIT = 65536


class BuildFailed(Exception):
    pass


def git(repo, *args):
    return subprocess.run(['git', '--git-dir=' + repo, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          check=False)


def read_procfile(repo, sha):
    """The commit's Procfile, from the repository itself: a regular file at the root, else ""."""
    listed = git(repo, 'ls-tree', '-z', sha, '--', 'Procfile')
    if listed.returncode != 0:
        raise BuildFailed('commit %s is not in the repository' % sha)
    mode = listed.stdout.split(b' ', 1)[0]
    if mode not in (b'100644', b'100755'):
        return ''
    return git(repo, 'cat-file', 'blob', sha + ':Procfile').stdout[:PROCFILE_LIMIT].decode('utf-8', 'replace')


def unpack(repo, sha, dest):
    """The commit's tree into dest (made here), owned by this user, with this user's permissions."""
    os.mkdir(dest, 0o755)
    archive = subprocess.Popen(['git', '--git-dir=' + repo, 'archive', '--format=tar', sha],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tar = subprocess.run(['tar', '-x', '-C', dest, '--no-same-owner', '--no-same-permissions'],
                         stdin=archive.stdout, capture_output=True, check=False)
    archive.stdout.close()
    err = archive.stderr.read()
    if archive.wait() != 0 or tar.returncode != 0:
        why = (err or tar.stderr).decode('utf-8', 'replace').strip()
        raise BuildFailed('the commit could not be unpacked: %s' % why)


def run_streamed(argv, stdin):
    """Run argv with stdin, showing every line it prints (stdout and stderr) as it comes; its exit status."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proc.stdin.write(stdin)
    proc.stdin.close()
    for raw in iter(proc.stdout.readline, b''):
        # shown at every verbosity; verbose() rather than display(), whose ansible-runner wrapper would write its
        # event markers to this worker's own stdout instead of ansible-playbook's
        display.verbose(raw.decode('utf-8', 'replace').rstrip('\r\n'), caplevel=-1)
    proc.stdout.close()
    return proc.wait()


def read_result(workdir):
    """What the sandbox left: the image's reference, the buildpack's default process types."""
    with open(os.path.join(workdir, 'image'), encoding='utf-8') as fh:
        image = fh.read().strip()
    types = {}
    release = os.path.join(workdir, 'release.yml')
    if os.path.exists(release):
        with open(release, encoding='utf-8') as fh:
            types = (yaml.safe_load(fh) or {}).get('default_process_types') or {}
    return image, types


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if self._connection.transport != 'local':
            return dict(result, failed=True, msg='slipway.paas.sandbox_build runs on the builder itself: '
                                                 'use the local connection')
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        try:
            procfile = read_procfile(args['repo'], args['sha'])
            if self._task.check_mode:
                return dict(result, changed=True, image='', procfile=procfile, default_process_types={})
            unpack(args['repo'], args['sha'], os.path.join(args['workdir'], 'src'))
            argv = shlex.split(args['command']) + ['build', args['app'], args['app_uuid'], args['sha'],
                                                   args['workdir']]
            rc = run_streamed(argv, (args['push_token'] + '\n').encode())
            if rc != 0:
                raise BuildFailed('The build failed (exit %d; its output is above).' % rc)
            image, types = read_result(args['workdir'])
        except (BuildFailed, OSError) as e:
            return dict(result, failed=True, msg=str(e))
        return dict(result, changed=True, image=image, procfile=procfile, default_process_types=types)
