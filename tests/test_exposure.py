"""The exposure rules (SLS301-SLS303) beyond their fixtures: the `public:` forms, the secret
detector's edges, locations in included files, and fingerprints that survive edits."""
from __future__ import annotations

import textwrap
from types import SimpleNamespace

import pytest

from analyzer.api import audit
from analyzer.loaders import symbols as S
from rules.exposure import (
    allowed_public,
    classify_secret,
    is_placeholder,
    secret_name,
    shannon_entropy,
)


def _repo(tmp_path, files: dict):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def _findings(path, rule):
    return [f for f in audit(path, cache=False).findings if f.rule == rule]


# ---- the `public:` allowlist ------------------------------------------------------------------

def _cfg(*entries):
    return SimpleNamespace(public=list(entries))


@pytest.mark.parametrize("entry, endpoint, expected", [
    ("GET /health", ("users", "health", "GET", "/health"), True),
    ("GET /health", ("users", "health", "POST", "/health"), False),
    ("get /health", ("users", "health", "GET", "health"), True),       # REST paths without a slash
    ("GET /health", ("users", "health", "ANY", "/health"), False),     # ANY exposes more than GET
    ("ANY /health", ("users", "health", "DELETE", "/health"), True),
    ("* /health", ("users", "health", "ANY", "/health"), True),
    ("/health", ("users", "health", "PUT", "/health/"), True),
    ("/public/*", ("users", "x", "GET", "/public/a/b"), True),
    ("/public/*", ("users", "x", "GET", "/private/a"), False),
    ("users:getHealth", ("users", "getHealth", "GET", "/h"), True),
    ("users:getHealth", ("orders", "getHealth", "GET", "/h"), False),
    ("users:*", ("users", "anything", "POST", "/x"), True),
    ("*:health*", ("orders", "healthCheck", "GET", "/x"), True),
    ("users:GET /health", ("users", "h", "GET", "/health"), True),
    ("users:GET /health", ("orders", "h", "GET", "/health"), False),
    ("users:/health", ("users", "h", "GET", "/health"), True),
    ("$connect", ("chat", "connect", None, "$connect"), True),
    ("$connect", ("chat", "message", None, "$default"), False),
])
def test_public_entry_forms(entry, endpoint, expected):
    assert allowed_public(_cfg(entry), *endpoint) is expected


def test_a_path_entry_never_matches_a_function_url():
    assert not allowed_public(_cfg("/*"), "reports", "export")
    assert allowed_public(_cfg("reports:export"), "reports", "export")
    assert not allowed_public(_cfg(), "reports", "export")
    assert not allowed_public(SimpleNamespace(), "reports", "export")


# ---- SLS301 -----------------------------------------------------------------------------------

def test_other_providers_are_left_to_their_own_rules(tmp_path):
    _repo(tmp_path, {"serverless.yml": """\
        service: gfn
        provider:
          name: google
          runtime: nodejs18
        functions:
          hello:
            handler: hello
            events:
              - http: path
        """})
    assert _findings(tmp_path, "SLS301") == []


def test_websocket_without_connect_is_silenced_only_when_the_api_is_allowed(tmp_path):
    _repo(tmp_path, {"serverless.yml": """\
        service: feed
        provider:
          name: aws
        functions:
          feed:
            handler: feed.default
            events:
              - websocket: $default
              - websocket: subscribe
        """})
    assert len(_findings(tmp_path, "SLS301")) == 1
    (tmp_path / ".sls-audit.yml").write_text('public: ["$default"]\n', encoding="utf-8")
    assert len(_findings(tmp_path, "SLS301")) == 1          # `subscribe` is still open
    (tmp_path / ".sls-audit.yml").write_text('public: ["$default", "subscribe"]\n', encoding="utf-8")
    assert _findings(tmp_path, "SLS301") == []
    (tmp_path / ".sls-audit.yml").write_text('public: ["$connect"]\n', encoding="utf-8")
    assert _findings(tmp_path, "SLS301") == []


