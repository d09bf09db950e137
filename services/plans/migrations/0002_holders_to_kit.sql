-- The holders view is the kit's now (kit/migrations/0008_holders_view.sql, applied before this):
-- what plans kept carries over, so a deployed city loses no holder.
INSERT INTO holders_view (subject_id, municipality, office)
SELECT subject_id, municipality, office FROM case_holders_view ON CONFLICT DO NOTHING;
DROP TABLE case_holders_view;
