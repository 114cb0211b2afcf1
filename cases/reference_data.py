"""Reference data: the 43 territorial police forces of England and Wales, and common drugs.

Loaded by migration cases/0002 and again by `seed_demo` (idempotent), so a database that was
emptied (as browser tests do between tests) gets it back.
"""

from __future__ import annotations

FORCES = [
    ("Avon and Somerset Constabulary", "ASC"),
    ("Bedfordshire Police", "BDP"),
    ("Cambridgeshire Constabulary", "CAM"),
    ("Cheshire Constabulary", "CHE"),
    ("City of London Police", "COL"),
    ("Cleveland Police", "CLV"),
    ("Cumbria Constabulary", "CUM"),
    ("Derbyshire Constabulary", "DER"),
    ("Devon and Cornwall Police", "DCP"),
    ("Dorset Police", "DOR"),
    ("Durham Constabulary", "DUR"),
    ("Dyfed-Powys Police", "DPP"),
    ("Essex Police", "ESX"),
    ("Gloucestershire Constabulary", "GLO"),
    ("Greater Manchester Police", "GMP"),
    ("Gwent Police", "GWP"),
    ("Hampshire and Isle of Wight Constabulary", "HIW"),
    ("Hertfordshire Constabulary", "HER"),
    ("Humberside Police", "HUM"),
    ("Kent Police", "KNT"),
    ("Lancashire Constabulary", "LAN"),
    ("Leicestershire Police", "LEI"),
    ("Lincolnshire Police", "LIN"),
    ("Merseyside Police", "MER"),
    ("Metropolitan Police Service", "MPS"),
    ("Norfolk Constabulary", "NFK"),
    ("North Wales Police", "NWP"),
    ("North Yorkshire Police", "NYP"),
    ("Northamptonshire Police", "NTH"),
    ("Northumbria Police", "NBR"),
    ("Nottinghamshire Police", "NOT"),
    ("South Wales Police", "SWP"),
    ("South Yorkshire Police", "SYP"),
    ("Staffordshire Police", "STF"),
    ("Suffolk Constabulary", "SUF"),
    ("Surrey Police", "SUR"),
    ("Sussex Police", "SXP"),
    ("Thames Valley Police", "TVP"),
    ("Warwickshire Police", "WAR"),
    ("West Mercia Police", "WMC"),
    ("West Midlands Police", "WMP"),
    ("West Yorkshire Police", "WYP"),
    ("Wiltshire Police", "WIL"),
]

# (name, code, class under the Misuse of Drugs Act 1971, unit)
DRUGS = [
    ("Cannabis (herbal)", "cannabis", "B", "g"),
    ("Cannabis resin", "cannabis-resin", "B", "g"),
    ("Synthetic cannabinoids (spice)", "synthetic-cannabinoids", "B", "g"),
    ("Amphetamine", "amphetamine", "B", "g"),
    ("Ketamine", "ketamine", "B", "g"),
    ("GHB / GBL", "ghb", "B", "ml"),
    ("Cocaine", "cocaine", "A", "g"),
    ("Crack cocaine", "crack-cocaine", "A", "g"),
    ("MDMA (ecstasy) powder or crystal", "mdma", "A", "g"),
    ("Ecstasy tablets", "ecstasy-tablets", "A", "tablets"),
    ("Heroin", "heroin", "A", "g"),
    ("LSD", "lsd", "A", "tablets"),
    ("Psilocybin (magic) mushrooms", "psilocybin", "A", "g"),
    ("Methamphetamine", "methamphetamine", "A", "g"),
    ("Benzodiazepines (illicit)", "benzodiazepines", "C", "tablets"),
    ("Anabolic steroids", "anabolic-steroids", "C", "tablets"),
    ("Nitrous oxide", "nitrous-oxide", "C", "g"),
]


def load_reference_data(Force, Drug) -> None:  # noqa: N803 (model classes)
    """Create or update every force and drug by its code."""
    for name, code in FORCES:
        Force.objects.update_or_create(code=code, defaults={"name": name})
    for name, code, drug_class, unit in DRUGS:
        Drug.objects.update_or_create(
            code=code, defaults={"name": name, "drug_class": drug_class, "unit": unit}
        )
