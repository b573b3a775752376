"""An external agency consuming prosperity's published case events with plain nats-py.

What it shows (the guide is ``docs/subscribing.md``):

* **connecting as the agency**: with the nkey seed prosperity handed over (``--seed-file``; or a JWT
  ``--creds`` file), into the agency's own NATS account, which reaches prosperity's JetStream only under the
  API prefix ``prosperity.API`` (``--js-api-prefix``);
* **binding to the durable pull consumer prosperity created** for the agency (``--durable agency-<id>``):
  its filter is the agency registry's, for example every ``complaint_lodged`` fact of Reykjavík,
  ``cases.v1.is.reykjavik.complaint_lodged``; the agency can neither widen it nor create another consumer.
  JetStream keeps the consumer's position on the server, so a restarted agency resumes where it left off;
* **validation** of every payload against the published JSON Schema files (``contracts/schemas``, one
  ``<event_type>.v1.json`` per event type), chosen by the payload's ``event_type``;
* **acknowledgement after processing**: ack once the event is processed; nak (redelivery later) when
  processing failed; term (no redelivery) for a payload that can never succeed, after setting it aside in a
  dead-letter file;
* **de-duplication** by ``event_id``: delivery is at least once, so the same fact can arrive twice.

It needs only ``nats-py`` (with ``nkeys``, for the seed) and ``jsonschema``, not prosperity's code. Run it
(``--help`` lists every option; each also reads an ``AGENCY_*`` environment variable)::

    python examples/agency_nats_py.py --nats-url nats://127.0.0.1:4223 --seed-file agency-gev-capital.nk \\
        --durable agency-gev-capital --schema-dir contracts/schemas --seen-file gev.seen

It prints one line per message: ``OK``, ``DUPLICATE``, ``INVALID``, ``SKIPPED``, ``RETRY`` or ``DEAD``, then
the stream sequence, the subject and the details. ``--max-messages``, ``--run-for`` and ``--idle-exit`` bound
a run (tests and cron jobs); without them it runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import nats
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

# ---- the filter -------------------------------------------------------------------------------------------
# Subjects are ``cases.v1.<jurisdiction>.<municipality>.<event_type>``. An agency writes its filter as a
# literal; ``*`` matches one token and ``>`` the rest:
#
#   cases.v1.is.reykjavik.complaint_lodged    complaints lodged about Reykjavík's cases (the default here)
#   cases.v1.is.reykjavik.>                   everything about Reykjavík's cases
#   cases.v1.*.*.complaint_lodged             complaints lodged everywhere
#   cases.v1.no.>                             everything under the Norwegian law
#
# Inside prosperity the same strings come from ``contracts.subjects``:
# ``subject_for("complaint_lodged", "IS", "muni:reykjavik")``, ``municipality_filter("IS", "muni:reykjavik")``,
# ``event_type_filter("complaint_lodged")``, ``jurisdiction_filter("NO")`` (the tests check they agree).
DEFAULT_FILTER = "cases.v1.is.reykjavik.complaint_lodged"
STREAM = "CASES"
JS_API_PREFIX = "prosperity.API"
"""Where an agency's account reaches prosperity's JetStream (``services.bus.plan.AGENCY_JS_API_PREFIX``)."""
_NOT_TOKEN_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def case_filter(jurisdiction: str = "*", municipality_ref: str = "*", event_type: str = ">") -> str:
    """A filter from its parts: ``case_filter("IS", "muni:reykjavik", "complaint_lodged")``.

    The municipality token is the ``muni:`` reference without its prefix, with every character other than
    ``A-Z a-z 0-9 _ -`` replaced by ``_`` (``muni:oslo.bydel-1`` → ``oslo_bydel-1``)."""
    municipality = municipality_ref if municipality_ref == "*" else _NOT_TOKEN_SAFE.sub(
        "_", municipality_ref.removeprefix("muni:"))
    return f"cases.v1.{jurisdiction.lower()}.{municipality}.{event_type}"


# ---- the schemas ------------------------------------------------------------------------------------------
def relax(schema: Any) -> Any:
    """The schema without ``additionalProperties: false``: within v1, fields are only ever *added*, so a
    reader that ignores fields it does not know keeps working when a newer payload carries one."""
    if isinstance(schema, dict):
        return {key: relax(value) for key, value in schema.items()
                if not (key == "additionalProperties" and value is False)}
    if isinstance(schema, list):
        return [relax(item) for item in schema]
    return schema


class Schemas:
    """The published JSON Schemas of one directory, by ``event_type``; each compiled on first use."""

    def __init__(self, directory: Path, *, strict: bool = False) -> None:
        self.strict = strict
        self.files = {path.name.removesuffix(".v1.json"): path for path in sorted(directory.glob("*.v1.json"))}
        if not self.files:
            raise SystemExit(f"no <event_type>.v1.json schema files in {directory}")
        self._validators: dict[str, Any] = {}

    def __contains__(self, event_type: str) -> bool:
        return event_type in self.files

    def validator(self, event_type: str) -> Any:
        if event_type not in self._validators:
            schema = json.loads(self.files[event_type].read_text(encoding="utf-8"))
            if not self.strict:
                schema = relax(schema)
            validator_class = jsonschema.validators.validator_for(schema)   # Draft 2020-12, from "$schema"
            validator_class.check_schema(schema)
            self._validators[event_type] = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
        return self._validators[event_type]

    def errors(self, payload: dict[str, Any]) -> list[str]:
        """Why the payload is not a valid v1 event (empty: it is). KeyError for an event type without a file."""
        return [f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
                for error in sorted(self.validator(payload["event_type"]).iter_errors(payload),
                                    key=lambda e: list(map(str, e.absolute_path)))]


# ---- the agency's own processing --------------------------------------------------------------------------
class SeenEvents:
    """The ``event_id`` of every processed event. A file here; in production a table written in the same
    transaction as the event's effect, so that "processed" and "recorded as processed" cannot diverge."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.ids: set[str] = set()
        if path is not None and path.exists():
            self.ids = set(path.read_text(encoding="utf-8").split())

    def __contains__(self, event_id: str) -> bool:
        return event_id in self.ids

    def add(self, event_id: str) -> None:
        self.ids.add(event_id)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as file:
                file.write(event_id + "\n")


