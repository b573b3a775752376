"""An external agency consuming prosperity's published case events with faststream and prosperity's contracts.

The faststream version of ``examples/agency_nats_py.py`` (the guide is ``docs/subscribing.md``), for an
agency that installs prosperity's published Python package and codes against its pydantic contracts:

* **discover** the channels in the AsyncAPI document ``contracts/asyncapi.json`` (one channel per event
  type, with its payload schema): ``python examples/agency_faststream.py --channels``;
* connect **as the agency**: its nkey seed (``security=NatsNKey.from_file(…)``) into its own NATS account,
  whose way to prosperity's JetStream is the API prefix ``prosperity.API`` (``js_options={"prefix": …}``);
* bind to the stream **without declaring it**: ``JStream("CASES", declare=False)``. A faststream stream
  declared by a consumer is sent to the server on start-up and *reconfigures* the live stream (its
  duplicate window and retention); only prosperity declares ``CASES`` (and the agency may not);
* a **durable pull subscriber** (``PullSub``) on the durable prosperity created for the agency, whose filter
  (the agency registry's; here built with ``contracts.subjects``) the agency cannot change;
* ``AckPolicy.MANUAL``: the handler acks after processing, rejects (terminates) a payload that is not a
  valid v1 contract, and nacks (redelivery after a delay) when processing failed;
* each payload parsed into its typed contract model with ``contracts.events.parse_event``, ignoring fields
  added to v1 after the installed package was released (``parse_tolerant``).

Run it as a service with ``faststream run examples.agency_faststream:app`` (settings from ``AGENCY_*``
environment variables), or bounded from the command line (``--help``)::

    python examples/agency_faststream.py --nats-url nats://127.0.0.1:4223 --seed-file agency-gev-capital.nk \\
        --durable agency-gev-capital --filter cases.v1.is.reykjavik.complaint_lodged --idle-exit 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faststream import AckPolicy, FastStream
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from faststream.nats.security import NatsCredentials, NatsNKey, NatsSecurity
from faststream.specification import AsyncAPI
from pydantic import ValidationError

from contracts.events import ComplaintLodgedV1, DomicileChangedV1, EventEnvelopeV1, parse_event
from contracts.subjects import STREAM_NAME, subject_for

ASYNCAPI = Path(__file__).resolve().parents[1] / "contracts" / "asyncapi.json"
DEFAULT_FILTER = subject_for("complaint_lodged", "IS", "muni:reykjavik")
"""``cases.v1.is.reykjavik.complaint_lodged``; see also ``municipality_filter``, ``event_type_filter``,
``jurisdiction_filter`` in ``contracts.subjects``."""


JS_API_PREFIX = "prosperity.API"
"""Where an agency's account reaches prosperity's JetStream (``services.bus.plan.AGENCY_JS_API_PREFIX``)."""


@dataclass
class Settings:
    nats_url: str = "nats://127.0.0.1:4222"
    stream: str = STREAM_NAME
    durable: str = "agency-gev-capital"
    filter_subject: str = DEFAULT_FILTER
    """The durable's filter (set by prosperity); faststream names the subscriber after it."""
    seed_file: str | None = None
    creds: str | None = None
    tls_ca: str | None = None
    js_api_prefix: str = JS_API_PREFIX
    max_deliver: int = 5
    """The durable's ``max_deliver`` (the agency registry's, default 5): the last delivery is dead-lettered."""
    retry_delay: float = 5.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(nats_url=env.get("AGENCY_NATS_URL", cls.nats_url), stream=env.get("AGENCY_STREAM", cls.stream),
                   durable=env.get("AGENCY_DURABLE", cls.durable),
                   filter_subject=env.get("AGENCY_FILTER", cls.filter_subject),
                   seed_file=env.get("AGENCY_SEED_FILE"), creds=env.get("AGENCY_CREDS"),
                   tls_ca=env.get("AGENCY_TLS_CA"), js_api_prefix=env.get("AGENCY_JS_API_PREFIX", cls.js_api_prefix))

    def security(self) -> NatsSecurity | None:
        context = ssl.create_default_context(cafile=self.tls_ca) if self.tls_ca else None
        if self.seed_file:
            return NatsNKey.from_file(self.seed_file, ssl_context=context)
        if self.creds:
            return NatsCredentials.from_file(self.creds, ssl_context=context)
        return NatsSecurity(ssl_context=context) if context else None


