"""Behind a trusted proxy, rate limits and URLs see the visitor, not the proxy."""

from web_oauth import create_app


def test_forwarded_address_is_trusted_only_with_proxy_hops(services, make_settings):
    def remote_addr(app):
        seen = {}

        @app.get("/_test/addr")
        def addr():  # type: ignore[no-untyped-def]
            from flask import request

            seen["addr"] = request.remote_addr
            return "ok"

        app.test_client().get("/_test/addr", headers={"X-Forwarded-For": "203.0.113.9"})
        return seen["addr"]

    direct = create_app(services=services, test_config={"TESTING": True})
    assert remote_addr(direct) == "127.0.0.1"

    services.settings = make_settings(CLOUDBOX_PROXY_HOPS="1")
    proxied = create_app(services=services, test_config={"TESTING": True})
    assert remote_addr(proxied) == "203.0.113.9"
