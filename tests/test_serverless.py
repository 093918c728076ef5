"""Redshift Serverless provisioning and teardown against botocore's Stubber (moto cannot serve
redshift-serverless). The stubbed clients are real botocore clients built from the real service
models: every request is validated against its shape, and the Stubber checks each call's operation,
parameters and order, so these tests state exactly what is sent to AWS, including the least-privilege
parts: the role's trust and its one read-only policy, the group admitting one CIDR, the password never
shown."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber
from conftest import write_config

from sparkify import aws
from sparkify.config import ConfigError, load_config

PASSWORD = "ServerlessPassw0rd"
ACCOUNT = "123456789012"
ROLE = "sparkify-redshift-s3-read"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
VPC, GROUP = "vpc-0abc", "sg-0123456789abcdef0"
SUBNETS = ["subnet-0c", "subnet-0a", "subnet-0b"]
ENDPOINT = f"sparkify-workgroup.{ACCOUNT}.us-west-2.redshift-serverless.amazonaws.com"
TAGS = [{"key": "project", "value": "sparkify"}]
WG = {"workgroupName": "sparkify-workgroup"}
NS = {"namespaceName": "sparkify-namespace"}
ROLE_SHAPE = {"RoleName": ROLE, "Arn": ROLE_ARN, "Path": "/", "RoleId": "AROA1234567890123",
              "CreateDate": "2025-01-01T00:00:00Z"}


@pytest.fixture
def config(tmp_path):
    path = write_config(tmp_path / "dwh.cfg", {
        "AWS": {"KEY": "STUBBEDKEYIDSTUBBED1", "SECRET": "StubbedSecretStubbedSecret"},
        "DWH": {"DWH_BACKEND": "redshift", "DWH_DEPLOYMENT": "serverless", "DWH_ALLOWED_CIDR": "203.0.113.7/32",
                "DWH_DB_PASSWORD": PASSWORD, "DWH_BASE_CAPACITY": "8"},
        "CLUSTER": {"DWH_DB_PASSWORD": PASSWORD}})
    return load_config(path)


@pytest.fixture
def stubbed(config):
    """An Aws whose clients are real botocore clients with a Stubber each (no network)."""
    kw = {"region_name": "us-west-2", "aws_access_key_id": "STUBBEDKEYIDSTUBBED1",
          "aws_secret_access_key": "StubbedSecretStubbedSecret"}
    clients = {attr: boto3.client(service, **kw) for attr, service in aws.Aws.SERVICES.items()}
    stubs = {attr: Stubber(client) for attr, client in clients.items()}
    for stub in stubs.values():
        stub.activate()
    handle = aws.Aws(config, clients=clients)
    handle.poll_seconds = 0
    yield handle, stubs
    for stub in stubs.values():
        stub.deactivate()


def _identity(stubs):
    stubs["sts"].add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me",
                                                       "UserId": "AIDA"}, {})


def _workgroup(status, address=ENDPOINT):
    return {"workgroup": {"workgroupName": "sparkify-workgroup", "namespaceName": "sparkify-namespace",
                          "status": status, "baseCapacity": 8,
                          "endpoint": {"address": address, "port": 5439}}}


def _namespace(status):
    return {"namespace": {"namespaceName": "sparkify-namespace", "status": status, "dbName": "sparkify"}}


def test_serverless_provisioning_sends_exactly_the_least_privilege_requests(config, stubbed, capsys):
    handle, stubs = stubbed
    _identity(stubs)
    iam, ec2, rs = stubs["iam"], stubs["ec2"], stubs["serverless"]
    iam.add_client_error("get_role", "NoSuchEntity", http_status_code=404, expected_params={"RoleName": ROLE})
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]},
        "Action": "sts:AssumeRole"}]}
    iam.add_response("create_role", {"Role": ROLE_SHAPE},
                     {"RoleName": ROLE, "AssumeRolePolicyDocument": json.dumps(trust), "Tags": [aws.PROJECT_TAG],
                      "Description": ANY})
    iam.add_response("list_attached_role_policies", {"AttachedPolicies": []}, {"RoleName": ROLE})
    iam.add_response("attach_role_policy", {}, {"RoleName": ROLE, "PolicyArn": aws.S3_READ_POLICY})
    ec2.add_response("describe_vpcs", {"Vpcs": [{"VpcId": VPC}]},
                     {"Filters": [{"Name": "isDefault", "Values": ["true"]}]})
    ec2.add_response("describe_security_groups", {"SecurityGroups": []},
                     {"Filters": [{"Name": "vpc-id", "Values": [VPC]},
                                  {"Name": "group-name", "Values": ["sparkify-workgroup-access"]}]})
    ec2.add_response("create_security_group", {"GroupId": GROUP},
                     {"GroupName": "sparkify-workgroup-access", "VpcId": VPC, "Description": ANY,
                      "TagSpecifications": [{"ResourceType": "security-group", "Tags": [aws.PROJECT_TAG]}]})
    ec2.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": GROUP, "IpPermissions": []}]},
                     {"GroupIds": [GROUP]})
    ec2.add_response("authorize_security_group_ingress", {"Return": True}, {
        "GroupId": GROUP, "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 5439, "ToPort": 5439, "IpRanges": [
            {"CidrIp": "203.0.113.7/32", "Description": aws.RULE_DESCRIPTION}]}]})
    rs.add_client_error("get_namespace", "ResourceNotFoundException", expected_params=NS)
    rs.add_client_error("get_workgroup", "ResourceNotFoundException", expected_params=WG)
    rs.add_response("create_namespace", _namespace("MODIFYING"), {
        "namespaceName": "sparkify-namespace", "dbName": "sparkify", "adminUsername": "sparkify",
        "adminUserPassword": PASSWORD, "iamRoles": [ROLE_ARN], "defaultIamRoleArn": ROLE_ARN, "tags": TAGS})
    rs.add_response("get_namespace", _namespace("MODIFYING"), NS)
    rs.add_response("get_namespace", _namespace("AVAILABLE"), NS)
    ec2.add_response("describe_subnets", {"Subnets": [{"SubnetId": s} for s in SUBNETS]},
                     {"Filters": [{"Name": "vpc-id", "Values": [VPC]}]})
    rs.add_response("create_workgroup", _workgroup("CREATING"), {
        "workgroupName": "sparkify-workgroup", "namespaceName": "sparkify-namespace", "baseCapacity": 8,
        "port": 5439, "publiclyAccessible": True, "securityGroupIds": [GROUP], "subnetIds": sorted(SUBNETS),
        "tags": TAGS})
    rs.add_response("get_workgroup", _workgroup("CREATING"), WG)
    rs.add_response("get_workgroup", _workgroup("AVAILABLE"), WG)
    rs.add_response("get_workgroup", _workgroup("AVAILABLE"), WG)

    result = aws.provision(config, aws=handle, wait_minutes=1)
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    states = result.set_index("resource")["state"]
    assert states["namespace"] == "created" and states["workgroup"] == "created ($3.00/hour of query time)"
    assert states["security group"] == "created" and states["ingress rule"] == "created"
    printed = capsys.readouterr().out
    assert "about $3.00 per hour of query time" in printed and printed.index("Creating") == 0  # cost first
    assert PASSWORD not in result.to_string() and PASSWORD not in printed
    written = load_config(config.source)
    assert written.cluster.endpoint == ENDPOINT and written.dwh.iam_role_arn == ROLE_ARN


def test_serverless_reuses_what_exists_and_reports_what_still_costs(config, stubbed):
    handle, stubs = stubbed
    _identity(stubs)
    iam, ec2, rs = stubs["iam"], stubs["ec2"], stubs["serverless"]
    iam.add_response("get_role", {"Role": ROLE_SHAPE}, {"RoleName": ROLE})
    iam.add_response("list_attached_role_policies", {"AttachedPolicies": [
        {"PolicyName": "AmazonS3ReadOnlyAccess", "PolicyArn": aws.S3_READ_POLICY}]}, {"RoleName": ROLE})
    ec2.add_response("describe_vpcs", {"Vpcs": [{"VpcId": VPC}]}, None)
    ec2.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": GROUP}]}, None)
    ec2.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": GROUP, "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 5439, "ToPort": 5439, "IpRanges": [{"CidrIp": "203.0.113.7/32"}]}]}]},
        {"GroupIds": [GROUP]})
    rs.add_response("get_namespace", _namespace("AVAILABLE"), None)
    rs.add_response("get_workgroup", _workgroup("AVAILABLE"), None)
    rs.add_response("get_namespace", _namespace("AVAILABLE"), None)
    rs.add_response("get_workgroup", _workgroup("AVAILABLE"), None)
    rs.add_response("get_workgroup", _workgroup("AVAILABLE"), None)
    states = aws.provision(config, aws=handle, wait_minutes=1).set_index("resource")["state"]
    assert states["namespace"].startswith("exists") and states["workgroup"].startswith("exists")
    assert states["ingress rule"] == "exists (reused)"

    rs.add_response("get_workgroup", _workgroup("AVAILABLE"), None)
    rs.add_response("get_namespace", _namespace("AVAILABLE"), None)
    message = aws.still_running(config, aws=handle)
    assert "workgroup sparkify-workgroup still exists" in message and "$3.00 per hour of query time" in message

    iam.add_response("get_role", {"Role": ROLE_SHAPE}, None)
    rs.add_response("get_namespace", _namespace("AVAILABLE"), None)
    rs.add_response("get_workgroup", _workgroup("AVAILABLE"), None)
    rs.add_response("get_workgroup", _workgroup("AVAILABLE"), None)
    rs.add_response("get_namespace", _namespace("AVAILABLE"), None)
    with pytest.warns(UserWarning, match="still exists"):
        status = aws.status(config, aws=handle)
    assert list(status["state"]) == ["exists", "available", "available"]


def test_serverless_teardown_deletes_workgroup_namespace_group_and_role(config, stubbed):
    handle, stubs = stubbed
    _identity(stubs)
    iam, ec2, rs = stubs["iam"], stubs["ec2"], stubs["serverless"]
    rs.add_response("get_workgroup", _workgroup("AVAILABLE"), WG)
    rs.add_response("delete_workgroup", _workgroup("DELETING"), WG)
    rs.add_response("get_workgroup", _workgroup("DELETING"), WG)
    rs.add_client_error("get_workgroup", "ResourceNotFoundException", expected_params=WG)
    rs.add_response("get_namespace", _namespace("AVAILABLE"), NS)
    rs.add_response("delete_namespace", _namespace("DELETING"), NS)
    rs.add_client_error("get_namespace", "ResourceNotFoundException", expected_params=NS)
    ec2.add_response("describe_vpcs", {"Vpcs": [{"VpcId": VPC}]}, None)
    ec2.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": GROUP}]}, None)
    ec2.add_client_error("delete_security_group", "DependencyViolation", expected_params={"GroupId": GROUP})
    ec2.add_response("delete_security_group", {}, {"GroupId": GROUP})  # the workgroup's interfaces let go
    iam.add_response("list_attached_role_policies", {"AttachedPolicies": [
        {"PolicyName": "AmazonS3ReadOnlyAccess", "PolicyArn": aws.S3_READ_POLICY}]}, {"RoleName": ROLE})
    iam.add_response("detach_role_policy", {}, {"RoleName": ROLE, "PolicyArn": aws.S3_READ_POLICY})
    iam.add_response("delete_role", {}, {"RoleName": ROLE})
    removed = aws.teardown(config, aws=handle, wait_minutes=1)
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    assert dict(zip(removed["resource"], removed["state"], strict=True)) == {
        "workgroup": "deleted", "namespace": "deleted", "security group": "deleted", "IAM role": "deleted"}

    # twice: nothing left, nothing deleted, no error
    _identity(stubs)
    rs.add_client_error("get_workgroup", "ResourceNotFoundException")
    rs.add_client_error("get_namespace", "ResourceNotFoundException")
    ec2.add_response("describe_vpcs", {"Vpcs": []}, None)
    iam.add_client_error("list_attached_role_policies", "NoSuchEntity", http_status_code=404)
    again = aws.teardown(config, aws=handle, wait_minutes=1)
    assert set(again["state"]) == {"not found"}
    rs.add_client_error("get_workgroup", "ResourceNotFoundException")
    rs.add_client_error("get_namespace", "ResourceNotFoundException")
    assert aws.still_running(config, aws=handle) is None


def test_serverless_teardown_of_a_half_created_namespace_with_a_final_snapshot(config, stubbed):
    handle, stubs = stubbed
    _identity(stubs)
    iam, ec2, rs = stubs["iam"], stubs["ec2"], stubs["serverless"]
    rs.add_client_error("get_workgroup", "ResourceNotFoundException")  # the workgroup was never made
    rs.add_response("get_namespace", _namespace("AVAILABLE"), None)
    rs.add_response("delete_namespace", _namespace("DELETING"), {"namespaceName": "sparkify-namespace",
                                                                 "finalSnapshotName": ANY})
    rs.add_client_error("get_namespace", "ResourceNotFoundException")
    ec2.add_response("describe_vpcs", {"Vpcs": [{"VpcId": VPC}]}, None)
    ec2.add_response("describe_security_groups", {"SecurityGroups": []}, None)
    iam.add_client_error("list_attached_role_policies", "NoSuchEntity", http_status_code=404)
    removed = aws.teardown(config, aws=handle, final_snapshot=True, wait_minutes=1).set_index("resource")
    assert removed.loc["workgroup", "state"] == "not found" and removed.loc["namespace", "state"] == "deleted"
    assert "final snapshot sparkify-namespace-final-" in removed.loc["namespace", "detail"]


def test_a_serverless_failure_is_reported_without_secrets(config, stubbed):
    handle, stubs = stubbed
    _identity(stubs)
    rs = stubs["serverless"]
    rs.add_client_error("get_workgroup", "AccessDeniedException",
                        service_message=f"not authorized for {PASSWORD}")  # a message echoing a secret
    message = aws.still_running(config, aws=handle)
    assert "may still be running" in message and PASSWORD not in message


def test_serverless_settings_are_validated(tmp_path):
    for key, value, problem in (("DWH_DEPLOYMENT", "fleet", "unknown deployment"),
                                ("DWH_BASE_CAPACITY", "12", "steps of 8"),
                                ("DWH_WORKGROUP", "Bad_Name", "not a valid name")):
        path = write_config(tmp_path / "bad.cfg", {"DWH": {"DWH_BACKEND": "redshift", key: value}})
        with pytest.raises(ConfigError, match=rf"\[DWH\] {key} = '{value}': .*{problem}"):
            load_config(path)
    path = write_config(tmp_path / "ok.cfg", {"DWH": {"DWH_DEPLOYMENT": "Serverless", "DWH_BASE_CAPACITY": "4"}})
    config = load_config(path)
    assert config.dwh.deployment == "serverless" and aws.hourly_cost(config) == 1.5
    assert aws.group_name(config) == "sparkify-workgroup-access"
