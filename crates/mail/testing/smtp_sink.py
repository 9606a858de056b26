"""A real SMTP server for the mail tests: aiosmtpd where it is installed, else the smtpd module
of Python 3.11 and earlier. Each message received is kept as a JSON file in the folder named as
the first argument: envelope sender, recipients, the message as sent, Python's own reading of its
headers and body, whether it came over TLS and who had signed in. A message to an address
beginning "refused" is refused at the end of DATA. Prints the port it listens on.

With options (aiosmtpd only): --cert CERT --key KEY offer TLS, as STARTTLS (required before
anything else with --require-starttls) or from the first byte with --smtps; --user U with
--password P requires AUTH PLAIN or LOGIN as U (--exclude LOGIN or PLAIN offers only the other),
and with --token T accepts AUTH XOAUTH2 for U with bearer token T instead; --auth-without-tls
offers AUTH without TLS."""

import argparse
import base64
import email
import email.policy
import json
import os
import socket
import sys
import warnings

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--smtps", action="store_true")
parser.add_argument("--require-starttls", action="store_true")
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--token")
parser.add_argument("--exclude", action="append", default=[])
parser.add_argument("--auth-without-tls", action="store_true")
ARGS = parser.parse_args()
OUT = ARGS.out


def keep(mailfrom, rcpttos, data, tls=False, auth=None):
    if any(r.startswith("refused") for r in rcpttos):
        return "554 5.7.1 refused by the test relay"
    n = len([f for f in os.listdir(OUT) if f.endswith(".json")])
    path = os.path.join(OUT, "%04d.json" % n)
    # Python's own reading of the message, to set against how Steward wrote it.
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    kept = {
        "from": mailfrom,
        "to": rcpttos,
        "data": data.decode("utf-8"),
        "headers": {k: str(v) for k, v in parsed.items()},
        "body": parsed.get_content().replace("\r\n", "\n"),
        "defects": [type(d).__name__ for d in parsed.defects],
        "tls": tls,
        "auth": auth,
    }
    with open(path + ".tmp", "w") as f:
        json.dump(kept, f)
    os.rename(path + ".tmp", path)
    return None


def serve_aiosmtpd():
    import logging
    import ssl
    import threading

    # Quiet: a client that gives up on the certificate, as one test wants, is no news here.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore", UserWarning)

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    signing_in = ARGS.user is not None

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            refused = keep(
                envelope.mail_from,
                envelope.rcpt_tos,
                envelope.original_content,
                # With --smtps the socket speaks nothing but TLS; aiosmtpd only notes STARTTLS.
                tls=session.ssl is not None or ARGS.smtps,
                auth=session.auth_data if isinstance(session.auth_data, str) else None,
            )
            return refused or "250 OK"

        if ARGS.token is not None:
            # XOAUTH2: base64 of "user=U\x01auth=Bearer T\x01\x01", in the AUTH line itself.
            async def auth_XOAUTH2(self, server, args):
                try:
                    text = base64.b64decode(args[1], validate=True).decode()
                except Exception:
                    return AuthResult(success=False, handled=False)
                if text == "user=%s\x01auth=Bearer %s\x01\x01" % (ARGS.user, ARGS.token):
                    return AuthResult(success=True, auth_data="XOAUTH2:" + ARGS.user)
                return AuthResult(success=False, handled=False)

    def authenticator(server, session, envelope, mechanism, data):
        ok = (
            ARGS.password is not None
            and isinstance(data, LoginPassword)
            and data.login.decode() == ARGS.user
            and data.password.decode() == ARGS.password
        )
        if ok:
            return AuthResult(success=True, auth_data="%s:%s" % (mechanism, ARGS.user))
        return AuthResult(success=False, handled=False)

    context = None
    if ARGS.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(ARGS.cert, ARGS.key)

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server_kwargs = {}
    if signing_in:
        server_kwargs.update(
            auth_required=True,
            authenticator=authenticator,
            auth_exclude_mechanism=ARGS.exclude,
            # aiosmtpd does not see TLS from the first byte, so it would never offer AUTH;
            # --auth-without-tls plays a server that takes passwords in the clear.
            auth_require_tls=not (ARGS.smtps or ARGS.auth_without_tls),
        )
    if context is not None and not ARGS.smtps:
        server_kwargs.update(tls_context=context, require_starttls=ARGS.require_starttls)
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        ssl_context=context if ARGS.smtps else None,
        server_hostname="localhost",
        **server_kwargs,
    )
    controller.start()
    print(port, flush=True)
    threading.Event().wait()


def serve_smtpd():
    if ARGS.cert or ARGS.user:
        sys.exit("TLS and AUTH need aiosmtpd")
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore
    import smtpd

    class Sink(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            return keep(mailfrom, rcpttos, data)

    server = Sink(("127.0.0.1", 0), None, decode_data=False)
    print(server.socket.getsockname()[1], flush=True)
    asyncore.loop()


try:
    import aiosmtpd  # noqa: F401
except ImportError:
    serve_smtpd()
else:
    serve_aiosmtpd()
