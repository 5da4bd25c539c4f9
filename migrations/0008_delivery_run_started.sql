-- When the delivery's current run began (its creation, or its last redelivery). A delivery that
-- waits behind an open circuit breaker is given up once its retry window, measured from here,
-- has passed, just as one whose attempts ran out. NULL: the run began at created_at.
ALTER TABLE deliveries ADD COLUMN run_started_at TEXT;
