-- Half-open probes of a destination's circuit breaker (issue 13; src/delivery/breaker.ts): after a
-- cool-down, up to HALF_OPEN_PROBES probes go out one after the other, and only when every one
-- of them fails does the breaker open again (for the next, doubled cool-down). This counts the
-- probes that failed since the cool-down ended; a success (closing the breaker) and a new
-- opening reset it to 0.
ALTER TABLE streaming_destinations ADD COLUMN breaker_probe_failures INTEGER NOT NULL DEFAULT 0;
