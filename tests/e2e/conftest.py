"""End-to-end tests: the whole system through its services; marked ``e2e`` by the root conftest.

Fixtures needed only by end-to-end tests belong here.
"""
