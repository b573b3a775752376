"""Who may use the bus, and how: NATS accounts, identities and permissions generated from one agency registry.

The design (``docs/nats-security.md``; researched in ``tech-notes-nats-auth.md``):

* one account ``APP`` owns JetStream (the streams ``CASES`` and ``DEADLETTERS``); every identity is an nkey
  user with an allow-list of exactly what it does (:mod:`services.bus.plan`), ``admin`` and ``api`` in ``APP``;
* the relay in an account ``RELAY`` that publishes the facts into ``APP`` through a service import, and one
  account per read model and per agency, which reaches only its own pre-created, filtered durable consumer in
  ``APP`` through service imports; none has JetStream of its own, and nothing else of ``APP`` is visible to it;
* an ``admin`` identity creates the streams and durables (:mod:`services.bus.provision`); no running
  service holds it;
* ``prosperity nats-config`` (:mod:`services.bus.generate`) writes the nats-server configuration (one node,
  or each node of a cluster) and one nkey seed file per identity; ``prosperity up`` and the tests run
  nats-server from exactly that configuration (:mod:`services.bus.local`).
"""
