"""AWS infrastructure as code (boto3): the IAM role, a security group of our own, and the warehouse,
either a provisioned Redshift cluster or Redshift Serverless (``[DWH] DWH_DEPLOYMENT``).

* ``provision``: an IAM role trusted by Redshift with read-only S3 access (the managed
  AmazonS3ReadOnlyAccess policy, nothing else); a security group of the warehouse's own in the default
  VPC (never the VPC's shared default group) admitting DWH_PORT from DWH_ALLOWED_CIDR only: the CIDR is
  parsed with :mod:`ipaddress`, every network of prefix length 0 (``0.0.0.0/0``, ``1.2.3.4/0``,
  ``::/0`` ...) is refused unless DWH_ALLOW_PUBLIC is true, IPv6 goes to ``Ipv6Ranges``, and a changed
  CIDR replaces the old rule; then an encrypted cluster of the configured type and size, or a Serverless
  namespace and workgroup, with the role attached, its hourly cost shown first; waiting with a progress
  bar and a timeout; the endpoint and role ARN written back to the configuration file. Re-running finds
  and reuses what exists.
* ``teardown``: deletes the warehouse (final snapshot optional), the security group, and the role;
  works in any state (nothing created, half created, already deleted) and says what it removed.
* ``status`` and ``still_running``: what exists, and what keeps costing money.

Credentials come from ``[AWS] KEY/SECRET`` or the standard boto3 chain; ``[AWS] ENDPOINT_URL`` sends every
call to another endpoint (the tests use a moto server, and botocore's Stubber for Serverless).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from botocore.exceptions import ClientError, NoCredentialsError

from . import awsclient
from .config import Config, ConfigError, redact, require

if TYPE_CHECKING:
    import boto3

log = logging.getLogger(__name__)

S3_READ_POLICY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
CLUSTER_PRINCIPALS = ["redshift.amazonaws.com"]
# Serverless assumes the role as redshift-serverless.amazonaws.com as well as redshift.amazonaws.com
SERVERLESS_PRINCIPALS = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
PROJECT_TAG = {"Key": "project", "Value": "sparkify"}
RULE_DESCRIPTION = "sparkify redshift access"
# On-demand USD per node-hour, us-east-1 (2025 list prices); other regions differ by a few percent.
HOURLY_PRICE = {"dc2.large": 0.25, "dc2.8xlarge": 4.80, "ra3.large": 0.543, "ra3.xlplus": 1.086,
                "ra3.4xlarge": 3.26, "ra3.16xlarge": 13.04}
# Redshift Serverless: USD per RPU-hour (us-east-1 and us-west-2, 2025), billed per second of query time
# with a 60-second minimum; nothing while idle. Storage is billed apart (about $0.024 per GB-month).
RPU_HOUR_PRICE = 0.375


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
    """The clients, all pointed at the configured endpoint (``clients`` replaces them, for tests)."""

    SERVICES = {"iam": "iam", "ec2": "ec2", "redshift": "redshift", "serverless": "redshift-serverless",
                "sts": "sts"}

    def __init__(self, config: Config, clients: dict[str, Any] | None = None) -> None:
        self.config = config
        endpoint = config.aws.endpoint_url
        #: seconds between two polls of a resource being created or deleted
        self.poll_seconds: float = 1 if endpoint else 15
        if clients is None:
            session = _boto_session(config)
            clients = {attr: awsclient.client(service, endpoint_url=endpoint, boto_session=session)
                       for attr, service in self.SERVICES.items()}
        for attr in self.SERVICES:
            setattr(self, attr, clients.get(attr))

    def check_credentials(self) -> str:
        try:
            return self.sts.get_caller_identity()["Account"]
        except NoCredentialsError:
            raise AwsError("no AWS credentials found") from None
        except ClientError as err:
            code = err.response["Error"]["Code"]
            raise AwsError(f"AWS rejected the credentials ({code}); check [AWS] KEY and SECRET in "
                           f"{self.config.source} or your boto3 profile") from None


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _call(what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ClientError as err:
        error = err.response["Error"]
        raise AwsError(f"{what} failed: {error.get('Code')}: {redact(error.get('Message', ''))}") from None


def serverless(config: Config) -> bool:
    return config.dwh.deployment == "serverless"


def hourly_cost(config: Config) -> float:
    """USD per hour: of the running cluster, or of Serverless while it runs queries."""
    if serverless(config):
        return round(config.dwh.base_capacity * RPU_HOUR_PRICE, 3)
    nodes = 1 if config.dwh.cluster_type == "single-node" else config.dwh.num_nodes
    price = HOURLY_PRICE.get(config.dwh.node_type)
    if price is None:
        raise ConfigError(f"{config.source}: [DWH] DWH_NODE_TYPE = {config.dwh.node_type!r}: no known price; "
                          f"a valid value looks like: {', '.join(HOURLY_PRICE)}")
    return round(nodes * price, 3)


def warehouse_name(config: Config) -> str:
    return config.dwh.workgroup if serverless(config) else config.dwh.cluster_identifier


def group_name(config: Config) -> str:
    """The security group of the warehouse's own."""
    return f"{warehouse_name(config)}-access"