def test_connect_authorizer_covers_every_route_of_the_api(tmp_path):
    _repo(tmp_path, {"serverless.yml": """\
        service: chat
        provider:
          name: aws
        functions:
          auth:
            handler: a.auth
          connect:
            handler: c.connect
            events:
              - websocket:
                  route: $connect
                  authorizer: auth
          message:
            handler: m.message
            events:
              - websocket: $default
              - websocket: send
        """})
    assert _findings(tmp_path, "SLS301") == []


def test_endpoint_fingerprint_survives_inserted_lines(tmp_path):
    text = """\
        service: api
        provider:
          name: aws
        functions:
          get:
            handler: h.get
            events:
              - http: GET items/{id}
        """
    _repo(tmp_path, {"serverless.yml": text})
    before = _findings(tmp_path, "SLS301")
    _repo(tmp_path, {"serverless.yml": text.replace("provider:", "# a comment\n        provider:")})
    after = _findings(tmp_path, "SLS301")
    assert len(before) == len(after) == 1
    assert before[0].line + 1 == after[0].line
    assert before[0].fingerprint == after[0].fingerprint
    assert "GET /items/{id}" in before[0].message and "api.get" in before[0].message


# ---- SLS302 -----------------------------------------------------------------------------------

def test_function_url_authorizers(tmp_path):
    _repo(tmp_path, {"serverless.yml": """\
        service: urls
        provider:
          name: aws
        functions:
          open:
            handler: h.open
            url:
              authorizer: none
          iam:
            handler: h.iam
            url:
              authorizer: AWS_IAM
        """})
    found = _findings(tmp_path, "SLS302")
    assert [f.line for f in found] == [7]
    assert "urls.open" in found[0].message


# ---- SLS303 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, kind", [
    ("ANYTHING", "AKIAFQJJVRVPX3RCQOVS", "AWS access key id"),
    ("AWS_SECRET_ACCESS_KEY", "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", "AWS secret access key"),
    ("PAYMENTS", "sk_live_cpVmfK8NqKHzkAEYL0fqHIXR", "Stripe secret key"),
    ("X", "rk_live_cpVmfK8NqKHzkAEYL0fqHIXR", "Stripe secret key"),
    ("X", "gho_cM0hSziFs7a0NRArT8convjknLsYgSp0TSHP", "GitHub token"),
    ("X", "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789", "GitHub token"),
    ("X", "xoxp-48304425172-482127126059-O7p7k9TOeTB", "Slack token"),
    ("HOOK", "https://hooks.slack.com/services/T01ABCD2E/B02FGHI3J/q8Zr2mXk9LpT4vWn", "Slack webhook URL"),
    ("X", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
     "private key"),
    ("X", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMtYmlsbGluZyJ9.b_GHkldA35xXAGFQBT1CQScY8vh",
     "JSON Web Token"),
    ("X", "AIzayPLT6uBUTWLeSIYq1c8qAeQ9n2rNlixgCSA", "Google API key"),
    ("X", "SK" + "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e", "Twilio API key"),
    ("X", "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", "SendGrid API key"),
    ("BOT", "123456789:AAHk2mQ7xLp4Rt8Zw3Nv6Bc1Hd5Js0GaQ1w", "Telegram bot token"),
    ("DATABASE_URL", "postgres://app:Xk29fLq8Pz@db.prod.internal:5432/app", "password in a connection URL"),
    ("API_TOKEN", "9fK2mQ7xLp4Rt8Zw3Nv6Bc1Hd5Js0Ga", "high-entropy secret"),
    ("clientSecret", "3f2a9c1e-7b4d-4e8a-9c6f-1d2b3a4c5e6f", "high-entropy secret"),
    ("HMAC_KEY", "2e994cee44703f533ebda0238e42cca087efa2023a4346632889dd56bfc4ecbb", "high-entropy secret"),
    ("DB_PASSWORD", "Tr0ub4dor&3", "password"),
])
def test_secrets_found(name, value, kind):
    assert classify_secret(name, value) == kind


