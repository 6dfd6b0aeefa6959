#!/usr/bin/env python3
"""A connector in Python (standard library only) with tokens from mailbox-token-broker.

It asks the broker for the mailbox's SASL XOAUTH2 string with the CLI
(`token-broker token MAILBOX --xoauth2`), then logs in with imaplib and lists
the inbox, or sends one message with smtplib.

    python3 examples/python/connector.py imap sales-imap outlook.office365.com 993
    python3 examples/python/connector.py imap sales-imap mail.example.net 10993 --tls
    python3 examples/python/connector.py smtp sales-smtp smtp.office365.com 587 --to someone@example.com

The trap: imaplib and smtplib base64-encode whatever the authentication
callback returns. The broker's string is already base64, so the callback must
return the DECODED string ("user=...\\x01auth=Bearer ...\\x01\\x01"), or the
server gets it encoded twice and refuses it.

SMTP: smtplib is told initial_response_ok=False so that it sends `AUTH
XOAUTH2`, waits for 334 and then sends the string: servers cap the AUTH line
(Dovecot answers "500 5.5.2 Line too long") and Entra tokens make it long.

On a refused token the server sends an error challenge (base64 JSON); the
callback answers it with an empty string, which ends the exchange, and the
server then sends its failure. The broker finds out from the connector with
ReportRejected (the Node examples show it; the CLI has no such command).

Environment: TOKEN_BROKER (the CLI to run, default `token-broker`),
TOKEN_BROKER_ADDRESS / TOKEN_BROKER_KEY as for the CLI, CA_FILE to trust a
private CA. One JSON line per event on stdout.
"""
import argparse
import base64
import imaplib
import json
import os
import shlex
import smtplib
import ssl
import subprocess
import sys
from email.message import EmailMessage


def xoauth2_string(mailbox):
    """The decoded SASL XOAUTH2 string of the mailbox's current token."""
    command = shlex.split(os.environ.get("TOKEN_BROKER", "token-broker")) + ["token", mailbox, "--xoauth2"]
    encoded = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()
    return base64.b64decode(encoded).decode("utf-8")


def sasl_user(decoded):
    """The identity inside the string (the shared mailbox when the config sets one)."""
    return decoded.split("\x01", 1)[0].removeprefix("user=")


def answer_once(decoded):
    """The callback both libraries call per server challenge: the string first, then empty (abort)."""
    sent = []

    def respond(challenge=None):
        # Both libraries take a str (imaplib also bytes) and base64-encode it themselves.
        if sent:
            return ""
        sent.append(True)
        return decoded

    return respond


def tls_context():
    context = ssl.create_default_context()
    ca_file = os.environ.get("CA_FILE")
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def report(event):
    print(json.dumps(event), flush=True)


def read_inbox(mailbox, host, port, implicit_tls):
    decoded = xoauth2_string(mailbox)
    if implicit_tls:
        imap = imaplib.IMAP4_SSL(host, port, ssl_context=tls_context())
    else:
        imap = imaplib.IMAP4(host, port)
        imap.starttls(ssl_context=tls_context())
    try:
        # imaplib calls the callback with each server continuation (decoded bytes).
        imap.authenticate("XOAUTH2", answer_once(decoded))
        status, data = imap.select("INBOX", readonly=True)
        report({"event": "inbox", "user": sasl_user(decoded), "messages": int(data[0])})
    finally:
        try:
            imap.logout()
        except imaplib.IMAP4.error:
            pass


def send_message(mailbox, host, port, to, implicit_tls):
    decoded = xoauth2_string(mailbox)
    sender = sasl_user(decoded)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "sent by examples/python/connector.py"
    message.set_content("A token from mailbox-token-broker sent this.\n")
    if implicit_tls:
        smtp = smtplib.SMTP_SSL(host, port, context=tls_context())
    else:
        smtp = smtplib.SMTP(host, port)
        smtp.starttls(context=tls_context())
    try:
        smtp.ehlo()
        # smtplib calls the callback with each decoded 334 challenge.
        smtp.auth("XOAUTH2", answer_once(decoded), initial_response_ok=False)
        smtp.send_message(message)
        report({"event": "sent", "from": sender, "to": to})
    finally:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("protocol", choices=["imap", "smtp"])
    parser.add_argument("mailbox", help="a mailbox name of the broker config")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--to", help="recipient (smtp)")
    parser.add_argument("--tls", action="store_true", help="TLS from the first byte (the default on 993 and 465); else STARTTLS")
    arguments = parser.parse_args()
    implicit_tls = arguments.tls or arguments.port in (993, 465)
    try:
        if arguments.protocol == "imap":
            read_inbox(arguments.mailbox, arguments.host, arguments.port, implicit_tls)
        else:
            if not arguments.to:
                parser.error("smtp needs --to ADDRESS")
            send_message(arguments.mailbox, arguments.host, arguments.port, arguments.to, implicit_tls)
    except (imaplib.IMAP4.error, smtplib.SMTPException, subprocess.CalledProcessError, OSError) as error:
        report({"event": "failed", "message": str(error)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
