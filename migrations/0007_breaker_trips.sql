-- Circuit breaker: how many times in a row the breaker opened (its first opening, then each
-- failed half-open probe). The cool-down doubles with trips, not with every failed attempt, so
-- attempts that were already in flight when the breaker opened do not lengthen it.
ALTER TABLE streaming_destinations ADD COLUMN breaker_trips INTEGER NOT NULL DEFAULT 0;