@pytest.mark.parametrize("name, value", [
    ("DB_PASSWORD", "password"),                                  # a low-entropy word
    ("API_KEY", "abc123"),
    ("WEBHOOK_SECRET", "changeme"),
    ("GITHUB_WEBHOOK_SECRET", "REPLACE-WITH-YOUR-SECRET-HERE"),
    ("SERVICE_BUS", "<AzureServiceBusConnectionString>"),
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),                # AWS's documented example
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("STRIPE_KEY", "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"),
    ("TOKEN_TABLE", "billing-prod-api-tokens"),                   # names a thing about the secret
    ("SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC123"),
    ("DB_SECRET_NAME", "billing/prod/db-credentials-2024"),
    ("OAUTH_CLIENT_ID", "6d0f6b1c9a3e4c27a8e1f0b5d2c7a9e4"),
    ("STRIPE_PUBLISHABLE_KEY", "pk_live_51HxQ2bKcv8Zr7mTq9Lz"),
    ("AUTH_SERVICE", "https://auth.example.org/oauth2/token"),     # a URL without credentials
    ("DATABASE_URL", "postgres://postgres:postgres@localhost:5432/app"),
    ("DATABASE_URL", "mysql://db.internal:3306/app"),
    ("SECRET_TOKEN_STORE", "orders-prod-v2-session-tokens"),      # a lowercase name made of words
    ("AUTH_DOMAIN", "billing-prod.eu.auth0.com"),
    ("ADMIN_EMAIL", "security-team@example.org"),
    ("SESSION_SECRET", "The quick brown fox jumps over"),          # words, not a key
    ("ACCOUNT_TOKEN", "1234567890123456"),
    ("REGION", "eu-west-1"),
    ("PASSWORD", "supersecretpassword"),                           # one character class, low entropy
])
def test_not_secrets(name, value):
    assert classify_secret(name, value) is None


@pytest.mark.parametrize("value", [
    S.SsmRef(kind="SsmRef", ref="ssm:/billing/stripe", path="/billing/stripe"),
    S.SymStr(("postgres://app:", S.SsmRef(kind="SsmRef", ref="ssm:/db/pw", path="/db/pw"), "@db/app")),
    {"Ref": "DbSecret"},
    {"Fn::GetAtt": ["Db", "Endpoint.Address"]},
    12345678901234567890,
    True,
    None,
])
def test_only_plain_strings_are_judged(value):
    assert classify_secret("DB_PASSWORD", value) is None


def test_names_and_helpers():
    assert secret_name("DB_PASSWORD") == "password"
    assert secret_name("stripeApiKey") == "secret"
    assert secret_name("GITHUB_TOKEN") == "secret"
    assert secret_name("TOKEN_TTL") is None
    assert secret_name("AWS_ACCESS_KEY_ID") is None
    assert secret_name("PUBLIC_KEY") is None
    assert secret_name("ORDERS_TABLE") is None
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == 2.0
    assert is_placeholder("<token>") and is_placeholder("{{ secret }}") and not is_placeholder("Zq8#vT2!pLr6")


def test_provider_secret_reported_once_and_never_printed(tmp_path):
    secret = "9fK2mQ7xLp4Rt8Zw3Nv6Bc1Hd5Js0Ga"
    _repo(tmp_path, {"serverless.yml": f"""\
        service: pay
        provider:
          name: aws
          environment:
            API_TOKEN: {secret}
        functions:
          a:
            handler: h.a
          b:
            handler: h.b
            environment:
              OTHER: plain
        """})
    found = _findings(tmp_path, "SLS303")
    assert len(found) == 1
    f = found[0]
    assert (f.file, f.line, f.column) == ("serverless.yml", 5, 5)
    assert f.key_path == "provider.environment.API_TOKEN"
    assert "API_TOKEN" in f.message and "9fK2…" in f.message and secret[:5] not in f.message


