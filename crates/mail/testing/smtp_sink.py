"""A real SMTP server for the mail tests: aiosmtpd where it is installed, else the smtpd module
of Python 3.11 and earlier. Each message received is kept as a JSON file in the folder named as
the first argument: envelope sender, recipients, the message as sent, and Python's own reading of
its headers and body. A message to an address beginning "refused" is refused at the end of DATA.
Prints the port it listens on."""

import email
import email.policy
import json
import os
import socket
import sys
import warnings

OUT = sys.argv[1]


def keep(mailfrom, rcpttos, data):
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
    }
    with open(path + ".tmp", "w") as f:
        json.dump(kept, f)
    os.rename(path + ".tmp", path)
    return None


def serve_aiosmtpd():
    import threading

    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            refused = keep(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
            return refused or "250 OK"

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    threading.Event().wait()


def serve_smtpd():
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
