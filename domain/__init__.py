"""prosperity's domain: the case of a child whose services are integrated, under Iceland's Act 86/2021
(farsæld) and Norway's barnekoordinator right, plus the coordinator directory.

Pure Python: no module here performs I/O. Adapters in ``services/`` persist and publish what happens here.
"""
