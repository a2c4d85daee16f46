"""Start-up: the composition of settings, database, policy, the Slack app, its workers and the servers.

``runtime`` (settings → database → policy), ``workers`` (relay, payouts, ticker), ``slack`` (Bolt and its listeners),
``http`` (gunicorn and uvicorn), ``socket_mode``, and ``main`` (``refundbot serve``), inner first.
"""
