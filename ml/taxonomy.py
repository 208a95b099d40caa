"""The label taxonomy: what a column can be labeled, how sensitive that is, how to recognise it.

Built-in labels cover PII, PCI, PHI and credentials. Deployments extend or override them with a
YAML file (``DATAWAVE_CLASSIFIER__TAXONOMY_FILE``): a list of entries with the fields of
``LabelDef``; an entry may carry a ``pattern`` regex, which the pattern detector then uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml


class Sensitivity(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


SENSITIVE = frozenset({Sensitivity.CONFIDENTIAL, Sensitivity.RESTRICTED})


@dataclass(frozen=True)
class LabelDef:
    """One label. ``keywords`` map column-name phrases to how strongly they indicate it."""

    name: str
    sensitivity: Sensitivity
    description: str
    keywords: Mapping[str, float] = field(default_factory=dict)
    pattern: str | None = None  # extra regex for labels added by configuration

    @property
    def category(self) -> str:
        return self.name.split(".", 1)[0]


def _label(name: str, sensitivity: str, description: str, keywords: str) -> LabelDef:
    """``keywords``: phrases with words joined by ``_``, weight 1 unless written ``phrase=0.5``."""
    weights = {}
    for item in keywords.split():
        phrase, _, weight = item.partition("=")
        weights[phrase] = float(weight or 1)
    return LabelDef(name, Sensitivity(sensitivity), description, weights)


BUILTIN: tuple[LabelDef, ...] = (
    _label(
        "PII.PersonName",
        "confidential",
        "full name, first name or surname of a person",
        "first_name last_name full_name surname given_name family_name forename firstname "
        "lastname fullname middle_name holder_name contact_name customer_name recipient_name "
        "requester_name patient_name employee_name vorname nachname prenom card_holder=0.9 "
        "nombre apellido apellidos nombre_completo nome cognome nome_completo sobrenome naam "
        "voornaam achternaam imie nazwisko fornamn efternamn fornavn efternavn etunimi sukunimi "
        "titular intestatario fname=0.9 lname=0.9 namn=0.8 navn=0.8 nimi=0.8 "
        "cardholder=0.9 person=0.7 nom=0.7 holder=0.6 name=0.5",
    ),
    _label(
        "PII.Email",
        "confidential",
        "email address of a person",
        "email e_mail email_address courriel mail_address correo correo_electronico "
        "posta_elettronica emailadres e_post epost sahkoposti adres_email mail=0.7",
    ),
    _label(
        "PII.Phone",
        "confidential",
        "telephone or mobile phone number",
        "phone telephone phone_number telefon telefonnummer msisdn telefono telefone telefoon "
        "numer_telefonu puhelin puhelinnumero movil=0.9 celular=0.9 cellulare=0.9 mobiel=0.9 "
        "komorka=0.9 mobiltelefon=0.9 tlf=0.8 mobile=0.9 mobil tel handy handynummer mobilnummer "
        "rufnummer fax=0.8 cell=0.6 portable=0.6",
    ),
    _label(
        "PII.PostalAddress",
        "confidential",
        "postal address: street, house number, postcode and city where a person lives",
        "address street street_address address_line strasse adresse home_address direccion "
        "anschrift domicilio indirizzo endereco morada adres adress osoite katuosoite ulica "
        "calle=0.9 "
        "rua=0.8 straat=0.8 gata=0.8 codigo_postal=0.7 postnummer=0.7 postcode=0.7 "
        "billing_address delivery_address shipping_address addr=0.8 rue=0.8 postcode=0.7 "
        "postal_code=0.7 zip_code=0.7 plz=0.7 zip=0.6 city=0.5",
    ),
    _label(
        "PII.DateOfBirth",
        "confidential",
        "date of birth or birthday of a person",
        "date_of_birth dob birth_date birthdate birthday geburtsdatum date_naissance "
        "fecha_nacimiento fecha_de_nacimiento data_nascita data_di_nascita geboortedatum "
        "data_nascimento data_de_nascimento data_urodzenia fodelsedatum fodselsdato syntymaaika "
        "nacimiento=0.9 nascita=0.9 geboorte=0.9 urodzenia=0.9 born=0.8 "
        "birth=0.8",
    ),
    _label(
        "PII.NationalId",
        "restricted",
        "national identification number such as a social security number or tax number",
        "ssn social_security social_security_number national_id nino national_insurance insee "
        "nir steuer_id sozialversicherungsnummer national_number dni nie nif codice_fiscale bsn "
        "burgerservicenummer cpf pesel personnummer fodselsnummer henkilotunnus hetu cpr "
        "steuernummer ahv curp rut personal_number tin=0.6 id_number=0.5",
    ),
    _label(
        "PII.Passport",
        "restricted",
        "passport number of a travel document",
        "passport passport_number passport_no reisepass passeport pasaporte passaporto paspoort "
        "passaporte paszport travel_document=0.9",
    ),
    _label(
        "PII.IPAddress",
        "confidential",
        "IP address of a client device",
        "ip ip_address ipv4 ipv6 client_ip remote_addr remote_ip source_ip ip_adres direccion_ip "
        "indirizzo_ip endereco_ip adres_ip host_ip=0.8",
    ),
    _label(
        "PII.Username",
        "confidential",
        "username, login or account handle of a person",
        "username user_name screen_name benutzername usuario nombre_usuario nome_utente utente "
        "gebruikersnaam nazwa_uzytkownika anvandarnamn brukernavn kayttajatunnus apelido=0.8 "
        "login=0.9 nickname=0.9 handle=0.8 "
        "account_name=0.8 pseudo=0.7 author=0.6",
    ),
    _label(
        "PII.FreeText",
        "confidential",
        "free-text notes or messages that mention people, their contact details or addresses",
        "notes=0.8 note=0.8 comment=0.8 remarks=0.8 memo=0.8 bemerkung=0.8 message=0.7 "
        "notas=0.8 nota=0.8 comentario=0.8 commento=0.8 opmerking=0.8 observacoes=0.8 "
        "uwagi=0.8 anteckningar=0.8 kommentar=0.8 huomautus=0.8 mensaje=0.7 messaggio=0.7 "
        "notiz=0.8 notizen=0.8 anmerkung=0.8 anmerkungen=0.8 bemerkungen=0.8 nachricht=0.7 "
        "nachrichten=0.7 commentaire=0.8 remarque=0.8 opmerkingen=0.8 notitie=0.8 notatki=0.8 "
        "body=0.6 feedback=0.6 reason=0.5",
    ),
    _label(
        "PCI.CardNumber",
        "restricted",
        "payment card number (credit or debit card PAN)",
        "card_number credit_card cc_number card_no cardnumber kreditkarte carte_bancaire "
        "card_num ccnum numero_tarjeta numero_carta kaartnummer numero_cartao numer_karty "
        "kortnummer tarjeta=0.9 cartao=0.9 carta_credito creditcard pan=0.9",
    ),
    _label(
        "PCI.CVV",
        "restricted",
        "card verification value or security code printed on a payment card",
        "cvv cvc cvv2 cvc2 security_code card_verification csc=0.9",
    ),
    _label(
        "PCI.BankAccount",
        "restricted",
        "bank account number or IBAN",
        "iban bank_account bban kontonummer bank_account_number cuenta_bancaria conto_corrente "
        "rekeningnummer conta_bancaria numer_konta tilinumero cuenta=0.8 rekening=0.8 konto=0.8 "
        "conta=0.7 account_number=0.8 rib=0.8 bankverbindung=0.9 "
        "acct_no=0.8",
    ),
    _label(
        "PHI.MedicalRecordNumber",
        "restricted",
        "medical record number identifying a patient",
        "mrn medical_record medical_record_number patient_number=0.9 health_record=0.9 "
        "chart_number=0.8 patient_id=0.6",
    ),
    _label(
        "PHI.Diagnosis",
        "restricted",
        "medical diagnosis or ICD-10 diagnosis code",
        "diagnosis icd10 icd icd_10 icd_code diagnosis_code diagnose diagnostico diagnosi "
        "rozpoznanie dx=0.8 condition=0.6",
    ),
    _label(
        "Credentials.PasswordHash",
        "restricted",
        "password or password hash",
        "password password_hash passwd pwd pass_hash hashed_password passwort mot_de_passe pw_hash "
        "contrasena wachtwoord senha haslo losenord passord salasana kennwort",
    ),
    _label(
        "Credentials.Secret",
        "restricted",
        "API key, access token, session token or other secret credential",
        "api_key apikey secret access_token secret_key session_token auth_token private_key "
        "client_secret refresh_token token=0.9",
    ),
)


def load_taxonomy(path: Path | None = None) -> tuple[LabelDef, ...]:
    """The built-in labels, extended (or overridden by name) from a YAML file."""
    labels = {label.name: label for label in BUILTIN}
    if path is not None:
        entries: list[dict[str, Any]] = yaml.safe_load(path.read_text()) or []
        for entry in entries:
            label = LabelDef(
                name=entry["name"],
                sensitivity=Sensitivity(entry["sensitivity"]),
                description=entry["description"],
                keywords=entry.get("keywords", {}),
                pattern=entry.get("pattern"),
            )
            labels[label.name] = label
    return tuple(labels.values())
