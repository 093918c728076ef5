"""AWS infrastructure as code (boto3): the IAM role, the ingress rule and the Redshift cluster.

* ``provision``: an IAM role trusted by redshift.amazonaws.com with read-only S3 access (the managed
  AmazonS3ReadOnlyAccess policy); an ingress rule on the cluster's security group for DWH_PORT from
  DWH_ALLOWED_CIDR only (0.0.0.0/0 is refused unless DWH_ALLOW_PUBLIC is true); an encrypted cluster of
  the configured type and size with the role attached, its hourly cost shown first; waiting with a
  progress bar and a timeout (boto3 waiters); the endpoint and role ARN written back to the
  configuration file. Re-running finds and reuses what exists.
* ``teardown``: deletes the cluster (final snapshot optional), revokes the rule, detaches the policy
  and deletes the role; safe to run twice; says what it removed and what it did not find.
* ``status``: what exists, and a warning while a cluster of ours is running (it costs money).

Credentials come from ``[AWS] KEY/SECRET`` or the standard boto3 chain; ``[AWS] ENDPOINT_URL`` sends every
call to another endpoint (the tests use a moto server).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from botocore.exceptions import ClientError, NoCredentialsError, WaiterError

from . import awsclient
from .config import Config, ConfigError, redact, require

if TYPE_CHECKING:
    import boto3

log = logging.getLogger(__name__)

S3_READ_POLICY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
PROJECT_TAG = {"Key": "project", "Value": "sparkify"}
# On-demand USD per node-hour, us-east-1 (2025 list prices); other regions differ by a few percent.
HOURLY_PRICE = {"dc2.large": 0.25, "dc2.8xlarge": 4.80, "ra3.large": 0.543, "ra3.xlplus": 1.086,
                "ra3.4xlarge": 3.26, "ra3.16xlarge": 13.04}


class AwsError(RuntimeError):
    """An AWS call failed; the message says what, without any credential."""


def _boto_session(config: Config) -> boto3.Session:
    key, secret = config.aws.key.reveal(), config.aws.secret.reveal()
    if bool(key) != bool(secret):
        raise ConfigError(f"{config.source}: [AWS] KEY and SECRET go together: set both, or neither to use the "
                          f"standard boto3 chain (environment, profile)")
    session = awsclient.session(config.s3.region, key, secret)
    if session.get_credentials() is None:
        raise AwsError(f"no AWS credentials: set [AWS] KEY and SECRET in {config.source}, or configure the "
                       f"standard boto3 chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE)")
    return session


class Aws:
    """The four clients, all pointed at the configured endpoint."""

    def __init__(self, config: Config) -> None:
        self.config = config
        session = _boto_session(config)
        endpoint = config.aws.endpoint_url
        self.iam = awsclient.client("iam", endpoint_url=endpoint, boto_session=session)
        self.ec2 = awsclient.client("ec2", endpoint_url=endpoint, boto_session=session)
        self.redshift = awsclient.client("redshift", endpoint_url=endpoint, boto_session=session)
        self.sts = awsclient.client("sts", endpoint_url=endpoint, boto_session=session)

    def check_credentials(self) -> str:
        try:
            return self.sts.get_caller_identity()["Account"]
        except NoCredentialsError:
            raise AwsError("no AWS credentials found") from None
        except ClientError as err:
            code = err.response["Error"]["Code"]
            raise AwsError(f"AWS rejected the credentials ({code}); check [AWS] KEY and SECRET in "
                           f"{self.config.source} or your boto3 profile") from None


def _call(what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ClientError as err:
        error = err.response["Error"]
        raise AwsError(f"{what} failed: {error.get('Code')}: {redact(error.get('Message', ''))}") from None


def hourly_cost(config: Config) -> float:
    nodes = 1 if config.dwh.cluster_type == "single-node" else config.dwh.num_nodes
    price = HOURLY_PRICE.get(config.dwh.node_type)
    if price is None:
        raise ConfigError(f"{config.source}: [DWH] DWH_NODE_TYPE = {config.dwh.node_type!r}: no known price; "
                          f"a valid value looks like: {', '.join(HOURLY_PRICE)}")
    return round(nodes * price, 3)


# -- pieces ------------------------------------------------------------------------------------------
def ensure_role(aws: Aws) -> tuple[str, str]:
    name = aws.config.dwh.iam_role_name
    try:
        arn = aws.iam.get_role(RoleName=name)["Role"]["Arn"]
        state = "exists (reused)"
    except aws.iam.exceptions.NoSuchEntityException:
        arn = _call("create IAM role", aws.iam.create_role, RoleName=name,
                    AssumeRolePolicyDocument=json.dumps(TRUST_POLICY), Tags=[PROJECT_TAG],
                    Description="Lets the Sparkify Redshift cluster read S3 (read only)")["Role"]["Arn"]
        state = "created"
    attached = aws.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    if not any(p["PolicyArn"] == S3_READ_POLICY for p in attached):
        _call("attach AmazonS3ReadOnlyAccess", aws.iam.attach_role_policy, RoleName=name, PolicyArn=S3_READ_POLICY)
    return arn, state


def _default_security_group(aws: Aws) -> str:
    vpcs = aws.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise AwsError("no default VPC in this region: create one, or use a region that has one")
    groups = aws.ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]},
                                                       {"Name": "group-name", "Values": ["default"]}])
    return groups["SecurityGroups"][0]["GroupId"]


def allowed_cidr(config: Config) -> str:
    cidr = require(config, "DWH", "DWH_ALLOWED_CIDR")
    if cidr in ("0.0.0.0/0", "::/0"):
        if not config.dwh.allow_public:
            raise ConfigError(f"{config.source}: [DWH] DWH_ALLOWED_CIDR = {cidr!r} admits the whole internet to "
                              f"the cluster; refused unless [DWH] DWH_ALLOW_PUBLIC = true. A valid value looks "
                              f"like: your address, e.g. 203.0.113.7/32")
        warnings.warn(f"the cluster will accept connections from anywhere ({cidr}) on port {config.dwh.port}",
                      stacklevel=2)
    return cidr


def _rule(config: Config, cidr: str) -> dict:
    return {"IpProtocol": "tcp", "FromPort": config.dwh.port, "ToPort": config.dwh.port,
            "IpRanges": [{"CidrIp": cidr, "Description": "sparkify redshift access"}]}


def ensure_ingress(aws: Aws, group_id: str, cidr: str) -> str:
    try:
        aws.ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[_rule(aws.config, cidr)])
        return "created"
    except ClientError as err:
        if err.response["Error"]["Code"] == "InvalidPermission.Duplicate":
            return "exists (reused)"
        raise AwsError(f"authorize ingress failed: {err.response['Error']['Code']}") from None


def describe_cluster(aws: Aws) -> dict | None:
    try:
        return aws.redshift.describe_clusters(ClusterIdentifier=aws.config.dwh.cluster_identifier)["Clusters"][0]
    except aws.redshift.exceptions.ClusterNotFoundFault:
        return None


def _wait(aws: Aws, waiter_name: str, minutes: int, what: str) -> None:
    """A boto3 waiter, polled in steps so that a progress bar can show the elapsed time."""
    from tqdm.auto import tqdm

    waiter = aws.redshift.get_waiter(waiter_name)
    delay = 15 if not aws.config.aws.endpoint_url else 1
    deadline = time.monotonic() + minutes * 60
    with tqdm(total=minutes * 60, desc=what, unit="s", file=sys.stderr, mininterval=5) as bar:
        started = time.monotonic()
        while True:
            try:
                waiter.wait(ClusterIdentifier=aws.config.dwh.cluster_identifier,
                            WaiterConfig={"Delay": delay, "MaxAttempts": 1})
                return
            except WaiterError as err:
                if "Max attempts exceeded" not in str(err):
                    raise AwsError(f"{what}: {err}") from None
            bar.update(int(time.monotonic() - started) - bar.n)
            if time.monotonic() > deadline:
                raise AwsError(f"{what}: not done after {minutes} minutes (raise wait_minutes, or check the "
                               f"Redshift console)")
            time.sleep(delay)


def write_back(config: Config, updates: dict[tuple[str, str], str]) -> Path:
    """Set keys in the configuration file, keeping its comments and order (dwh.cfg if none was read)."""
    from configupdater import ConfigUpdater

    from .config import DEFAULTS, default_config_path

    path = Path(config.source) if config.source != DEFAULTS else default_config_path()
    updater = ConfigUpdater()
    if path.exists():
        updater.read(path, encoding="utf-8")
    for (section, key), value in updates.items():
        # sections and keys are matched case-insensitively, as the configuration loader reads them
        name = next((s for s in updater.sections() if s.upper() == section), None)
        if name is None:
            updater.add_section(section)
            name = section
        block = updater[name]
        existing = next((k for k in block.options() if k.upper() == key), None)
        block[existing or key] = value
    path.write_text(str(updater), encoding="utf-8")
    return path


# -- steps -------------------------------------------------------------------------------------------
def provision(config: Config, *, create_cluster: bool = True, wait_minutes: int = 30) -> pd.DataFrame:
    aws = Aws(config)
    account = aws.check_credentials()
    rows = [("account", "ok", f"AWS account {account}, region {config.s3.region}")]
    cidr = allowed_cidr(config)
    role_arn, role_state = ensure_role(aws)
    rows.append(("IAM role", role_state, f"{config.dwh.iam_role_name} ({role_arn}), AmazonS3ReadOnlyAccess"))
    cluster = describe_cluster(aws)
    group_id = (cluster["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
                if cluster and cluster.get("VpcSecurityGroups") else _default_security_group(aws))
    rows.append(("ingress rule", ensure_ingress(aws, group_id, cidr),
                 f"tcp {config.dwh.port} from {cidr} on {group_id}"))
    updates = {("DWH", "DWH_IAM_ROLE_ARN"): role_arn}
    if cluster is None and create_cluster:
        cost = hourly_cost(config)
        nodes = 1 if config.dwh.cluster_type == "single-node" else config.dwh.num_nodes
        print(f"Creating cluster {config.dwh.cluster_identifier}: {nodes} x {config.dwh.node_type}, about "
              f"${cost:.2f} per hour (${cost * 24:.2f} per day) until notebook 05 deletes it.")
        params = {"ClusterIdentifier": config.dwh.cluster_identifier, "ClusterType": config.dwh.cluster_type,
                  "NodeType": config.dwh.node_type, "DBName": config.dwh.db, "MasterUsername": config.dwh.db_user,
                  "MasterUserPassword": require(config, "DWH", "DWH_DB_PASSWORD").reveal(),
                  "Port": config.dwh.port, "IamRoles": [role_arn], "VpcSecurityGroupIds": [group_id],
                  "Encrypted": True, "PubliclyAccessible": True, "Tags": [PROJECT_TAG]}
        if config.dwh.cluster_type == "multi-node":
            params["NumberOfNodes"] = config.dwh.num_nodes
        _call("create cluster", aws.redshift.create_cluster, **params)
        cluster_state = f"created (${cost:.2f}/hour)"
    elif cluster is None:
        cluster_state = "not created (create_cluster is off)"
    else:
        cluster_state = f"exists (reused, {cluster['ClusterStatus']})"
    if create_cluster or cluster is not None:
        _wait(aws, "cluster_available", wait_minutes, f"waiting for {config.dwh.cluster_identifier}")
        cluster = describe_cluster(aws)
        endpoint = cluster["Endpoint"]["Address"]
        updates.update({("CLUSTER", "DWH_ENDPOINT"): endpoint, ("CLUSTER", "DWH_PORT"): str(config.dwh.port),
                        ("CLUSTER", "DWH_DB"): config.dwh.db, ("CLUSTER", "DWH_DB_USER"): config.dwh.db_user})
        rows.append(("cluster", cluster_state, f"{config.dwh.cluster_identifier} at {endpoint}:{config.dwh.port}, "
                                               f"encrypted={cluster.get('Encrypted')}"))
    else:
        rows.append(("cluster", cluster_state, config.dwh.cluster_identifier))
    path = write_back(config, updates)
    rows.append(("configuration", "updated", f"{path}: " + ", ".join(f"[{s}] {k}" for s, k in updates)))
    return pd.DataFrame(rows, columns=["resource", "state", "detail"])


def status(config: Config) -> pd.DataFrame:
    aws = Aws(config)
    rows = []
    try:
        arn = aws.iam.get_role(RoleName=config.dwh.iam_role_name)["Role"]["Arn"]
        rows.append(("IAM role", "exists", arn))
    except aws.iam.exceptions.NoSuchEntityException:
        rows.append(("IAM role", "absent", config.dwh.iam_role_name))
    cluster = describe_cluster(aws)
    if cluster is None:
        rows.append(("cluster", "absent", config.dwh.cluster_identifier))
    else:
        state = cluster["ClusterStatus"]
        detail = f"{cluster['NodeType']} x {cluster.get('NumberOfNodes', 1)}"
        if state not in ("deleting",):
            message = (f"cluster {config.dwh.cluster_identifier} is {state} and costs about "
                       f"${hourly_cost(config):.2f} per hour: run notebook 05 to delete it")
            warnings.warn(message, stacklevel=2)
            log.warning(message)
        rows.append(("cluster", state, detail))
    return pd.DataFrame(rows, columns=["resource", "state", "detail"])


def teardown(config: Config, *, delete_cluster: bool = True, final_snapshot: bool = False,
             wait_minutes: int = 30) -> pd.DataFrame:
    aws = Aws(config)
    aws.check_credentials()
    rows = []
    if not delete_cluster:
        return pd.DataFrame([("everything", "kept", "delete_cluster is off")], columns=["resource", "state", "detail"])
    cluster = describe_cluster(aws)
    group_id = (cluster["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
                if cluster and cluster.get("VpcSecurityGroups") else _default_security_group(aws))
    if cluster is None:
        rows.append(("cluster", "not found", config.dwh.cluster_identifier))
    else:
        params = {"ClusterIdentifier": config.dwh.cluster_identifier, "SkipFinalClusterSnapshot": not final_snapshot}
        if final_snapshot:
            params["FinalClusterSnapshotIdentifier"] = f"{config.dwh.cluster_identifier}-final-{int(time.time())}"
        if cluster["ClusterStatus"] != "deleting":
            _call("delete cluster", aws.redshift.delete_cluster, **params)
        _wait(aws, "cluster_deleted", wait_minutes, f"deleting {config.dwh.cluster_identifier}")
        rows.append(("cluster", "deleted", config.dwh.cluster_identifier +
                     (f" (final snapshot {params['FinalClusterSnapshotIdentifier']})" if final_snapshot else "")))
    cidr = config.dwh.allowed_cidr
    if cidr:
        try:
            aws.ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[_rule(config, cidr)])
            rows.append(("ingress rule", "revoked", f"tcp {config.dwh.port} from {cidr} on {group_id}"))
        except ClientError as err:
            if err.response["Error"]["Code"] not in ("InvalidPermission.NotFound",):
                raise AwsError(f"revoke ingress failed: {err.response['Error']['Code']}") from None
            rows.append(("ingress rule", "not found", f"tcp {config.dwh.port} from {cidr}"))
    name = config.dwh.iam_role_name
    try:
        for policy in aws.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            aws.iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        aws.iam.delete_role(RoleName=name)
        rows.append(("IAM role", "deleted", name))
    except aws.iam.exceptions.NoSuchEntityException:
        rows.append(("IAM role", "not found", name))
    if config.cluster.endpoint:
        write_back(config, {("CLUSTER", "DWH_ENDPOINT"): ""})
    return pd.DataFrame(rows, columns=["resource", "state", "detail"])