# -- IAM -----------------------------------------------------------------------------------------------
def trust_policy(config: Config) -> dict:
    principals = SERVERLESS_PRINCIPALS if serverless(config) else CLUSTER_PRINCIPALS
    service = principals if len(principals) > 1 else principals[0]
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def ensure_role(aws: Aws) -> tuple[str, str]:
    name = aws.config.dwh.iam_role_name
    try:
        arn = aws.iam.get_role(RoleName=name)["Role"]["Arn"]
        state = "exists (reused)"
    except aws.iam.exceptions.NoSuchEntityException:
        arn = _call("create IAM role", aws.iam.create_role, RoleName=name,
                    AssumeRolePolicyDocument=json.dumps(trust_policy(aws.config)), Tags=[PROJECT_TAG],
                    Description="Lets the Sparkify Redshift warehouse read S3 (read only)")["Role"]["Arn"]
        state = "created"
    attached = aws.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    if not any(p["PolicyArn"] == S3_READ_POLICY for p in attached):
        _call("attach AmazonS3ReadOnlyAccess", aws.iam.attach_role_policy, RoleName=name, PolicyArn=S3_READ_POLICY)
    return arn, state


def delete_role(aws: Aws) -> tuple[str, str, str]:
    name = aws.config.dwh.iam_role_name
    try:
        for policy in aws.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            aws.iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        aws.iam.delete_role(RoleName=name)
        return ("IAM role", "deleted", name)
    except aws.iam.exceptions.NoSuchEntityException:
        return ("IAM role", "not found", name)


