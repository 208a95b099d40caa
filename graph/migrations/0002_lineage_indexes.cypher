// A view's rescan replaces the FEEDS edges its job produced: find them by `via` without a scan.
CREATE INDEX feeds_via IF NOT EXISTS FOR ()-[r:FEEDS]-() ON (r.via);
