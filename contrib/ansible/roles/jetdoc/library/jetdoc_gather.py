#!/usr/bin/python
# -*- coding: utf-8 -*-
# Licensed under the Apache License, Version 2.0 (the jetdoc repository's LICENSE).
"""Ansible module: what jetdoc says about the host (version, status, check), in one round trip."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: jetdoc_gather
short_description: Gather jetdoc --version, jetdoc status --format json and jetdoc check --format json
description:
  - Only reads; never changes the host, in check mode or not.
  - A command that fails or prints no JSON is reported in the result (C(error)), not as a failure
    of the task, so that every host has an entry in the fleet report.
options:
  jetdoc: {type: path, default: /usr/local/bin/jetdoc, description: The jetdoc binary.}
  root: {type: path, description: --root, a device root filesystem mounted there.}
  global_args: {type: list, elements: str, default: [], description: Options before the subcommand.}
  status: {type: bool, default: true, description: Gather jetdoc status --format json.}
  check: {type: bool, default: true, description: Gather jetdoc check --format json.}
  check_args: {type: list, elements: str, default: [], description: Arguments of jetdoc check (--only ...).}
"""

RETURN = r"""
version: {description: The installed jetdoc's version, type: str}
status: {description: "{rc, json, error}: jetdoc status --format json", type: dict}
check: {description: "{rc, json, summary, failed (ids of failed or crashed checks), device, error}", type: dict}
"""

import json

from ansible.module_utils.basic import AnsibleModule

ENV = {"NO_COLOR": "1", "LC_ALL": "C"}


def run_json(module, argv):
    rc, out, err = module.run_command(argv, environ_update=ENV)
    data = None
    if out.strip().startswith("{"):
        try:
            data = json.loads(out)
        except ValueError:
            pass
    error = None
    if data is None:
        lines = [l for l in err.splitlines() if l.strip()]
        error = lines[0] if lines else "exit %d and no JSON on stdout" % rc
    return dict(rc=rc, json=data, error=error)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            jetdoc=dict(type="path", default="/usr/local/bin/jetdoc"),
            root=dict(type="path"),
            global_args=dict(type="list", elements="str", default=[]),
            status=dict(type="bool", default=True),
            check=dict(type="bool", default=True),
            check_args=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    base = [p["jetdoc"]] + (["--root", p["root"]] if p["root"] else []) + p["global_args"]
    base += ["--format", "json", "--color", "never"]

    rc, out, err = module.run_command([p["jetdoc"], "--version"], environ_update=ENV)
    if rc != 0:
        module.fail_json(msg="%s --version failed (exit %d): %s" % (p["jetdoc"], rc, err.strip()), rc=rc)
    # "jetdoc 0.1.0"
    version = out.strip().split()[-1] if out.strip() else None

    res = dict(changed=False, version=version, status=None, check=None)
    if p["status"]:
        res["status"] = run_json(module, base + ["status"])
    if p["check"]:
        c = run_json(module, base + ["check"] + p["check_args"])
        data = c["json"] or {}
        checks = data.get("checks") or []
        c["summary"] = data.get("summary")
        c["failed"] = [x.get("id") for x in checks if x.get("status") in ("fail", "error")]
        c["device"] = data.get("device")
        res["check"] = c
    module.exit_json(**res)


if __name__ == "__main__":
    main()
