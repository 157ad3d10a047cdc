#!/usr/bin/env python3
"""tests/data/userdata/roundtrip.py — reads stoker's rendered user data with independent
parsers (gzip, email, PyYAML, tomllib, shlex) and prints every field as JSON, so the C test
(tests/unit/test_userdata_roundtrip.c) can check that what a node's own tooling would read is
what stoker was asked to render. Usage: roundtrip.py FILE (gzip or plain)."""
import email
import email.policy
import gzip
import json
import shlex
import sys
import tomllib

import yaml


def shell_facts(text):
    """The bootstrap.sh call of an AL2 shell part, split as bash would."""
    for line in text.splitlines():
        if line.startswith("/etc/eks/bootstrap.sh"):
            words = shlex.split(line)
            out = {"cluster": words[1], "args": {}}
            i = 2
            while i + 1 < len(words):
                out["args"][words[i]] = words[i + 1]
                i += 2
            extra = out["args"].get("--kubelet-extra-args", "")
            out["kubelet"] = shlex.split(extra)
            return out
    return None


def main():
    data = open(sys.argv[1], "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    result = {"format": "text"}
    if text.startswith("MIME-Version") or text.startswith("Content-Type"):
        msg = email.message_from_string(text, policy=email.policy.compat32)
        result = {"format": "mime", "content_type": msg.get_content_type(),
                  "boundary": msg.get_boundary(), "parts": []}
        for part in msg.get_payload():
            payload = part.get_payload(decode=True).decode("utf-8")
            entry = {"content_type": part.get_content_type(), "body": payload}
            if part.get_content_type() == "application/node.eks.aws":
                entry["nodeconfig"] = yaml.safe_load(payload)
            if part.get_content_type() == "text/x-shellscript":
                entry["bootstrap"] = shell_facts(payload)
            result["parts"].append(entry)
    elif text.lstrip().startswith("[settings"):
        result = {"format": "toml", "toml": tomllib.loads(text)}
    json.dump(result, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
