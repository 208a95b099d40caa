"""Governance: policies as code (Rego on OPA), rule templates, approval, compliance evaluation."""
