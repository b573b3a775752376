"""Unit tests: pure, in-process, no servers; marked ``unit`` by the root conftest.

Fixtures needed only by unit tests belong here.
"""