def process(event: dict[str, Any]) -> None:
    """Replace with the agency's work (open a complaint record, update a register, ...). Raising makes the
    message come back later (nak); after ``--max-deliver`` deliveries it is dead-lettered."""


# ---- the consumer -----------------------------------------------------------------------------------------
@dataclass
class Options:
    nats_url: str
    stream: str
    durable: str
    filter_subject: str | None
    """What the agency expects its durable's filter to be; the run is refused when it is not."""
    schema_dir: Path
    strict: bool = False
    seed_file: str | None = None
    creds: str | None = None
    tls_ca: str | None = None
    js_api_prefix: str = JS_API_PREFIX
    seen_file: Path | None = None
    dead_letter_file: Path | None = None
    max_messages: int | None = None
    run_for: float | None = None
    idle_exit: float | None = None
    batch: int = 20
    fetch_timeout: float = 1.0
    retry_delay: float = 5.0


@dataclass
class Tally:
    ok: int = 0
    duplicate: int = 0
    invalid: int = 0
    skipped: int = 0
    retry: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.ok + self.duplicate + self.invalid + self.skipped + self.retry + self.dead


class Agency:
    def __init__(self, options: Options, out: Callable[[str], None] = print) -> None:
        self.options, self.out = options, out
        self.schemas = Schemas(options.schema_dir, strict=options.strict)
        self.seen = SeenEvents(options.seen_file)
        self.tally = Tally()
        self.max_deliver = 5
        """Deliveries before a failing message is dead-lettered: the durable's own ``max_deliver``."""

    def connect_options(self) -> dict[str, Any]:
        """The agency's identity: an nkey seed (what prosperity hands over), or a JWT credentials file."""
        options = self.options
        connect: dict[str, Any] = {"name": f"agency-{options.durable}", "max_reconnect_attempts": -1,
                                   "error_cb": self._on_error}
        if options.seed_file:
            connect["nkeys_seed"] = options.seed_file
        elif options.creds:
            connect["user_credentials"] = options.creds
        if options.tls_ca:
            connect["tls"] = ssl.create_default_context(cafile=options.tls_ca)
        return connect

    async def _on_error(self, error: Exception) -> None:
        # A refused permission reaches nats-py only here; the request itself then just times out.
        print(f"nats: {error}", file=sys.stderr, flush=True)

    async def run(self, stop: asyncio.Event) -> Tally:
        options = self.options
        nc = await self._connect(stop)
        if nc is None:  # stopped (SIGINT, SIGTERM) before the server answered
            return self.tally
        try:
            js = nc.jetstream(prefix=options.js_api_prefix) if options.js_api_prefix else nc.jetstream()
            await self._check_consumer(js)
            # Bind to the durable prosperity created: no lookup of the stream, no creation of anything.
            sub = await js.pull_subscribe_bind(options.durable, options.stream)
            await self._consume(sub, stop)
        finally:
            await nc.close()
        return self.tally

    async def _connect(self, stop: asyncio.Event) -> Any:
        """Connect, retrying while the server is away (nats-py retries forever here), until ``stop`` is set."""
        connecting = asyncio.ensure_future(nats.connect(self.options.nats_url, **self.connect_options()))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if connecting.done():
            return connecting.result()
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await connecting
        return None

    async def _check_consumer(self, js: Any) -> None:
        """The durable must exist (prosperity creates it), and carry the filter the agency expects."""
        try:
            info = await js.consumer_info(self.options.stream, self.options.durable)
        except TimeoutError:  # nats-py's TimeoutError is the builtin's subclass; a refusal only reaches error_cb
            raise SystemExit(f"no answer about durable {self.options.durable!r}: these credentials may not use it "
                             "(see the permissions violation above), or the server is unreachable") from None
        except NotFoundError:
            raise SystemExit(f"no consumer {self.options.durable!r} in {self.options.stream}: ask prosperity's "
                             "operators to add the agency to the registry") from None
        filters = list(info.config.filter_subjects or ([info.config.filter_subject] if info.config.filter_subject
                                                         else []))
        expected = self.options.filter_subject
        if expected is not None and filters != [expected]:
            raise SystemExit(f"durable {self.options.durable!r} has filter {filters}, not {expected!r}: the filter is "
                             "set in prosperity's agency registry; ask for the change (or drop --filter)")
        self.max_deliver = info.config.max_deliver if info.config.max_deliver and info.config.max_deliver > 0 else 5
        print(f"bound to {self.options.durable} (filter {', '.join(filters)}; max_deliver {self.max_deliver})",
              file=sys.stderr, flush=True)

    async def _consume(self, sub: Any, stop: asyncio.Event) -> None:
        options = self.options
        started = last_message = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if options.run_for is not None and now - started >= options.run_for:
                break
            if options.idle_exit is not None and now - last_message >= options.idle_exit:
                break
            wanted = options.batch
            if options.max_messages is not None:
                wanted = min(wanted, options.max_messages - self.tally.handled)
                if wanted <= 0:
                    break
            timeout = options.fetch_timeout
            if options.run_for is not None:
                timeout = max(0.2, min(timeout, options.run_for - (now - started)))
            try:
                messages = await sub.fetch(wanted, timeout=timeout)
            except TimeoutError:                # nothing new: fetch raises (nats.py#709) instead of returning [],
                continue                        # sometimes nats.errors.TimeoutError, sometimes asyncio's own
            for message in messages:
                await self.handle(message)
                last_message = time.monotonic()

    async def handle(self, msg: Msg) -> None:
        meta = msg.metadata
        where = f"seq={meta.sequence.stream} subject={msg.subject}"
        try:
            payload = json.loads(msg.data)
        except ValueError as error:            # not JSON (json.JSONDecodeError, UnicodeDecodeError)
            payload, errors = None, [f"not JSON: {error}"]
        else:
            if isinstance(payload, dict) and isinstance(payload.get("event_type"), str):
                event_type = payload["event_type"]
                if event_type not in self.schemas:
                    # A new event type (v1 may add types) that these schema files do not know. Ack and fetch
                    # the new schemas; it stays in the stream, so a new durable can replay it later.
                    self.tally.skipped += 1
                    self.out(f"SKIPPED {where} event_type={event_type} reason=no-schema")
                    await msg.ack_sync()
                    return
                errors = self.schemas.errors(payload)
            else:
                errors = ["<root>: not a JSON object with a string event_type"]
        if errors or not isinstance(payload, dict):
            # It will never become valid: a nak would only bring it back, again and again. Set it aside
            # (dead-letter) and terminate it: JetStream does not redeliver a term'ed message.
            self.tally.invalid += 1
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            self.out(f"INVALID {where} error={errors[0]!r}{more}")
            self.dead_letter(msg, "; ".join(errors))
            await msg.term()
            return
        event_id = payload["event_id"]
        if event_id in self.seen:              # delivered again (redelivery, or republished): already done
            self.tally.duplicate += 1
            self.out(f"DUPLICATE {where} event_id={event_id}")
            await msg.ack_sync()
            return
        try:
            process(payload)
        except Exception as error:             # could succeed later (a database down): nak, bounded
            if meta.num_delivered >= self.max_deliver:
                self.tally.dead += 1
                self.out(f"DEAD {where} event_id={event_id} deliveries={meta.num_delivered} error={error!r}")
                self.dead_letter(msg, repr(error))
                await msg.term()
            else:
                self.tally.retry += 1
                self.out(f"RETRY {where} event_id={event_id} deliveries={meta.num_delivered} error={error!r}")
                await msg.nak(delay=self.options.retry_delay * meta.num_delivered)
            return
        self.seen.add(event_id)
        self.tally.ok += 1
        self.out(f"OK {where} event_id={event_id} event_type={payload['event_type']} "
                 f"case_version={payload['case_version']} msg_id={(msg.headers or {}).get('Nats-Msg-Id', '')}")
        # Ack only after processing; ack_sync waits for the server, so an exit right after cannot lose it.
        await msg.ack_sync()

    def dead_letter(self, msg: Msg, reason: str) -> None:
        """Keep what could not be processed, with why, for a person to look at. The agency's own file or
        table: agencies cannot publish into prosperity's stream (its ``deadletter.>`` is for its services)."""
        if self.options.dead_letter_file is None:
            return
        record = {"subject": msg.subject, "stream_seq": msg.metadata.sequence.stream, "reason": reason,
                  "headers": msg.headers or {}, "payload": msg.data.decode("utf-8", errors="replace")}
        with self.options.dead_letter_file.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")


