"""AWS provisioning and teardown against a moto server (the only offline stand-in for the AWS
control plane): create, describe, write back, reuse, tear down twice, refuse the open internet,
report credential problems, and keep secrets out of the notebooks' output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest
from conftest import _free_port, write_config

from sparkify import aws
from sparkify.config import ConfigError, load_config

PASSWORD = "Passw0rdOfTheFakeCluster"


def redshift_config(path, endpoint, **dwh):
    values = {"DWH_BACKEND": "redshift", "DWH_ALLOWED_CIDR": "203.0.113.7/32", "DWH_DB_PASSWORD": PASSWORD,
              "DWH_CLUSTER_IDENTIFIER": "sparkify-test", "DWH_NODE_TYPE": "dc2.large", "DWH_NUM_NODES": "2"}
    values.update(dwh)
    write_config(path, {"AWS": {"KEY": "testing", "SECRET": "testing", "ENDPOINT_URL": endpoint}, "DWH": values,
                        "CLUSTER": {"DWH_DB_PASSWORD": PASSWORD}})
    path.write_text("# my settings\n" + path.read_text())
    return load_config(path)


def clients(endpoint):
    kw = {"endpoint_url": endpoint, "region_name": "us-west-2", "aws_access_key_id": "testing",
          "aws_secret_access_key": "testing"}
    return boto3.client("iam", **kw), boto3.client("ec2", **kw), boto3.client("redshift", **kw)


def test_provision_reuse_teardown_twice(tmp_path, aws_env):
    config = redshift_config(tmp_path / "dwh.cfg", aws_env)
    assert aws.hourly_cost(config) == 0.5
    result = aws.provision(config, wait_minutes=2)
    states = dict(zip(result["resource"], result["state"], strict=True))
    assert states["IAM role"] == "created" and states["ingress rule"] == "created"
    assert states["security group"] == "created"
    assert states["cluster"].startswith("created ($0.50/hour)")

    iam, ec2, redshift = clients(aws_env)
    role = iam.get_role(RoleName="sparkify-redshift-s3-read")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "redshift.amazonaws.com"}
    policies = iam.list_attached_role_policies(RoleName="sparkify-redshift-s3-read")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in policies] == [aws.S3_READ_POLICY]
    cluster = redshift.describe_clusters(ClusterIdentifier="sparkify-test")["Clusters"][0]
    assert cluster["Encrypted"] and cluster["NodeType"] == "dc2.large" and cluster["NumberOfNodes"] == 2
    assert [r["IamRoleArn"] for r in cluster["IamRoles"]] == [role["Arn"]]
    group_ids = [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]]
    group = ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"]
    assert [g["GroupName"] for g in group] == ["sparkify-test-access"]  # its own, not the VPC's default
    ranges = [(p.get("FromPort"), r["CidrIp"]) for p in group[0]["IpPermissions"] for r in p["IpRanges"]]
    assert ranges == [(5439, "203.0.113.7/32")]

    written = load_config(tmp_path / "dwh.cfg")  # endpoint and role ARN written back, comments kept
    assert written.cluster.endpoint == cluster["Endpoint"]["Address"]
    assert written.dwh.iam_role_arn == role["Arn"]
    assert (tmp_path / "dwh.cfg").read_text().startswith("# my settings")
    assert PASSWORD not in result.to_string()

    again = aws.provision(written, wait_minutes=2)
    states = dict(zip(again["resource"], again["state"], strict=True))
    assert states["IAM role"].startswith("exists") and states["ingress rule"].startswith("exists")
    assert states["cluster"].startswith("exists") and states["security group"].startswith("exists")
    assert len(redshift.describe_clusters()["Clusters"]) == 1

    with pytest.warns(UserWarning, match=r"costs about \$0.50 per hour"):
        status = aws.status(written)
    assert dict(zip(status["resource"], status["state"], strict=True))["cluster"] == "available"
    assert "sparkify-test is still running" in aws.still_running(written)

    removed = aws.teardown(written, wait_minutes=2)
    assert dict(zip(removed["resource"], removed["state"], strict=True)) == {
        "cluster": "deleted", "security group": "deleted", "IAM role": "deleted"}
    assert redshift.describe_clusters()["Clusters"] == []
    assert ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["sparkify-test-access"]}])[
        "SecurityGroups"] == []  # the cluster's own group is gone with it
    assert aws.still_running(written) is None
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="sparkify-redshift-s3-read")
    twice = aws.teardown(load_config(tmp_path / "dwh.cfg"), wait_minutes=2)
    assert set(twice["state"]) == {"not found"}


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "1.2.3.4/0", "0.0.0.0/00", "::/0", "0::/0", "2001:db8::1/0"])
def test_every_form_of_the_open_internet_is_refused_unless_allowed(tmp_path, cidr):
    config = redshift_config(tmp_path / "dwh.cfg", "", DWH_ALLOWED_CIDR=cidr)
    with pytest.raises(ConfigError, match=rf"DWH_ALLOWED_CIDR = '{re.escape(cidr)}' admits the whole internet"):
        aws.allowed_cidr(config)
    config = redshift_config(tmp_path / "open.cfg", "", DWH_ALLOWED_CIDR=cidr, DWH_ALLOW_PUBLIC="true")
    with pytest.warns(UserWarning, match="from anywhere"):
        assert aws.allowed_cidr(config).prefixlen == 0


def test_the_open_internet_is_refused_before_anything_is_created(tmp_path, aws_env):
    config = redshift_config(tmp_path / "dwh.cfg", aws_env, DWH_ALLOWED_CIDR="1.2.3.4/0")
    with pytest.raises(ConfigError, match="admits the whole internet"):
        aws.provision(config, create_cluster=False)
    iam, ec2, _ = clients(aws_env)
    assert not any(g["GroupName"] == "sparkify-test-access" for g in ec2.describe_security_groups()["SecurityGroups"])
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="sparkify-redshift-s3-read")
    config = redshift_config(tmp_path / "open.cfg", aws_env, DWH_ALLOWED_CIDR="0.0.0.0/0", DWH_ALLOW_PUBLIC="true")
    with pytest.warns(UserWarning, match="from anywhere"):
        aws.provision(config, create_cluster=False)


def _rules(ec2, name="sparkify-test-access"):
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0]
    return sorted([r["CidrIp"] for p in group["IpPermissions"] for r in p.get("IpRanges", [])] +
                  [r["CidrIpv6"] for p in group["IpPermissions"] for r in p.get("Ipv6Ranges", [])])


def test_host_bits_are_masked_and_ipv6_goes_through_ipv6_ranges(tmp_path, aws_env):
    _, ec2, _ = clients(aws_env)
    config = redshift_config(tmp_path / "dwh.cfg", aws_env, DWH_ALLOWED_CIDR="203.0.113.77/24")
    result = aws.provision(config, create_cluster=False)
    assert "from 203.0.113.0/24" in result.set_index("resource").loc["ingress rule", "detail"]
    assert _rules(ec2) == ["203.0.113.0/24"]
    assert aws._permission(5439, aws.allowed_cidr(redshift_config(tmp_path / "v6.cfg", aws_env,
                                                                  DWH_ALLOWED_CIDR="2001:db8::7/64"))) == {
        "IpProtocol": "tcp", "FromPort": 5439, "ToPort": 5439,
        "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/64", "Description": aws.RULE_DESCRIPTION}]}
    config = redshift_config(tmp_path / "v6.cfg", aws_env, DWH_ALLOWED_CIDR="2001:db8::7/64")
    states = aws.provision(config, create_cluster=False).set_index("resource")["state"]
    assert states["ingress rule"] == "created (replaced 203.0.113.0/24)"
    assert _rules(ec2) == ["2001:db8::/64"]


def test_a_changed_cidr_replaces_the_old_rule(tmp_path, aws_env):
    _, ec2, _ = clients(aws_env)
    aws.provision(redshift_config(tmp_path / "dwh.cfg", aws_env, DWH_ALLOWED_CIDR="203.0.113.7/32"),
                  create_cluster=False)
    again = aws.provision(redshift_config(tmp_path / "dwh.cfg", aws_env, DWH_ALLOWED_CIDR="203.0.113.7/32"),
                          create_cluster=False).set_index("resource")["state"]
    assert again["ingress rule"] == "exists (reused)"
    moved = aws.provision(redshift_config(tmp_path / "dwh.cfg", aws_env, DWH_ALLOWED_CIDR="198.51.100.9/32"),
                          create_cluster=False).set_index("resource")["state"]
    assert moved["ingress rule"] == "created (replaced 203.0.113.7/32)"
    assert _rules(ec2) == ["198.51.100.9/32"]  # the old address is not admitted any more


def test_a_cluster_on_the_default_group_moves_to_its_own(tmp_path, aws_env):
    _, ec2, redshift = clients(aws_env)
    redshift.create_cluster(ClusterIdentifier="sparkify-test", NodeType="dc2.large", MasterUsername="sparkify",
                            MasterUserPassword=PASSWORD, ClusterType="single-node")
    result = aws.provision(redshift_config(tmp_path / "dwh.cfg", aws_env), wait_minutes=1)
    assert "moved" in result.set_index("resource").loc["cluster", "state"]
    groups = redshift.describe_clusters()["Clusters"][0]["VpcSecurityGroups"]
    own = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["sparkify-test-access"]}])
    assert [g["VpcSecurityGroupId"] for g in groups] == [own["SecurityGroups"][0]["GroupId"]]


def test_teardown_works_in_any_state(tmp_path, aws_env):
    config = redshift_config(tmp_path / "dwh.cfg", aws_env)
    nothing = aws.teardown(config, wait_minutes=1)  # nothing created
    assert set(nothing["state"]) == {"not found"}
    handle = aws.Aws(config)
    aws.ensure_role(handle)  # half created: a role and a group, no cluster
    aws.ensure_group(handle)
    half = aws.teardown(config, wait_minutes=1).set_index("resource")["state"]
    assert dict(half) == {"cluster": "not found", "security group": "deleted", "IAM role": "deleted"}
    iam, _, _ = clients(aws_env)
    iam.create_role(RoleName="sparkify-redshift-s3-read", AssumeRolePolicyDocument="{}")  # a role, no policy
    assert aws.teardown(config, wait_minutes=1).set_index("resource").loc["IAM role", "state"] == "deleted"
    kept = aws.teardown(config, delete_cluster=False)
    assert list(kept["state"]) == ["kept"]


def test_missing_cidr_is_named(tmp_path, aws_env):
    config = redshift_config(tmp_path / "dwh.cfg", aws_env, DWH_ALLOWED_CIDR="")
    with pytest.raises(ConfigError, match=r"\[DWH\] DWH_ALLOWED_CIDR: missing"):
        aws.provision(config, create_cluster=False)


def test_missing_credentials_are_a_clear_error(tmp_path, monkeypatch, aws_env):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    path = write_config(tmp_path / "dwh.cfg", {"AWS": {"ENDPOINT_URL": aws_env},
                                               "DWH": {"DWH_BACKEND": "redshift", "DWH_ALLOWED_CIDR": "1.2.3.4/32"}})
    with pytest.raises(aws.AwsError, match="no AWS credentials: set \\[AWS\\] KEY and SECRET"):
        aws.provision(load_config(path))
    half = write_config(tmp_path / "half.cfg", {"AWS": {"KEY": "AKIAONLYHALF1234"}, "DWH": {"DWH_BACKEND": "redshift"}})
    with pytest.raises(ConfigError, match="KEY and SECRET go together"):
        aws.provision(load_config(half))


@pytest.fixture(scope="module")
def strict_moto():
    """A moto server that checks credentials, so that wrong keys are refused as AWS refuses them."""
    port = _free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


def test_invalid_credentials_are_a_clear_error_without_the_key(tmp_path, strict_moto):
    path = write_config(tmp_path / "dwh.cfg", {
        "AWS": {"KEY": "FAKEKEYWRONGWRONGWRONG1", "SECRET": "WrongSecretWrongSecret", "ENDPOINT_URL": strict_moto},
        "DWH": {"DWH_BACKEND": "redshift", "DWH_ALLOWED_CIDR": "1.2.3.4/32"}})
    with pytest.raises(aws.AwsError) as err:
        aws.provision(load_config(path))
    assert "AWS rejected the credentials" in str(err.value)
    assert "FAKEKEYWRONGWRONGWRONG1" not in str(err.value) and "WrongSecretWrongSecret" not in str(err.value)


def test_notebooks_provision_and_tear_down_without_leaking_secrets(tmp_path, aws_env):
    """Notebooks 00 and 05 on the redshift backend, through papermill, against the moto server."""
    from sparkify.batch import run

    fake_key, fake_secret = "FAKEKEYFORMOTOSERVER12", "FakeSecretForMotoServer123456"
    path = write_config(tmp_path / "dwh.cfg", {
        "AWS": {"KEY": fake_key, "SECRET": fake_secret, "ENDPOINT_URL": aws_env},
        "DWH": {"DWH_BACKEND": "redshift", "DWH_ALLOWED_CIDR": "203.0.113.7/32", "DWH_DB_PASSWORD": PASSWORD,
                "DWH_NODE_TYPE": "dc2.large"},
        "CLUSTER": {"DWH_DB_PASSWORD": PASSWORD}})
    run_dir = run(str(path), only=["00"], reports_dir=tmp_path / "reports", notebook_params={"test_connection": False})
    assert load_config(path).cluster.endpoint
    run_dir_05 = run(str(path), only=["05"], reports_dir=tmp_path / "reports")
    _, _, redshift = clients(aws_env)
    assert redshift.describe_clusters()["Clusters"] == []
    for folder in (run_dir, run_dir_05):
        for file in folder.rglob("*"):
            if file.is_file():
                data = file.read_bytes()
                for secret in (fake_key, fake_secret, PASSWORD):
                    assert secret.encode() not in data, f"{secret} in {file}"
    html = (run_dir / "00_provision_warehouse.html").read_text()
    assert "created" in html and "sparkify-cluster" in html


def test_a_failed_redshift_batch_names_the_running_cluster_and_teardown_on_failure_leaves_nothing(tmp_path, aws_env):
    """On moto: 00 provisions, 04 fails; the run's last line names the cluster and its hourly cost (and
    so do summary.json and the index). With teardown_on_failure, 05 runs after the failure: nothing left."""
    import shutil

    import nbformat
    from conftest import ROOT

    from sparkify.batch import BatchFailed, run

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("00_provision_warehouse", "05_teardown_warehouse"):
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", notebooks)
    failing = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('raise RuntimeError("analysis failed")')])
    nbformat.write(failing, notebooks / "04_analyze_song_plays.ipynb")
    config = redshift_config(tmp_path / "dwh.cfg", aws_env)
    reports = tmp_path / "reports"
    with pytest.raises(BatchFailed) as err:
        run(config.source, notebook_dir=notebooks, reports_dir=reports, notebook_params={"test_connection": False})
    last = str(err.value).splitlines()[-1]
    assert "04_analyze_song_plays.ipynb failed" in str(err.value)
    assert "cluster sparkify-test is still running" in last and "$0.50 per hour" in last and "notebook 05" in last
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())
    assert summary["still_running"] == last
    assert last.replace("$", "") in (reports / "index.html").read_text().replace("$", "")
    _, ec2, redshift = clients(aws_env)
    assert len(redshift.describe_clusters()["Clusters"]) == 1

    with pytest.raises(BatchFailed) as err:
        run(config.source, notebook_dir=notebooks, reports_dir=reports, notebook_params={"test_connection": False},
            teardown_on_failure=True)
    assert str(err.value).splitlines()[-1] == "teardown after the failure: 05_teardown_warehouse ran"
    assert redshift.describe_clusters()["Clusters"] == []
    assert not [g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == "sparkify-test-access"]
    iam, _, _ = clients(aws_env)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="sparkify-redshift-s3-read")


def test_the_cli_passes_teardown_on_failure(monkeypatch, capsys):
    import sparkify.batch as batch
    from sparkify.cli import main

    seen = {}

    def fail(*args, **kwargs):
        seen.update(kwargs)
        raise batch.BatchFailed("notebook 04 failed\nRedshift cluster x is still running and costs about "
                                "$0.50 per hour")

    monkeypatch.setattr(batch, "run", fail)
    assert main(["run", "--teardown-on-failure"]) == 1
    assert seen["teardown_on_failure"] is True
    assert capsys.readouterr().err.rstrip().splitlines()[-1].endswith("$0.50 per hour")


def test_waiting_gives_up_at_its_deadline(tmp_path):
    config = redshift_config(tmp_path / "dwh.cfg", "")
    handle = aws.Aws(config, clients={})
    handle.poll_seconds = 0
    with pytest.raises(aws.AwsError, match=r"waiting for x: not done after 0 minutes"):
        aws._until(handle, "waiting for x", 0, lambda: False)


def test_aws_errors_are_scrubbed_of_secrets(tmp_path):
    from botocore.exceptions import ClientError

    redshift_config(tmp_path / "dwh.cfg", "")  # registers the password as a secret

    def reject(**kwargs):
        raise ClientError({"Error": {"Code": "InvalidParameterValue",
                                     "Message": f"MasterUserPassword {PASSWORD} is too weak"}}, "CreateCluster")

    with pytest.raises(aws.AwsError) as err:
        aws._call("create cluster", reject)
    assert "create cluster failed: InvalidParameterValue" in str(err.value) and PASSWORD not in str(err.value)


def test_teardown_waits_for_a_cluster_still_being_created(tmp_path, monkeypatch):
    """delete_cluster refuses a cluster that is still creating (InvalidClusterState): wait, then delete."""
    from botocore.exceptions import ClientError

    config = redshift_config(tmp_path / "dwh.cfg", "")
    deletes = []

    class Redshift:
        def delete_cluster(self, **params):
            deletes.append(params)
            if len(deletes) == 1:
                raise ClientError({"Error": {"Code": "InvalidClusterState", "Message": "creating"}}, "DeleteCluster")

    statuses = ["creating", "available", None]  # what describe_clusters says, poll after poll
    monkeypatch.setattr(aws, "describe_cluster", lambda a: {"ClusterStatus": "creating"})
    monkeypatch.setattr(aws, "_cluster_status", lambda a: statuses.pop(0))
    handle = aws.Aws(config, clients={"redshift": Redshift()})
    handle.poll_seconds = 0
    removed = aws._teardown_cluster(handle, final_snapshot=False, wait_minutes=1)
    assert removed == ("cluster", "deleted", "sparkify-test")
    assert len(deletes) == 2 and statuses == []


def test_still_running_says_so_when_it_cannot_check(tmp_path):
    config = redshift_config(tmp_path / "dwh.cfg", "")

    class Broken:
        class exceptions:  # noqa: N801
            ClusterNotFoundFault = KeyError

        def describe_clusters(self, **kwargs):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeClusters")

    message = aws.still_running(config, aws=aws.Aws(config, clients={"redshift": Broken()}))
    assert "sparkify-test may still be running" in message and "AccessDenied" in message