# -- network -----------------------------------------------------------------------------------------
def allowed_cidr(config: Config) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The configured network, host bits masked as EC2 masks them; every /0 refused unless allowed."""
    cidr = str(require(config, "DWH", "DWH_ALLOWED_CIDR"))
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ConfigError(f"{config.source}: [DWH] DWH_ALLOWED_CIDR = {cidr!r}: not an IPv4/IPv6 network in CIDR "
                          f"form; a valid value looks like: 203.0.113.7/32") from None
    if network.prefixlen == 0:
        if not config.dwh.allow_public:
            raise ConfigError(f"{config.source}: [DWH] DWH_ALLOWED_CIDR = {cidr!r} admits the whole internet to "
                              f"the warehouse (prefix length 0 is {network}); refused unless [DWH] "
                              f"DWH_ALLOW_PUBLIC = true. A valid value looks like: your address, e.g. 203.0.113.7/32")
        warnings.warn(f"the warehouse will accept connections from anywhere ({network}) on port {config.dwh.port}",
                      stacklevel=2)
    return network


def _permission(port: int, network) -> dict:
    if network.version == 6:
        ranges = {"Ipv6Ranges": [{"CidrIpv6": str(network), "Description": RULE_DESCRIPTION}]}
    else:
        ranges = {"IpRanges": [{"CidrIp": str(network), "Description": RULE_DESCRIPTION}]}
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **ranges}


def default_vpc(aws: Aws) -> str | None:
    vpcs = aws.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def find_group(aws: Aws, vpc_id: str) -> str | None:
    groups = aws.ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                       {"Name": "group-name", "Values": [group_name(aws.config)]}])
    return groups["SecurityGroups"][0]["GroupId"] if groups["SecurityGroups"] else None


def ensure_group(aws: Aws) -> tuple[str, str, str]:
    """The warehouse's own security group in the default VPC: (group id, state, VPC id)."""
    vpc_id = default_vpc(aws)
    if vpc_id is None:
        raise AwsError("no default VPC in this region: create one, or use a region that has one")
    group_id = find_group(aws, vpc_id)
    if group_id:
        return group_id, "exists (reused)", vpc_id
    name = group_name(aws.config)
    group_id = _call("create security group", aws.ec2.create_security_group, GroupName=name, VpcId=vpc_id,
                     Description=f"Sparkify: who may reach {warehouse_name(aws.config)} on its port",
                     TagSpecifications=[{"ResourceType": "security-group", "Tags": [PROJECT_TAG]}])["GroupId"]
    return group_id, "created", vpc_id


def ensure_ingress(aws: Aws, group_id: str, network) -> str:
    """One rule on our group: DWH_PORT from ``network``. Rules for other networks on that port (a CIDR
    that was changed in the configuration) are revoked, so the old address is not admitted any more."""
    port = aws.config.dwh.port
    group = aws.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    present, stale = False, []
    for permission in group.get("IpPermissions", []):
        if permission.get("FromPort") != port or permission.get("IpProtocol") != "tcp":
            continue
        for entry in permission.get("IpRanges", []):
            if entry["CidrIp"] == str(network):
                present = True
            else:
                stale.append(ipaddress.ip_network(entry["CidrIp"]))
        for entry in permission.get("Ipv6Ranges", []):
            if entry["CidrIpv6"] == str(network):
                present = True
            else:
                stale.append(ipaddress.ip_network(entry["CidrIpv6"]))
    for old in stale:
        _call("revoke the old ingress rule", aws.ec2.revoke_security_group_ingress, GroupId=group_id,
              IpPermissions=[_permission(port, old)])
    if not present:
        _call("authorize ingress", aws.ec2.authorize_security_group_ingress, GroupId=group_id,
              IpPermissions=[_permission(port, network)])
    replaced = f" (replaced {', '.join(map(str, stale))})" if stale else ""
    return ("exists (reused)" if present else "created") + replaced


def delete_group(aws: Aws, minutes: float = 5) -> tuple[str, str, str]:
    """Delete our security group (its rules go with it). Right after a warehouse is deleted its network
    interfaces may hold the group for a few minutes (DependencyViolation): retried until ``minutes``."""
    name = group_name(aws.config)
    vpc_id = default_vpc(aws)
    group_id = find_group(aws, vpc_id) if vpc_id else None
    if group_id is None:
        return ("security group", "not found", name)
    deadline = time.monotonic() + minutes * 60
    while True:
        try:
            aws.ec2.delete_security_group(GroupId=group_id)
            return ("security group", "deleted", f"{name} ({group_id})")
        except ClientError as err:
            if _code(err) == "InvalidGroup.NotFound":
                return ("security group", "not found", name)
            if _code(err) != "DependencyViolation" or time.monotonic() > deadline:
                raise AwsError(f"delete security group {name} failed: {_code(err)}: "
                               f"{redact(err.response['Error'].get('Message', ''))}") from None
        time.sleep(aws.poll_seconds)


