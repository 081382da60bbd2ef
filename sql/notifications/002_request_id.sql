-- The id of the request whose change queued the notification (its
-- X-Request-ID, passed on by the sender's outbox): the mailer logs the
-- sending under it and passes it on to the users pool.
ALTER TABLE notifications ADD COLUMN request_id text;
