"""``prosperity nats-config`` and ``prosperity nats-provision`` as an operator runs them, and TLS on a real server.

Every file the generator writes is accepted by ``nats-server -t``; secrets are readable by their owner only;
running it again keeps every identity's key (so no running service is locked out) unless one is rotated; an
invalid registry is refused with the file, the field and the rule, and nothing is written."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
from pathlib import Path

import nats
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.bus.generate import load_plan, readable_by_owner_only
from services.bus.keys import public_key_of
from services.bus.natsconf import TlsFiles
from services.infra.embedded import EmbeddedNats, free_port
from tests.conftest import BusFactory

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "deploy" / "nats" / "agencies.toml"


def prosperity(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=None if env is None else os.environ | env)


def test_nats_config_writes_a_valid_single_server_configuration_and_a_seed_per_identity(tmp_path: Path) -> None:
    out = tmp_path / "bus"
    result = prosperity("nats-config", "--registry", str(REGISTRY), "--out", str(out))
    assert result.returncode == 0, result.stderr
    plan = load_plan(out)
    names = {identity.name for identity in plan.identities}
    assert names == {"relay", "admin", "api", "dashboard", "audit", "notifications", "agency-gev-capital",
                     "agency-akureyri-welfare", "agency-statsforvalteren-nordland"}
    for identity in plan.identities:
        seed = out / "secrets" / f"{identity.name}.nk"
        assert readable_by_owner_only(seed)
        assert public_key_of(seed.read_text()) == identity.public_key
    config = (out / "nats.conf").read_text()
    seeds = [p.read_text().strip() for p in (out / "secrets").glob("*.nk")]
    assert not [seed for seed in seeds if seed in config] and '"password"' not in config, "public keys only"
    assert 'http: "127.0.0.1:8222"' in config and "no_auth_user" not in config
    assert readable_by_owner_only(out / "secrets")

    before = {p.name: p.read_text() for p in (out / "secrets").iterdir()}
    again = prosperity("nats-config", "--registry", str(REGISTRY), "--out", str(out), "--rotate", "relay")
    assert again.returncode == 0, again.stderr
    after = {p.name: p.read_text() for p in (out / "secrets").iterdir()}
    assert {name for name in before if before[name] != after[name]} == {"relay.nk"}


def test_nats_config_writes_each_node_of_a_cluster_with_its_route_password_private(tmp_path: Path) -> None:
    out = tmp_path / "bus"
    result = prosperity("nats-config", "--registry", str(REGISTRY), "--out", str(out), "--listen", "0.0.0.0:4222",
                        "--store-dir", "/data/jetstream", "--cluster",
                        "nats-0.nats:6222,nats-1.nats:6222,nats-2.nats:6222", "--cluster-listen", "0.0.0.0:6222")
    assert result.returncode == 0, result.stderr
    nodes = sorted((out / "cluster").glob("n*.conf"))
    assert [n.name for n in nodes] == ["n1.conf", "n2.conf", "n3.conf"]
    password = (out / "secrets" / "route-password").read_text().strip()
    for node in nodes:
        assert readable_by_owner_only(node)
        text = node.read_text()
        assert '"password": "$2b$11$' in text                   # routes authenticate against a bcrypt hash
        assert text.count(f"route:{password}@") == 2             # and dial their two peers with the password
    assert "nats-0.nats:6222" not in nodes[0].read_text().split('"routes"')[1]


@pytest.mark.parametrize(("registry_text", "message"), [
    ('[[agency]]\nid = "gev"\njurisdiction = "IS"\nmunicipalities = ["muni:x"]\nevent_types = ["nope"]\n',
     "agency.0.event_types: Value error, unknown event types ['nope']"),
    ('[[agency]]\nid = "Gev"\njurisdiction = "IS"\nmunicipalities = ["muni:x"]\n', "agency.0.id: String should match"),
])
def test_nats_config_refuses_an_invalid_registry_and_writes_nothing(tmp_path: Path, registry_text: str,
                                                                      message: str) -> None:
    registry = tmp_path / "agencies.toml"
    registry.write_text(registry_text)
    result = prosperity("nats-config", "--registry", str(registry), "--out", str(tmp_path / "bus"))
    assert result.returncode == 2
    assert f"{registry}: {message}" in result.stderr
    assert not (tmp_path / "bus").exists()


async def test_nats_provision_creates_the_streams_and_durables_as_admin_and_only_as_admin(tmp_path: Path) -> None:
    out, port = tmp_path / "bus", free_port()
    data = tmp_path / "data"
    assert prosperity("nats-config", "--registry", str(REGISTRY), "--out", str(out), "--listen", f"127.0.0.1:{port}",
                      "--monitor", "off", "--store-dir", str(data)).returncode == 0
    url = f"nats://127.0.0.1:{port}"
    with EmbeddedNats(data, port, config_file=out / "nats.conf"):
        as_relay = prosperity("nats-provision", "--bus", str(out), "--nats-url", url, "--timeout", "1",
                              env={"PROSPERITY_NATS_SEED_FILE": str(out / "secrets" / "relay.nk")})
        assert as_relay.returncode == 1 and "is 'admin' the identity?" in as_relay.stderr
        result = prosperity("nats-provision", "--bus", str(out), "--nats-url", url)  # admin's seed from --bus
        assert result.returncode == 0, result.stderr
        assert "provisioned CASES, DEADLETTERS and 6 durable consumers" in result.stdout
        admin = await nats.connect(url, nkeys_seed=str(out / "secrets" / "admin.nk"), inbox_prefix="_INBOX_admin")
        try:
            js = admin.jetstream()
            assert {info.name for info in await js.consumers_info("CASES")} == {
                "dashboard", "audit", "notifications", "agency-gev-capital", "agency-akureyri-welfare",
                "agency-statsforvalteren-nordland"}
            assert (await js.stream_info("DEADLETTERS")).config.subjects == ["deadletter.>"]
            assert (await js.stream_info("CASES")).config.duplicate_window == 600
        finally:
            await admin.close()


# ---- TLS -------------------------------------------------------------------------------------------------
def certificates(directory: Path) -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1 signed by it (what an operator gets from their PKI)."""
    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("prosperity test CA")).issuer_name(name("prosperity test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
              .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False).sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(cert_file=directory / "server.pem", key_file=directory / "server.key",
                     ca_file=directory / "ca.pem")
    files.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))  # type: ignore[union-attr]
    files.key_file.write_bytes(server_key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    return files


async def test_with_tls_a_service_that_trusts_the_ca_connects_and_one_that_does_not_is_refused(
        bus_factory: BusFactory, tmp_path: Path) -> None:
    target = bus_factory(tls=certificates(tmp_path / "tls"))
    relay = await target.connect("relay")                          # PROSPERITY_NATS_TLS_CA_FILE from env()
    try:
        ack = await relay.jetstream().publish(target.subject("cases.v1.is.reykjavik.service_recorded"), b"{}")
        assert ack.stream == target.stream
    finally:
        await relay.close()
    assert target.env("relay")["PROSPERITY_NATS_TLS_CA_FILE"] == str(tmp_path / "tls" / "ca.pem")
    with pytest.raises(ssl.SSLCertVerificationError):
        await nats.connect(target.url.replace("tls://", "nats://"), nkeys_seed=str(target.seed_file("relay")),
                           tls=ssl.create_default_context(), allow_reconnect=False, max_reconnect_attempts=0,
                           connect_timeout=2)
    assert target.url.startswith("tls://")