def _subnets(aws: Aws, vpc_id: str) -> list[str]:
    subnets = aws.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    return sorted(s["SubnetId"] for s in subnets)


# -- waiting -----------------------------------------------------------------------------------------
def _until(aws: Aws, what: str, minutes: float, done: Callable[[], bool]) -> None:
    """Poll ``done`` until it is true, with a progress bar of the elapsed time and a deadline."""
    from tqdm.auto import tqdm

    deadline = time.monotonic() + minutes * 60
    with tqdm(total=int(minutes * 60), desc=what, unit="s", file=sys.stderr, mininterval=5) as bar:
        started = time.monotonic()
        while not done():
            bar.update(int(time.monotonic() - started) - bar.n)
            if time.monotonic() > deadline:
                raise AwsError(f"{what}: not done after {minutes:g} minutes (raise wait_minutes, or check the "
                               f"Redshift console)")
            time.sleep(aws.poll_seconds)


# -- the cluster ---------------------------------------------------------------------------------------
def describe_cluster(aws: Aws) -> dict | None:
    try:
        return aws.redshift.describe_clusters(ClusterIdentifier=aws.config.dwh.cluster_identifier)["Clusters"][0]
    except aws.redshift.exceptions.ClusterNotFoundFault:
        return None


def _cluster_status(aws: Aws) -> str | None:
    cluster = describe_cluster(aws)
    return None if cluster is None else cluster["ClusterStatus"]


