-- What a delivery is about (the record its inbox items link to), for the NotificationDelivered
-- its success publishes. Deliveries queued before this carry their event's own id instead.
ALTER TABLE webhook_deliveries ADD COLUMN about_id uuid;
UPDATE webhook_deliveries SET about_id = event_id;
ALTER TABLE webhook_deliveries ALTER COLUMN about_id SET NOT NULL;
