-- Timers on the city's working days (kit/workdays.py): the date by which the receiving office
-- answers, fixed when the referral is made, and the follow-up of a completion without outcome.
-- Each is raised once (overdue_at, follow_up_at).
ALTER TABLE referrals
    ADD COLUMN answer_due_at    timestamptz,
    ADD COLUMN overdue_at       timestamptz,
    ADD COLUMN follow_up_due_at timestamptz,
    ADD COLUMN follow_up_at     timestamptz;
CREATE INDEX referrals_unanswered ON referrals (answer_due_at)
    WHERE status = 'requested' AND overdue_at IS NULL;
CREATE INDEX referrals_no_outcome ON referrals (follow_up_due_at)
    WHERE status = 'completed' AND outcome IS NULL AND follow_up_at IS NULL;
