// Waivers are nodes named by URN (urn:dw:waiver:<id>, core/urns.py), which node(id:) and the
// waiver mutations take: those written before, with their UUID `id` only, get theirs (a UUID
// needs no percent-encoding; another id, never written by DataWave, is left for an operator).
MATCH (w:Waiver) WHERE w.urn IS NULL AND w.id =~ '[A-Za-z0-9._~-]+'
SET w.urn = 'urn:dw:waiver:' + w.id;
CREATE CONSTRAINT waiver_urn IF NOT EXISTS FOR (n:Waiver) REQUIRE n.urn IS UNIQUE;
