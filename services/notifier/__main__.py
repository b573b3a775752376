"""``python -m services.notifier``: see ``services.notifier.run``."""

from services.notifier.run import main

main()