@dataclass
class Tally:
    ok: int = 0
    duplicate: int = 0
    invalid: int = 0
    retry: int = 0
    dead: int = 0
    last_message: float = field(default_factory=time.monotonic)

    @property
    def handled(self) -> int:
        return self.ok + self.duplicate + self.invalid + self.retry + self.dead


def parse_tolerant(body: bytes) -> tuple[EventEnvelopeV1, list[str]]:
    """``parse_event``, ignoring fields this version of the contracts does not know; returns the event and
    the ignored fields' paths.

    Within v1 fields are only ever added, but the contract models forbid unknown fields: a payload from a
    newer publisher would fail ``parse_event`` until the agency upgrades its package. Anything else that
    fails (a missing or mistyped field, an unknown event type) still raises."""
    try:
        return parse_event(body), []
    except ValidationError as error:
        extra = [e["loc"] for e in error.errors() if e["type"] == "extra_forbidden"]
        if not extra or len(extra) < error.error_count():
            raise
    payload = json.loads(body)
    for loc in extra:
        *path, name = loc
        container = payload
        for key in path:
            container = container[key]
        del container[name]
    return parse_event(json.dumps(payload)), [".".join(map(str, loc)) for loc in extra]


def process(event: EventEnvelopeV1) -> str:
    """The agency's work, on typed contracts; returns a summary for the log line. Raising makes the message
    come back later (nack); after ``max_deliver`` deliveries it is dead-lettered."""
    match event:
        case ComplaintLodgedV1():
            return f"complaint={event.complaint_id} about={event.subject.value} to={event.body}"
        case DomicileChangedV1():
            return f"moved {event.from_municipality_ref} -> {event.to_municipality_ref}"
        case _:
            return f"in={event.municipality_ref}"


def build_broker(settings: Settings, out: Callable[[str], None] = print) -> tuple[NatsBroker, Tally]:
    """The broker with the agency's one subscriber, and the tally the handler keeps."""
    js_options = {"prefix": settings.js_api_prefix} if settings.js_api_prefix else {}
    # Per-message logs at DEBUG: the handler prints its own line per event.
    broker = NatsBroker(settings.nats_url, security=settings.security(), js_options=js_options,
                        max_reconnect_attempts=-1, log_level=logging.DEBUG)
    stream = JStream(settings.stream, declare=False)    # bind, never declare (tech-notes §5.2a)
    tally, seen = Tally(), set[str]()

    @broker.subscriber(
        settings.filter_subject,
        stream=stream,
        durable=settings.durable,       # prosperity's durable for the agency: restarts resume at its position
        # batch_size=1 keeps the stream's order: faststream 0.7 runs the messages of one fetched batch
        # *concurrently* (one task each), so with batch_size=20 a case's version 5 can be handled before 4.
        pull_sub=PullSub(batch_size=1, timeout=1.0),
        ack_policy=AckPolicy.MANUAL,
        title="agency-events",
        description="Case events of the agency's filter, acknowledged after processing.",
    )
    async def on_event(msg: NatsMessage) -> None:
        tally.last_message = time.monotonic()
        where = f"subject={msg.raw_message.subject}"
        try:
            event, ignored = parse_tolerant(msg.body)
        except (ValidationError, ValueError) as error:      # json.JSONDecodeError is a ValueError
            # Never valid, however often delivered: set it aside (the agency's own dead-letter store) and
            # reject, which terminates it (no redelivery).
            tally.invalid += 1
            out(f"INVALID {where} error={str(error).splitlines()[0]!r}")
            await msg.reject()
            return
        if event.event_id in seen:      # at-least-once: in production, a table beside the effect
            tally.duplicate += 1
            out(f"DUPLICATE {where} event_id={event.event_id}")
            await msg.ack()
            return
        try:
            summary = process(event)
        except Exception as error:
            delivered = msg.raw_message.metadata.num_delivered
            if delivered >= settings.max_deliver:
                tally.dead += 1
                out(f"DEAD {where} event_id={event.event_id} error={error!r}")
                await msg.reject()
            else:
                tally.retry += 1
                out(f"RETRY {where} event_id={event.event_id} error={error!r}")
                await msg.nack(delay=settings.retry_delay * delivered)
            return
        seen.add(event.event_id)
        tally.ok += 1
        note = f" ignored={','.join(ignored)}" if ignored else ""
        out(f"OK {where} event_id={event.event_id} event_type={event.event_type} "
            f"case_version={event.case_version} {summary}{note}")
        await msg.ack()

    return broker, tally


