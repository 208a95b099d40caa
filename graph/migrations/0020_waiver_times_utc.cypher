// Waivers saved again through neomodel before 0020 (an approval) kept their times in the zone
// named UTC, which Cypher writes as text `...Z[UTC]`: a `waivers` page whose cursor fell on one
// was refused as crafted. The same instants, with the UTC offset every other time has.
MATCH (w:Waiver)
WHERE any(t IN [w.requestedAt, w.expiresAt, w.approvedAt] WHERE t.timezone = 'UTC')
SET w.requestedAt = datetime({epochSeconds: w.requestedAt.epochSeconds,
                              nanosecond: w.requestedAt.nanosecond}),
    w.expiresAt = datetime({epochSeconds: w.expiresAt.epochSeconds,
                            nanosecond: w.expiresAt.nanosecond}),
    w.approvedAt = CASE WHEN w.approvedAt IS NOT NULL
                        THEN datetime({epochSeconds: w.approvedAt.epochSeconds,
                                       nanosecond: w.approvedAt.nanosecond}) END;