# ---- command line -----------------------------------------------------------------------------------------
def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"AGENCY_{name}", default)


def _optional(kind: Callable[[str], Any], value: str | None) -> Any:
    return None if value in (None, "") else kind(value)


def parse_args(argv: list[str] | None = None) -> Options:
    default_schemas = Path(__file__).resolve().parents[1] / "contracts" / "schemas"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--nats-url", default=_env("NATS_URL", "nats://127.0.0.1:4222"), help="env AGENCY_NATS_URL")
    add("--seed-file", default=_env("SEED_FILE"), help="the agency's nkey seed file (env AGENCY_SEED_FILE)")
    add("--creds", default=_env("CREDS"), help="or a NATS JWT credentials file (env AGENCY_CREDS)")
    add("--tls-ca", default=_env("TLS_CA"), help="CA of the server's certificate, for TLS (env AGENCY_TLS_CA)")
    add("--js-api-prefix", default=_env("JS_API_PREFIX", JS_API_PREFIX),
        help=f"JetStream API prefix of the agency's account (default {JS_API_PREFIX}; '' for none)")
    add("--stream", default=_env("STREAM", STREAM), help="env AGENCY_STREAM (default CASES)")
    add("--durable", default=_env("DURABLE"), required=_env("DURABLE") is None,
        help="the durable consumer prosperity created for the agency, agency-<id> (env AGENCY_DURABLE)")
    add("--filter", dest="filter_subject", default=_env("FILTER"),
        help="refuse to run unless the durable's filter is exactly this (env AGENCY_FILTER)")
    add("--schema-dir", type=Path, default=_env("SCHEMA_DIR", str(default_schemas)),
        help="directory of <event_type>.v1.json files (env AGENCY_SCHEMA_DIR)")
    add("--strict", action="store_true", default=_env("STRICT", "") == "1",
        help="reject fields the schema files do not know (default: ignore them; env AGENCY_STRICT=1)")
    add("--seen-file", type=Path, default=_optional(Path, _env("SEEN_FILE")),
        help="processed event ids, for de-duplication across restarts (env AGENCY_SEEN_FILE)")
    add("--dead-letter-file", type=Path, default=_optional(Path, _env("DEAD_LETTER_FILE")),
        help="JSON lines of the messages set aside (env AGENCY_DEAD_LETTER_FILE)")
    add("--max-messages", type=int, default=_optional(int, _env("MAX_MESSAGES")), help="stop after N messages")
    add("--run-for", type=float, default=_optional(float, _env("RUN_FOR")), help="stop after N seconds")
    add("--idle-exit", type=float, default=_optional(float, _env("IDLE_EXIT")),
        help="stop after N seconds without a message")
    args = parser.parse_args(argv)
    return Options(nats_url=args.nats_url, stream=args.stream, durable=args.durable,
                   filter_subject=args.filter_subject, schema_dir=Path(args.schema_dir), strict=args.strict,
                   seed_file=args.seed_file, creds=args.creds, tls_ca=args.tls_ca, js_api_prefix=args.js_api_prefix,
                   seen_file=args.seen_file, dead_letter_file=args.dead_letter_file,
                   max_messages=args.max_messages, run_for=args.run_for, idle_exit=args.idle_exit)


async def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):   # not on Windows
            loop.add_signal_handler(signum, stop.set)
    agency = Agency(options, out=lambda line: print(line, flush=True))
    tally = await agency.run(stop)
    print(f"done ok={tally.ok} duplicate={tally.duplicate} invalid={tally.invalid} skipped={tally.skipped} "
          f"retry={tally.retry} dead={tally.dead}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
