#!/usr/bin/python
# -*- coding: utf-8 -*-
# Licensed under the Apache License, Version 2.0 (the jetdoc repository's LICENSE).
"""Ansible module: `jetdoc provision PROFILE --yes --format json` on the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: jetdoc_provision
short_description: Provision a jetdoc profile on the host; check mode is jetdoc's --dry-run
description:
  - Runs C(jetdoc provision PROFILE --yes --format json), with C(--locked FILE) when given.
  - Reports C(changed) unless jetdoc answers that the profile is up to date (nothing transferred,
    nothing rebuilt), so a second run over an unchanged fleet reports ok.
  - In check mode it runs C(--dry-run): jetdoc plans and changes nothing; C(changed) then means
    that the plan has work to do.
  - Fails when jetdoc exits non-zero (stopped by a check, refused by the profile, a step failed,
    a lock that differs), with jetdoc's JSON answer in C(output).
options:
  profile: {type: str, required: true, description: A profile name or a profile file on the host.}
  jetdoc: {type: path, default: /usr/local/bin/jetdoc, description: The jetdoc binary.}
  locked: {type: path, description: A lock file on the host (--locked).}
  root: {type: path, description: --root, a device root filesystem mounted there.}
  global_args: {type: list, elements: str, default: [], description: Options before the subcommand.}
  args: {type: list, elements: str, default: [], description: More provision flags (--fix, --no-run, --offline).}
"""

RETURN = r"""
result: {description: "jetdoc's result: up-to-date, provisioned, stopped, refused, failed; planned or blocked for a dry run; error when jetdoc printed no JSON (its own error, exit 2)", type: str}
message: {description: "Why it did not succeed: the failed step and its message, what blocked it, the refusal, or jetdoc's error", type: str}
summary: {description: "What it came to, in a few words: the image tag (provisioned, up to date) or, for a dry run, the base the plan chose and what it would do with it (pull, local, pinned)", type: str}
output: {description: jetdoc's JSON answer, type: dict}
dry_run: {description: Whether this was a --dry-run (check mode), type: bool}
rc: {description: jetdoc's exit code, type: int}
"""

import json

from ansible.module_utils.basic import AnsibleModule


def parse_json(text):
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def classify(rc, data, dry_run):
    """jetdoc's answer as one word, and the reason when it did not succeed."""
    if data is None:
        return "error", None
    if "result" in data:
        result = data["result"]
    elif "refused" in data:
        result = "refused"
    elif dry_run:
        result = "planned" if rc == 0 else "blocked"
    else:
        result = "error"
    if rc == 0:
        return result, None
    if result == "failed" and data.get("step"):
        # {"result": "failed", "step": "smoke", "message": ..., "resume": ...}
        message = "step %s: %s" % (data["step"], data.get("message") or "failed")
    elif data.get("message"):
        message = data["message"]
    elif data.get("blocked_by"):
        message = "; ".join(str(b) for b in data["blocked_by"])
    elif isinstance(data.get("refused"), dict):
        message = data["refused"].get("reason")
    else:
        message = None
    return result, message


def summarize(data):
    """The image a provision left, or the base a plan chose."""
    if not isinstance(data, dict):
        return None
    state = data.get("state")
    if isinstance(state, dict) and isinstance(state.get("image"), dict):
        return state["image"].get("tag")
    base = data.get("base")
    if isinstance(base, dict) and base.get("chosen"):
        return "%s %s" % (base.get("action") or "base", base["chosen"])
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type="str", required=True),
            jetdoc=dict(type="path", default="/usr/local/bin/jetdoc"),
            locked=dict(type="path"),
            root=dict(type="path"),
            global_args=dict(type="list", elements="str", default=[]),
            args=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    argv = [p["jetdoc"]]
    if p["root"]:
        argv += ["--root", p["root"]]
    argv += p["global_args"] + ["--format", "json", "--color", "never", "provision", p["profile"], "--yes"]
    if p["locked"]:
        argv += ["--locked", p["locked"]]
    if module.check_mode:
        argv.append("--dry-run")
    argv += p["args"]

    rc, out, err = module.run_command(argv, environ_update={"NO_COLOR": "1", "LC_ALL": "C"})
    data = parse_json(out)
    result, message = classify(rc, data, module.check_mode)
    if rc != 0 and not message:
        # jetdoc's own errors (exit 2) are printed on stderr; its first line says what was wrong.
        lines = [l for l in err.splitlines() if l.strip()]
        message = lines[0] if lines else "exit %d with no output" % rc
    res = dict(
        changed=rc == 0 and result != "up-to-date",
        rc=rc,
        cmd=argv,
        result=result,
        message=message,
        summary=summarize(data),
        dry_run=module.check_mode,
        output=data,
        stderr_lines=err.splitlines()[-40:],
    )
    if rc != 0:
        module.fail_json(msg="jetdoc provision %s: %s: %s" % (p["profile"], result, message), **res)
    module.exit_json(**res)


if __name__ == "__main__":
    main()
