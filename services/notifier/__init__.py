"""Delivery of the notifications read model's outbox: channels (SMTP, signed webhooks), the recipient
directory, the delivery worker and the deadline scheduler. See ``docs/notifications.md``."""

from services.notifier.channels import Channel, DeliveryError, Message, SmtpChannel, WebhookChannel, sign, verify
from services.notifier.directory import Directory, MappingDirectory, PostgresDirectory, Recipient
from services.notifier.scheduler import DeadlineScheduler
from services.notifier.worker import DeliveryWorker, RunReport, WorkerSettings

__all__ = ["Channel", "DeadlineScheduler", "DeliveryError", "DeliveryWorker", "Directory", "MappingDirectory",
           "Message", "PostgresDirectory", "Recipient", "RunReport", "SmtpChannel", "WebhookChannel",
           "WorkerSettings", "sign", "verify"]
