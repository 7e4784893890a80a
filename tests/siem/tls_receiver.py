"""A TLS syslog receiver for the agent's TLS test: a real TLS server (Python's ssl, with a
certificate made for 127.0.0.1) that reads RFC 6587 octet-counted messages. Debian's rsyslog
needs a TLS driver package for this; the framing under TLS is the same one rsyslog reads in
the other tests."""

import datetime
import ipaddress
import socket
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(folder):
    """(certificate path, key path) for a certificate valid for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "receiver.pem", folder / "receiver.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def read_frames(stream):
    """Messages of an octet-counted stream: "<length> <message>" again and again."""
    buffer, messages = b"", []
    while True:
        chunk = stream.recv(65536)
        if not chunk:
            return messages, buffer
        buffer += chunk
        while b" " in buffer:
            length, rest = buffer.split(b" ", 1)
            if len(rest) < int(length):
                break
            messages.append(rest[: int(length)].decode())
            buffer = rest[int(length) :]


class TlsReceiver:
    def __init__(self, folder):
        self.certificate, key = self_signed(folder)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(self.certificate, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.messages, self.handshake_failures = [], []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                with self.context.wrap_socket(connection, server_side=True) as stream:
                    messages, _ = read_frames(stream)
                    self.messages += messages
            except (ssl.SSLError, OSError) as error:
                self.handshake_failures.append(str(error))

    def close(self):
        self.listener.close()
