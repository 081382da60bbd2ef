-- The id of the request that made the payment (POST /payments): the
-- processor logs under it and its events carry it on, so the charge, the
-- booking's confirmation and the e-mail share one id with the request.
ALTER TABLE payments ADD COLUMN request_id text;
