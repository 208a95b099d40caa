"""Compliance frameworks as data: controls that cite their article or requirement.

Each control is implemented by rules (governance/templates.py says which template serves which
control by default); a control passes when none of its rules has an open finding, and is not
covered (neither passes nor fails) while no rule in force implements it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.urns import control_urn, framework_urn


@dataclass(frozen=True)
class Control:
    framework: str
    id: str
    title: str
    citation: str

    @property
    def urn(self) -> str:
        return control_urn(self.framework, self.id)


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    controls: tuple[Control, ...]

    @property
    def urn(self) -> str:
        return framework_urn(self.id)


def _framework(id: str, name: str, *controls: tuple[str, str, str]) -> Framework:
    return Framework(id, name, tuple(Control(id, *c) for c in controls))


GDPR = _framework(
    "gdpr",
    "GDPR",
    ("art-5-1-e", "Personal data has a retention period (storage limitation)", "Art. 5(1)(e)"),
    ("art-30", "Personal data has an owner accountable for its processing", "Art. 30"),
    ("art-32", "Special-category and personal data are masked or encrypted", "Art. 32"),
    ("art-44", "Personal data does not flow outside the allowed regions", "Art. 44"),
)
PCI_DSS = _framework(
    "pci-dss-4",
    "PCI DSS 4.0",
    ("3.3.1", "Card verification codes are not stored after authorisation", "Req. 3.3.1"),
    ("3.5.1", "Primary account numbers are unreadable to roles without need", "Req. 3.5.1"),
)
HIPAA = _framework(
    "hipaa",
    "HIPAA Security Rule",
    ("164-312-a-2-iv", "PHI is encrypted or masked at rest", "45 CFR 164.312(a)(2)(iv)"),
    ("164-312-b", "Access to PHI is recorded and examinable", "45 CFR 164.312(b)"),
)
CCPA = _framework(
    "ccpa",
    "CCPA",
    ("1798-100", "Personal information collected is known and owned", "Cal. Civ. Code 1798.100"),
    ("1798-150", "Personal information is protected by reasonable security", "1798.150"),
)
FRAMEWORKS: dict[str, Framework] = {f.id: f for f in (GDPR, PCI_DSS, HIPAA, CCPA)}
CONTROLS: dict[str, Control] = {c.urn: c for f in FRAMEWORKS.values() for c in f.controls}