def build_app(settings: Settings | None = None) -> FastStream:
    broker, _ = build_broker(settings or Settings.from_env())
    return FastStream(broker, specification=AsyncAPI(title="agency subscriber (example)", version="1.0.0"))


app = build_app()
"""For ``faststream run examples.agency_faststream:app``."""


async def run_bounded(settings: Settings, *, max_messages: int | None = None, run_for: float | None = None,
                      idle_exit: float | None = None, out: Callable[[str], None] = print) -> Tally:
    """Consume until ``max_messages`` were handled, ``run_for`` seconds passed, or ``idle_exit`` seconds
    passed without a message (whichever comes first)."""
    broker, tally = build_broker(settings, out)
    async with broker:
        await broker.start()
        started = tally.last_message = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            if max_messages is not None and tally.handled >= max_messages:
                break
            if run_for is not None and now - started >= run_for:
                break
            if idle_exit is not None and now - tally.last_message >= idle_exit:
                break
    return tally


def channels(asyncapi: Path = ASYNCAPI) -> list[tuple[str, str]]:
    """(address, description) of every channel in the AsyncAPI document: where to find what to subscribe to."""
    document = json.loads(asyncapi.read_text(encoding="utf-8"))
    return [(channel["address"], channel.get("description", "")) for channel in document["channels"].values()]


def main(argv: list[str] | None = None) -> int:
    defaults = Settings.from_env()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--channels", action="store_true", help="list the published channels (from contracts/asyncapi.json)")
    add("--nats-url", default=defaults.nats_url)
    add("--seed-file", default=defaults.seed_file, help="the agency's nkey seed file")
    add("--creds", default=defaults.creds, help="or a NATS JWT credentials file")
    add("--tls-ca", default=defaults.tls_ca, help="CA of the server's certificate, for TLS")
    add("--js-api-prefix", default=defaults.js_api_prefix, help="JetStream API prefix of the agency's account")
    add("--stream", default=defaults.stream)
    add("--durable", default=defaults.durable)
    add("--filter", dest="filter_subject", default=defaults.filter_subject)
    add("--max-messages", type=int)
    add("--run-for", type=float)
    add("--idle-exit", type=float)
    args = parser.parse_args(argv)
    if args.channels:
        for address, description in channels():
            print(f"{address}\t{description}")
        return 0
    settings = Settings(nats_url=args.nats_url, stream=args.stream, durable=args.durable,
                        filter_subject=args.filter_subject, seed_file=args.seed_file, creds=args.creds,
                        tls_ca=args.tls_ca, js_api_prefix=args.js_api_prefix)
    tally = asyncio.run(run_bounded(settings, max_messages=args.max_messages, run_for=args.run_for,
                                    idle_exit=args.idle_exit, out=lambda line: print(line, flush=True)))
    print(f"done ok={tally.ok} duplicate={tally.duplicate} invalid={tally.invalid} retry={tally.retry} "
          f"dead={tally.dead}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
