"""UK mobile numbers, postcodes, email addresses and police national identifiers: accepted in
the forms officers type them (spaces, lower case, +44), stored in one normal form, shown in
the usual one. Plain functions, no database: forms, the API, the service and the data
migration all use these.

- Mobile: 07700 900123, +44 7700 900123, 0044 (0)7700-900123 -> stored +447700900123, shown
  07700 900123. A UK mobile only: reminders go by text message.
- Postcode: sw1a1aa, SW1A  1AA -> SW1A 1AA (the outward code, one space, the inward code).
- Email: Name@Example.COM -> Name@example.com (the part after @ is not case-sensitive; the
  part before it may be, so it is kept as typed).
- PNC ID: 19/123456a, 2019/0123456A -> 2019/0123456A (four-digit year, seven-digit serial,
  check letter). The year of a two-digit one is this century's unless that is in the future.
"""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

PHONE_MESSAGE = "Enter a UK mobile number, like 07700 900123 or +44 7700 900123"
POSTCODE_MESSAGE = "Enter a real UK postcode, like SW1A 1AA"
EMAIL_MESSAGE = "Enter an email address in the correct format, like name@example.com"
PNC_ID_MESSAGE = (
    "Enter the police national identifier as year/number and check letter, like 2019/0123456A"
)

_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_MOBILE = re.compile(r"07\d{9}")
# The outward code (area and district: no area starts with Q, V or X, nor has I, J or Z
# second) and the inward code (sector and unit, never C, I, K, M, O or V); GIR 0AA is
# Girobank's.
_POSTCODE = re.compile(r"([A-PR-UWYZ][A-HK-Y]?[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})|(GIR)(0AA)")
_PNC_ID = re.compile(r"(\d{2}|\d{4})/(\d{1,7})([A-Z])")


def normalise_phone(value: str) -> str:
    """A UK mobile number as stored (+447700900123), or ValidationError; blank stays blank."""
    digits = _PHONE_SEPARATORS.sub("", value)
    if not digits:
        return ""
    for prefix in ("+44", "0044"):
        if digits.startswith(prefix):
            digits = "0" + digits.removeprefix(prefix).removeprefix("0")
            break
    if not _MOBILE.fullmatch(digits):
        raise ValidationError(PHONE_MESSAGE, code="invalid_phone")
    return "+44" + digits[1:]


def display_phone(stored: str) -> str:
    """A stored number as people write it (07700 900123); anything else as it is."""
    if re.fullmatch(r"\+447\d{9}", stored):
        national = "0" + stored[3:]
        return f"{national[:5]} {national[5:]}"
    return stored


def normalise_postcode(value: str) -> str:
    """A UK postcode as stored (SW1A 1AA), or ValidationError; blank stays blank."""
    compact = re.sub(r"\s", "", value).upper()
    if not compact:
        return ""
    match = _POSTCODE.fullmatch(compact)
    if match is None:
        raise ValidationError(POSTCODE_MESSAGE, code="invalid_postcode")
    outward, inward = (part for part in match.groups() if part)
    return f"{outward} {inward}"


def normalise_email(value: str) -> str:
    """An email address as stored (the domain in lower case), or ValidationError."""
    value = value.strip()
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError as error:
        raise ValidationError(EMAIL_MESSAGE, code="invalid_email") from error
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_pnc_id(value: str, *, today: date | None = None) -> str:
    """A PNC ID as stored (2019/0123456A), or ValidationError; blank stays blank."""
    compact = re.sub(r"\s", "", value).upper()
    if not compact:
        return ""
    match = _PNC_ID.fullmatch(compact)
    if match is None:
        raise ValidationError(PNC_ID_MESSAGE, code="invalid_pnc_id")
    year, serial, letter = match.groups()
    if len(year) == 2:
        this_year = (today or date.today()).year
        century = this_year // 100 * 100
        year = str(
            century + int(year) if century + int(year) <= this_year else century - 100 + int(year)
        )
    return f"{year}/{int(serial):07d}{letter}"


def pnc_id_for_search(value: str) -> str:
    """The PNC ID to look for: its stored form when it is well formed, else as typed (upper
    case), so a search never fails on the format alone."""
    try:
        return normalise_pnc_id(value)
    except ValidationError:
        return re.sub(r"\s", "", value).upper()


NORMALISERS = {
    "phone": normalise_phone,
    "postcode": normalise_postcode,
    "email": normalise_email,
    "pnc_id": normalise_pnc_id,
}


def normalised(fields: dict[str, str]) -> dict[str, str]:
    """`fields` with each of the details above in its stored form; ValidationError on the
    first that is not well formed, naming its field."""
    result = dict(fields)
    for name, normalise in NORMALISERS.items():
        if result.get(name):
            try:
                result[name] = normalise(result[name])
            except ValidationError as error:
                raise ValidationError({name: error.messages}) from error
    return result
