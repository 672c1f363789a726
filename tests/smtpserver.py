"""A small SMTP server on 127.0.0.1 for the tests of CCHC_MAIL_MODE=smtp: EHLO/HELO, STARTTLS (or TLS from the
first byte), AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It keeps the messages, and every command with
whether it came over TLS, so a test can show that nothing (credentials above all) was sent in clear.

`certificate()` makes a self-signed certificate for the names and addresses asked (the CA bundle of the tests)."""
from __future__ import annotations

import base64
import datetime
import socketserver
import ssl
import threading
from pathlib import Path


def certificate(directory: Path, names: tuple[str, ...] = ("localhost",),
                addresses: tuple[str, ...] = ("127.0.0.1",)) -> tuple[Path, Path]:
    """A self-signed certificate (also its own CA) valid for `names` and `addresses`: (cert.pem, key.pem)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (names or addresses)[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class SmtpServer:
    """starttls: offer STARTTLS (needs cert); implicit: TLS from the first byte (SMTPS, needs cert)."""

    def __init__(self, cert: tuple[Path, Path] | None = None, *, starttls: bool = True, implicit: bool = False):
        self.messages: list[bytes] = []
        self.commands: list[tuple[bool, str]] = []  # (over TLS, the command line as received)
        self.logins: list[tuple[bool, str, str]] = []  # (over TLS, user, password)
        self._lock = threading.Lock()
        context = None
        if cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*cert)
        server_self = self

        class Handler(socketserver.StreamRequestHandler):
            def setup(self) -> None:
                self.tls = False
                if implicit:
                    self.request = context.wrap_socket(self.request, server_side=True)
                    self.tls = True
                super().setup()

            def handle(self) -> None:
                try:
                    self.converse()
                except (OSError, ssl.SSLError):  # a client that refused our certificate, or died
                    pass

            def say(self, line: bytes) -> None:
                self.wfile.write(line + b"\r\n")
                self.wfile.flush()

            def upgrade(self) -> None:
                self.wfile.flush()
                self.connection = self.request = context.wrap_socket(self.request, server_side=True)
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb")
                self.tls = True

            def converse(self) -> None:
                self.say(b"220 sink ESMTP")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    with server_self._lock:
                        server_self.commands.append((self.tls, line.decode(errors="replace").strip()))
                    verb = line[:8].split()[0].upper() if line.strip() else b""
                    if verb == b"EHLO":
                        extensions = [b"AUTH PLAIN LOGIN"]
                        if starttls and context is not None and not self.tls:
                            extensions.append(b"STARTTLS")
                        self.say(b"250-sink")
                        for ext in extensions[:-1]:
                            self.say(b"250-" + ext)
                        self.say(b"250 " + extensions[-1])
                    elif verb == b"HELO":
                        self.say(b"250 sink")
                    elif verb == b"STARTTLS" and starttls and context is not None and not self.tls:
                        self.say(b"220 ready for TLS")
                        self.upgrade()
                    elif verb == b"AUTH":
                        self.auth(line.split()[1:])
                    elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                        self.say(b"250 OK")
                    elif verb == b"DATA":
                        self.say(b"354 go ahead")
                        chunks = []
                        while True:
                            data = self.rfile.readline()
                            if not data:
                                return  # cut before the final dot: an incomplete message is not delivered
                            if data in (b".\r\n", b".\n"):
                                break
                            chunks.append(data[1:] if data.startswith(b"..") else data)
                        with server_self._lock:
                            server_self.messages.append(b"".join(chunks))
                        self.say(b"250 queued")
                    elif verb == b"QUIT":
                        self.say(b"221 bye")
                        return
                    else:
                        self.say(b"502 not implemented")

            def auth(self, args: list[bytes]) -> None:
                mechanism = args[0].upper() if args else b""
                if mechanism == b"PLAIN":
                    blob = args[1] if len(args) > 1 else None
                    if blob is None:
                        self.say(b"334 ")
                        blob = self.rfile.readline().strip()
                    _, user, password = base64.b64decode(blob).split(b"\0")
                elif mechanism == b"LOGIN":
                    self.say(b"334 " + base64.b64encode(b"Username:"))
                    user = base64.b64decode(args[1]) if len(args) > 1 else base64.b64decode(self.rfile.readline())
                    self.say(b"334 " + base64.b64encode(b"Password:"))
                    password = base64.b64decode(self.rfile.readline())
                else:
                    self.say(b"504 unknown mechanism")
                    return
                with server_self._lock:
                    server_self.logins.append((self.tls, user.decode(), password.decode()))
                self.say(b"235 authenticated")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="smtp-server", daemon=True).start()

    def clear_text(self) -> list[str]:
        """Commands received before TLS, other than the greeting and the switch to TLS."""
        with self._lock:
            return [c for tls, c in self.commands
                    if not tls and c.split()[0].upper() not in ("EHLO", "STARTTLS", "QUIT")]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