def test_short_password_shows_less(tmp_path):
    _repo(tmp_path, {"serverless.yml": """\
        service: pay
        provider:
          name: aws
        functions:
          a:
            handler: h.a
            environment:
              DB_PASSWORD: Tr0ub4dor&3
        """})
    (f,) = _findings(tmp_path, "SLS303")
    assert "(Tr…)" in f.message and "Tr0" not in f.message


def test_secret_locations_in_included_files(tmp_path):
    _repo(tmp_path, {
        "serverless.yml": """\
            service: inc
            provider:
              name: aws
              environment: ${file(./env.yml)}
            functions:
              a:
                handler: h.a
                environment: ${file(./fn-env.yml):prod}
              c:
                handler: h.c
                environment: ${self:custom.cenv}
            custom:
              cenv:
                OTHER_SECRET: 7Hq2Lm9Xz4Vb8Nc1Rt6Yp3Kd5Wf0Gs
            """,
        "env.yml": "STAGE: dev\nAPI_TOKEN: 9fK2mQ7xLp4Rt8Zw3Nv6Bc1Hd5Js0Ga\n",
        "fn-env.yml": "# per stage\nprod:\n  DB_PASSWORD: Zq8#vT2!pLr6xY\n",
    })
    got = sorted((f.file, f.line, f.key_path) for f in _findings(tmp_path, "SLS303"))
    assert got == [
        ("env.yml", 2, "provider.environment.API_TOKEN"),                 # the included document
        ("fn-env.yml", 3, "functions.a.environment.DB_PASSWORD"),         # the part of the included file
        ("serverless.yml", 11, "functions.c.environment.OTHER_SECRET"),
    ]


def test_secret_fingerprint_survives_edits_and_ignores_the_value(tmp_path):
    text = """\
        service: pay
        provider:
          name: aws
        functions:
          a:
            handler: h.a
            environment:
              API_TOKEN: {value}
        """
    _repo(tmp_path, {"serverless.yml": text.format(value="9fK2mQ7xLp4Rt8Zw3Nv6Bc1Hd5Js0Ga")})
    (before,) = _findings(tmp_path, "SLS303")
    _repo(tmp_path, {"serverless.yml": "# moved\n" + text.format(value="Q1w2E3r4T5y6U7i8O9p0AsDfGhJk")})
    (after,) = _findings(tmp_path, "SLS303")
    assert before.fingerprint == after.fingerprint and before.line + 1 == after.line


@pytest.mark.parametrize("policy, public", [
    ("""
      - Effect: Allow
        Principal: '*'
        Action: execute-api:Invoke
        Resource: execute-api:/*
        Condition:
          IpAddress:
            aws:SourceIp: [203.0.113.0/24]
    """, False),
    ("""
      - Effect: Allow
        Principal: '*'
        Action: execute-api:Invoke
        Resource: execute-api:/*
      - Effect: Deny
        Principal: '*'
        Action: execute-api:Invoke
        Resource: execute-api:/*
        Condition:
          NotIpAddress:
            aws:SourceIp: [203.0.113.0/24]
    """, False),
    ("""
      - Effect: Allow
        Principal: '*'
        Action: execute-api:Invoke
        Resource: execute-api:/*
      - Effect: Allow
        Principal: '*'
        Action: execute-api:Invoke
        Resource: execute-api:/*
        Condition:
          IpAddress:
            aws:SourceIp: [203.0.113.0/24]
    """, True),
])
def test_rest_api_resource_policy(tmp_path, policy, public):
    body = textwrap.indent(textwrap.dedent(policy).strip("\n"), " " * 6)
    (tmp_path / "serverless.yml").write_text(
        "service: office\nprovider:\n  name: aws\n  apiGateway:\n    resourcePolicy:\n" + body + "\n"
        "functions:\n  report:\n    handler: r.report\n    events:\n      - http: GET reports\n"
        "      - httpApi: GET /v2/reports\n", encoding="utf-8")
    found = _findings(tmp_path, "SLS301")
    # the HTTP API has no resource policies: always reported
    assert sorted(f.message.split(" (")[0] for f in found) == sorted(
        ["public endpoint: GET /v2/reports"] + (["public endpoint: GET /reports"] if public else []))
