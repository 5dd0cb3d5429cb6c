"""From records to answers: the tidy table, leaderboards, ranks, statistics, effects, the gate,
published tables."""
