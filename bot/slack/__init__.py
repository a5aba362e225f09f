"""The Slack front end: a Bolt app translating Slack payloads to the command core and back.

`app.build_bolt_app` wires it; `blueprint.init_app` mounts it on Flask at `/slack/...`;
`socket_mode` runs it over an app-level token without a public URL.
"""
