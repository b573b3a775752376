"""Notifications: the outbox of notices (domain.md §4) and upcoming deadline warnings (§3), as a read model.

Delivery (SMTP, signed webhooks), the recipient directory and the deadline scheduler are in
``services.notifier``; this package only decides *what* must be said, to whom, in which words.
"""

from projections.notifications.projection import NotificationsProjection, Parties
from projections.notifications.templates import LANGUAGES, MANDATORY_KINDS, Rendered, language_for, render

__all__ = ["LANGUAGES", "MANDATORY_KINDS", "NotificationsProjection", "Parties", "Rendered", "language_for",
           "render"]
