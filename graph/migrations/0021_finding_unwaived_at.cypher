// A finding that a waiver's revocation or expiry opened again before 0021 has no note of when
// (`unwaivedAt`): escalation counted its age from its first sighting and escalated a critical
// one at once. Those still open and not escalated get the end of the last approved waiver of
// theirs that ended (revoked: when; expired: its end, the earliest moment the evaluation that
// expired it can have run). Idempotent: a finding that has the note keeps it.
MATCH (w:Waiver)-[:WAIVES]->(f:Finding {status: 'open'})
WHERE f.unwaivedAt IS NULL AND f.escalatedAt IS NULL AND w.approvedAt IS NOT NULL
  AND w.status IN ['revoked', 'expired']
WITH f, max(coalesce(w.closedAt, w.expiresAt)) AS ended
SET f.unwaivedAt = ended;