def _provision_cluster(aws: Aws, role_arn: str, group_id: str, create: bool, wait_minutes: float,
                       rows: list, updates: dict) -> None:
    config = aws.config
    ident = config.dwh.cluster_identifier
    cluster = describe_cluster(aws)
    if cluster is None and create:
        cost = hourly_cost(config)
        nodes = 1 if config.dwh.cluster_type == "single-node" else config.dwh.num_nodes
        print(f"Creating cluster {ident}: {nodes} x {config.dwh.node_type}, about ${cost:.2f} per hour "
              f"(${cost * 24:.2f} per day) until notebook 05 deletes it.")
        params = {"ClusterIdentifier": ident, "ClusterType": config.dwh.cluster_type,
                  "NodeType": config.dwh.node_type, "DBName": config.dwh.db, "MasterUsername": config.dwh.db_user,
                  "MasterUserPassword": require(config, "DWH", "DWH_DB_PASSWORD").reveal(),
                  "Port": config.dwh.port, "IamRoles": [role_arn], "VpcSecurityGroupIds": [group_id],
                  "Encrypted": True, "PubliclyAccessible": True, "Tags": [PROJECT_TAG]}
        if config.dwh.cluster_type == "multi-node":
            params["NumberOfNodes"] = config.dwh.num_nodes
        _call("create cluster", aws.redshift.create_cluster, **params)
        state = f"created (${cost:.2f}/hour)"
    elif cluster is None:
        rows.append(("cluster", "not created (create_cluster is off)", ident))
        return
    else:
        state = f"exists (reused, {cluster['ClusterStatus']})"
        groups = [g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups", [])]
        if groups != [group_id]:  # e.g. made before the warehouse had a group of its own
            _call("move the cluster to its own security group", aws.redshift.modify_cluster,
                  ClusterIdentifier=ident, VpcSecurityGroupIds=[group_id])
            state += f", moved from {', '.join(groups) or 'no group'} to {group_id}"
    _until(aws, f"waiting for {ident}", wait_minutes, lambda: _cluster_status(aws) == "available")
    cluster = describe_cluster(aws)
    endpoint = cluster["Endpoint"]["Address"]
    updates[("CLUSTER", "DWH_ENDPOINT")] = endpoint
    rows.append(("cluster", state, f"{ident} at {endpoint}:{config.dwh.port}, encrypted={cluster.get('Encrypted')}"))


def _teardown_cluster(aws: Aws, final_snapshot: bool, wait_minutes: float) -> tuple[str, str, str]:
    ident = aws.config.dwh.cluster_identifier
    cluster = describe_cluster(aws)
    if cluster is None:
        return ("cluster", "not found", ident)
    params: dict[str, Any] = {"ClusterIdentifier": ident, "SkipFinalClusterSnapshot": not final_snapshot}
    if final_snapshot:
        params["FinalClusterSnapshotIdentifier"] = f"{ident}-final-{int(time.time())}"
    if cluster["ClusterStatus"] != "deleting":
        try:
            aws.redshift.delete_cluster(**params)
        except ClientError as err:
            if _code(err) == "ClusterNotFound":
                return ("cluster", "not found", ident)
            if _code(err) != "InvalidClusterState":
                raise AwsError(f"delete cluster failed: {_code(err)}: "
                               f"{redact(err.response['Error'].get('Message', ''))}") from None
            # still being created or modified: it can be deleted once it is available
            _until(aws, f"waiting for {ident} to settle", wait_minutes,
                   lambda: _cluster_status(aws) in ("available", None))
            _call("delete cluster", aws.redshift.delete_cluster, **params)
    _until(aws, f"deleting {ident}", wait_minutes, lambda: _cluster_status(aws) is None)
    snapshot = f" (final snapshot {params['FinalClusterSnapshotIdentifier']})" if final_snapshot else ""
    return ("cluster", "deleted", ident + snapshot)


# -- Redshift Serverless -----------------------------------------------------------------------------
def get_namespace(aws: Aws) -> dict | None:
    try:
        return aws.serverless.get_namespace(namespaceName=aws.config.dwh.namespace)["namespace"]
    except aws.serverless.exceptions.ResourceNotFoundException:
        return None


def get_workgroup(aws: Aws) -> dict | None:
    try:
        return aws.serverless.get_workgroup(workgroupName=aws.config.dwh.workgroup)["workgroup"]
    except aws.serverless.exceptions.ResourceNotFoundException:
        return None


def _serverless_tags() -> list[dict]:
    return [{"key": PROJECT_TAG["Key"], "value": PROJECT_TAG["Value"]}]


def _provision_serverless(aws: Aws, role_arn: str, group_id: str, vpc_id: str, create: bool,
                          wait_minutes: float, rows: list, updates: dict) -> None:
    config = aws.config
    dwh = config.dwh
    namespace, workgroup = get_namespace(aws), get_workgroup(aws)
    if namespace is None and workgroup is None and not create:
        rows.append(("serverless", "not created (create_cluster is off)", f"{dwh.namespace}/{dwh.workgroup}"))
        return
    if namespace is None:
        cost = hourly_cost(config)
        print(f"Creating Redshift Serverless namespace {dwh.namespace} and workgroup {dwh.workgroup}: "
              f"{dwh.base_capacity} RPU, about ${cost:.2f} per hour of query time (billed per second, "
              f"nothing while idle; storage apart) until notebook 05 deletes them.")
        _call("create namespace", aws.serverless.create_namespace, namespaceName=dwh.namespace, dbName=dwh.db,
              adminUsername=dwh.db_user, adminUserPassword=require(config, "DWH", "DWH_DB_PASSWORD").reveal(),
              iamRoles=[role_arn], defaultIamRoleArn=role_arn, tags=_serverless_tags())
        rows.append(("namespace", "created", f"{dwh.namespace} (database {dwh.db}, role {role_arn})"))
    else:
        rows.append(("namespace", f"exists (reused, {namespace.get('status')})", dwh.namespace))
    _until(aws, f"waiting for namespace {dwh.namespace}", wait_minutes,
           lambda: (get_namespace(aws) or {}).get("status") == "AVAILABLE")
    if workgroup is None:
        cost = hourly_cost(config)
        _call("create workgroup", aws.serverless.create_workgroup, workgroupName=dwh.workgroup,
              namespaceName=dwh.namespace, baseCapacity=dwh.base_capacity, port=dwh.port,
              publiclyAccessible=True, securityGroupIds=[group_id], subnetIds=_subnets(aws, vpc_id),
              tags=_serverless_tags())
        state = f"created (${cost:.2f}/hour of query time)"
    else:
        state = f"exists (reused, {workgroup.get('status')})"
    _until(aws, f"waiting for workgroup {dwh.workgroup}", wait_minutes,
           lambda: (get_workgroup(aws) or {}).get("status") == "AVAILABLE")
    endpoint = get_workgroup(aws)["endpoint"]["address"]
    updates[("CLUSTER", "DWH_ENDPOINT")] = endpoint
    rows.append(("workgroup", state, f"{dwh.workgroup} at {endpoint}:{dwh.port}, {dwh.base_capacity} RPU"))


def _teardown_serverless(aws: Aws, final_snapshot: bool, wait_minutes: float) -> list[tuple[str, str, str]]:
    dwh = aws.config.dwh
    rows = []
    workgroup = get_workgroup(aws)
    if workgroup is None:
        rows.append(("workgroup", "not found", dwh.workgroup))
    else:
        if workgroup.get("status") != "DELETING":
            _call("delete workgroup", aws.serverless.delete_workgroup, workgroupName=dwh.workgroup)
        _until(aws, f"deleting workgroup {dwh.workgroup}", wait_minutes, lambda: get_workgroup(aws) is None)
        rows.append(("workgroup", "deleted", dwh.workgroup))
    namespace = get_namespace(aws)
    if namespace is None:
        rows.append(("namespace", "not found", dwh.namespace))
    else:
        params: dict[str, Any] = {"namespaceName": dwh.namespace}
        if final_snapshot:
            params["finalSnapshotName"] = f"{dwh.namespace}-final-{int(time.time())}"
        if namespace.get("status") != "DELETING":
            _call("delete namespace", aws.serverless.delete_namespace, **params)
        _until(aws, f"deleting namespace {dwh.namespace}", wait_minutes, lambda: get_namespace(aws) is None)
        snapshot = f" (final snapshot {params['finalSnapshotName']})" if final_snapshot else ""
        rows.append(("namespace", "deleted", dwh.namespace + snapshot))
    return rows


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
def provision(config: Config, *, create_cluster: bool = True, wait_minutes: float = 30,
              aws: Aws | None = None) -> pd.DataFrame:
    """The role, the security group and its rule, and the warehouse (``create_cluster``: create the
    cluster, or the Serverless namespace and workgroup, when missing)."""
    aws = aws or Aws(config)
    account = aws.check_credentials()
    rows = [("account", "ok", f"AWS account {account}, region {config.s3.region}")]
    network = allowed_cidr(config)
    role_arn, role_state = ensure_role(aws)
    rows.append(("IAM role", role_state, f"{config.dwh.iam_role_name} ({role_arn}), AmazonS3ReadOnlyAccess"))
    group_id, group_state, vpc_id = ensure_group(aws)
    rows.append(("security group", group_state, f"{group_name(config)} ({group_id}) in {vpc_id}"))
    rows.append(("ingress rule", ensure_ingress(aws, group_id, network),
                 f"tcp {config.dwh.port} from {network} on {group_id}"))
    updates = {("DWH", "DWH_IAM_ROLE_ARN"): role_arn}
    if serverless(config):
        _provision_serverless(aws, role_arn, group_id, vpc_id, create_cluster, wait_minutes, rows, updates)
    else:
        _provision_cluster(aws, role_arn, group_id, create_cluster, wait_minutes, rows, updates)
    if ("CLUSTER", "DWH_ENDPOINT") in updates:
        updates.update({("CLUSTER", "DWH_PORT"): str(config.dwh.port), ("CLUSTER", "DWH_DB"): config.dwh.db,
                        ("CLUSTER", "DWH_DB_USER"): config.dwh.db_user})
    path = write_back(config, updates)
    rows.append(("configuration", "updated", f"{path}: " + ", ".join(f"[{s}] {k}" for s, k in updates)))
    return pd.DataFrame(rows, columns=["resource", "state", "detail"])


def still_running(config: Config, aws: Aws | None = None) -> str | None:
    """A sentence naming the warehouse that still costs money and its hourly cost, or None."""
    try:
        aws = aws or Aws(config)
        if serverless(config):
            workgroup, namespace = get_workgroup(aws), get_namespace(aws)
            if workgroup is None and namespace is None:
                return None
            what = (f"Redshift Serverless workgroup {config.dwh.workgroup} still exists and costs about "
                    f"${hourly_cost(config):.2f} per hour of query time ({config.dwh.base_capacity} RPU x "
                    f"${RPU_HOUR_PRICE}), its namespace's storage for as long as it exists"
                    if workgroup else f"Redshift Serverless namespace {config.dwh.namespace} still exists "
                                      f"(storage is billed)")
        else:
            status = _cluster_status(aws)
            if status is None or status == "deleting":
                return None
            what = (f"Redshift cluster {config.dwh.cluster_identifier} is still running ({status}) and costs "
                    f"about ${hourly_cost(config):.2f} per hour")
    except (AwsError, ClientError, ConfigError) as err:
        return (f"the Redshift warehouse {warehouse_name(config)} may still be running (it could not be checked: "
                f"{redact(str(err)).strip()}); check the Redshift console")
    return f"{what}: run notebook 05 (sparkify run --only 05) to delete it."


def status(config: Config, aws: Aws | None = None) -> pd.DataFrame:
    aws = aws or Aws(config)
    rows = []
    try:
        arn = aws.iam.get_role(RoleName=config.dwh.iam_role_name)["Role"]["Arn"]
        rows.append(("IAM role", "exists", arn))
    except aws.iam.exceptions.NoSuchEntityException:
        rows.append(("IAM role", "absent", config.dwh.iam_role_name))
    if serverless(config):
        for kind, found, name in (("namespace", get_namespace(aws), config.dwh.namespace),
                                  ("workgroup", get_workgroup(aws), config.dwh.workgroup)):
            rows.append((kind, found["status"].lower() if found else "absent", name))
    else:
        cluster = describe_cluster(aws)
        if cluster is None:
            rows.append(("cluster", "absent", config.dwh.cluster_identifier))
        else:
            rows.append(("cluster", cluster["ClusterStatus"],
                         f"{cluster['NodeType']} x {cluster.get('NumberOfNodes', 1)}"))
    message = still_running(config, aws)
    if message:
        warnings.warn(message, stacklevel=2)
        log.warning(message)
    return pd.DataFrame(rows, columns=["resource", "state", "detail"])


def teardown(config: Config, *, delete_cluster: bool = True, final_snapshot: bool = False,
             wait_minutes: float = 30, aws: Aws | None = None) -> pd.DataFrame:
    """Delete what :func:`provision` created, whatever exists of it; safe to run any number of times."""
    if not delete_cluster:
        return pd.DataFrame([("everything", "kept", "delete_cluster is off")], columns=["resource", "state", "detail"])
    aws = aws or Aws(config)
    aws.check_credentials()
    if serverless(config):
        rows = _teardown_serverless(aws, final_snapshot, wait_minutes)
    else:
        rows = [_teardown_cluster(aws, final_snapshot, wait_minutes)]
    rows.append(delete_group(aws))
    rows.append(delete_role(aws))
    if config.cluster.endpoint:
        write_back(config, {("CLUSTER", "DWH_ENDPOINT"): ""})
    return pd.DataFrame(rows, columns=["resource", "state", "detail"])
