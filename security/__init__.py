"""Who is calling and what they may do: JWT auth, RBAC, audit trail, masking, rate limits."""
