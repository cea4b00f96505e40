"""A loopback-only stand-in for the few AWS APIs the framework calls while packaging.

`osls package` resolves `${aws:accountId}`, `${cf:stack.Output}` and `${ssm:/path}` through the
AWS SDK. Pointed here with `AWS_ENDPOINT_URL`, those lookups never leave the machine: the stub
answers STS GetCallerIdentity and CloudFormation DescribeStacks (query protocol, XML) and SSM
GetParameter/GetParameters (JSON 1.1) from a `Values` object, and refuses everything else with
an error that says why. Every value it serves is recorded, so the report can say which values
in a synthesized template were placeholders.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

PLACEHOLDER_ACCOUNT = "000000000000"


@dataclass(frozen=True)
class Served:
    """One value the stub answered with: `source` is aws, cf or ssm; `name` what was asked."""

    source: str
    name: str
    value: str
    known: bool            # the repository's own value, not a placeholder
    requester: str = ""    # the service being packaged when it was asked


class Values:
    """What the stub answers. The default serves placeholders only; subclass or pass maps."""

    def __init__(self, outputs: dict | None = None, parameters: dict | None = None,
                 account: str | None = None):
        # outputs: stack name -> {output key: (value, known)}; parameters: name -> (value, known)
        self.outputs = outputs or {}
        self.parameters = parameters or {}
        self.account = account

    def account_id(self) -> tuple[str, bool]:
        return (self.account, True) if self.account else (PLACEHOLDER_ACCOUNT, False)

    def stack_outputs(self, stack: str) -> dict[str, tuple[str, bool]] | None:
        """None: the stack does not exist (the framework then fails or uses the default)."""
        return self.outputs.get(stack)

    def parameter(self, name: str) -> tuple[str, bool]:
        return self.parameters.get(name) or (placeholder("ssm", name), False)


def placeholder(source: str, name: str) -> str:
    """A value that reads as what it is wherever it lands in a template."""
    clean = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.strip("/"))
    return f"placeholder-{source}-{clean}"


@dataclass
class Stub:
    """The server and what it served; use as a context manager."""

    values: Values = field(default_factory=Values)
    served: list = field(default_factory=list)
    refused: list = field(default_factory=list)   # (requester, what) it could not answer
    requester: str = ""                           # who asks, when the key names nobody
    requesters: dict = field(default_factory=dict)  # access key id -> service: runs in parallel
    _server: object = None
    _thread: object = None
    _lock: object = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Stub":
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="sls-audit-aws-stub",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self) -> "Stub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def record(self, source: str, name: str, value: str, known: bool, key: str = "") -> None:
        with self._lock:
            item = Served(source, name, value, known, self.requesters.get(key, self.requester))
            if item not in self.served:
                self.served.append(item)

    def refuse(self, what: str, key: str = "") -> None:
        with self._lock:
            self.refused.append((self.requesters.get(key, self.requester), what))


_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class _Handler(BaseHTTPRequestHandler):
    owner: Stub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: the framework's output is what matters
        pass

    @property
    def key(self) -> str:
        """The access key id the request is signed with: each service gets its own."""
        m = _CREDENTIAL.search(self.headers.get("Authorization", ""))
        return m.group(1) if m else ""

    def do_GET(self) -> None:
        self._not_served(f"GET {self.path}")

    do_PUT = do_DELETE = do_HEAD = do_GET

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        if target:
            return self._json(target, body)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        action = form.get("Action", "")
        if action == "GetCallerIdentity":
            return self._caller_identity()
        if action == "DescribeStacks":
            return self._describe_stacks(form.get("StackName", ""))
        self._not_served(action or f"POST {self.path}")

    # --- STS -------------------------------------------------------------------------------------
    def _caller_identity(self) -> None:
        account, known = self.owner.values.account_id()
        self.owner.record("aws", "accountId", account, known, self.key)
        self._xml(200, "GetCallerIdentity", "https://sts.amazonaws.com/doc/2011-06-15/",
                  f"<Arn>arn:aws:iam::{escape(account)}:user/sls-audit-synth</Arn>"
                  f"<UserId>AIDASLSAUDITSYNTH</UserId><Account>{escape(account)}</Account>")

    # --- CloudFormation --------------------------------------------------------------------------
    def _describe_stacks(self, stack: str) -> None:
        outputs = self.owner.values.stack_outputs(stack)
        if outputs is None:
            self.owner.refuse(f"DescribeStacks {stack} (a stack nothing in the repository names)", self.key)
            return self._xml_error(400, "ValidationError", f"Stack with id {stack} does not exist")
        members = []
        for key, (value, known) in sorted(outputs.items()):
            self.owner.record("cf", f"{stack}.{key}", value, known, self.key)
            members.append(f"<member><OutputKey>{escape(key)}</OutputKey>"
                           f"<OutputValue>{escape(value)}</OutputValue></member>")
        self._xml(200, "DescribeStacks", "http://cloudformation.amazonaws.com/doc/2010-05-15/",
                  "<Stacks><member>"
                  f"<StackName>{escape(stack)}</StackName>"
                  f"<StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/{escape(stack)}/synth</StackId>"
                  "<CreationTime>2020-01-01T00:00:00Z</CreationTime>"
                  "<StackStatus>UPDATE_COMPLETE</StackStatus>"
                  f"<Outputs>{''.join(members)}</Outputs>"
                  "</member></Stacks>")

    # --- SSM ------------------------------------------------------------------------------------
    def _json(self, target: str, body: bytes) -> None:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = {}
        if target == "AmazonSSM.GetParameter":
            return self._send_json(200, {"Parameter": self._parameter(str(request.get("Name", "")))})
        if target == "AmazonSSM.GetParameters":
            names = [str(n) for n in request.get("Names") or []]
            return self._send_json(200, {"Parameters": [self._parameter(n) for n in names],
                                         "InvalidParameters": []})
        self._not_served(target)

    def _parameter(self, name: str) -> dict:
        value, known = self.owner.values.parameter(name)
        self.owner.record("ssm", name, value, known, self.key)
        secure = name.startswith("/aws/reference/secretsmanager/")
        return {"Name": name, "Type": "SecureString" if secure else "String", "Value": value,
                "Version": 1, "DataType": "text",
                "ARN": f"arn:aws:ssm:us-east-1:000000000000:parameter/{name.lstrip('/')}"}

    # --- refusals and encodings ------------------------------------------------------------------
    def _not_served(self, what: str) -> None:
        self.owner.refuse(what, self.key)
        message = (f"sls-audit --synth runs offline: its local AWS stub does not serve '{what}' "
                   "(only STS GetCallerIdentity, CloudFormation DescribeStacks and SSM GetParameter)")
        if self.headers.get("X-Amz-Target"):
            return self._send_json(400, {"__type": "NotAvailableOffline", "message": message})
        self._xml_error(400, "NotAvailableOffline", message)

    def _xml(self, status: int, action: str, ns: str, inner: str) -> None:
        body = (f'<{action}Response xmlns="{ns}"><{action}Result>{inner}</{action}Result>'
                f"<ResponseMetadata><RequestId>{_REQUEST_ID}</RequestId></ResponseMetadata>"
                f"</{action}Response>")
        self._send(status, "text/xml", body.encode())

    def _xml_error(self, status: int, code: str, message: str) -> None:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code>"
                f"<Message>{escape(message)}</Message></Error><RequestId>{_REQUEST_ID}</RequestId>"
                "</ErrorResponse>")
        self._send(status, "text/xml", body.encode())

    def _send_json(self, status: int, data: dict) -> None:
        self._send(status, "application/x-amz-json-1.1", json.dumps(data).encode())

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", _REQUEST_ID)
        self.end_headers()
        self.wfile.write(body)
