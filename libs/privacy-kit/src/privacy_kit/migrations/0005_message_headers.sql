-- Extra mail headers of a message, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).
ALTER TABLE message_outbox ADD COLUMN IF NOT EXISTS headers jsonb NOT NULL DEFAULT '{}'::jsonb;
