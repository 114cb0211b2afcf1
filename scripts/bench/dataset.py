"""The shape of the benchmark's national dataset: forces, schemes, providers, names, and the
set-based SQL that builds one row plan per case and selects every table's rows from it.

build.py runs it (and describes the result); the numbers here are the proportions issue 11
asks for, checked by tests/test_benchmark.py.
"""

from __future__ import annotations

from typing import Any

from cases.reference_data import FORCES

SPAN_DAYS = 2374  # six and a half years of cases
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (the documented demo credential, README)

# --- Forces, policies, providers, programmes, users ---------------------------------------

FORCE_SHARES = {"TVP": 0.20, "WMP": 0.20, "DUR": 0.10}
OTHER_FORCE_WEIGHT = {"MPS": 3.0, "GMP": 2.0, "WYP": 2.0}

WELSH = {"DPP", "GWP", "NWP", "SWP"}
NORTHERN = {"CLV", "CUM", "GMP", "HUM", "LAN", "MER", "NBR", "NYP", "SYP", "WYP", "CHE"}
EASTERN = {"BDP", "CAM", "ESX", "HER", "NFK", "SUF", "LIN", "NTH", "LEI", "NOT", "DER"}

BIG_PROVIDER = "Pathways Drug Education"
# (name, contact email, username of one member of staff)
PROVIDERS = [
    (BIG_PROVIDER, "referrals@pathways.example.org", "provider"),
    ("Northern Recovery Partnership", "checkpoint@northern-recovery.example.org", "nrp.staff"),
    ("Midlands Drug Education Service", "divert@mdes.example.org", "mdes.staff"),
    ("Southern Drug Education Trust", "referrals@sdet.example.org", "sdet.staff"),
    ("Eastern Counties Recovery", "referrals@ecr.example.org", "ecr.staff"),
    ("Addysg Cyffuriau Cymru", "cyfeirio@acc.example.org", "acc.staff"),
    ("North West Substance Education", "referrals@nwse.example.org", "nwse.staff"),
]

# (provider, programme, kind, sessions required); who takes which share of a force's
# referrals, in tenths, is in programme_shares().
PROGRAMMES = [
    (BIG_PROVIDER, "Drug awareness group session", "education", 1),
    (BIG_PROVIDER, "Drug awareness online course", "education", 1),
    ("Northern Recovery Partnership", "Assessment and treatment sessions", "treatment", 4),
    ("Northern Recovery Partnership", "Checkpoint four-month contract", "treatment", 4),
    ("Midlands Drug Education Service", "DIVERT drug education course", "education", 1),
    ("Southern Drug Education Trust", "Drug education course", "education", 1),
    ("Eastern Counties Recovery", "Drug education course", "education", 1),
    ("Addysg Cyffuriau Cymru", "Cwrs addysg cyffuriau", "education", 1),
    ("North West Substance Education", "Drug education course", "education", 1),
]


def programme_shares(code: str) -> dict[tuple[str, str], int]:
    """Which programmes take a force's referrals, in tenths (they add up to 10)."""
    if code == "TVP":
        return {
            (BIG_PROVIDER, "Drug awareness group session"): 5,
            (BIG_PROVIDER, "Drug awareness online course"): 4,
            ("Northern Recovery Partnership", "Assessment and treatment sessions"): 1,
        }
    if code == "WMP":
        return {
            (BIG_PROVIDER, "Drug awareness online course"): 6,
            ("Midlands Drug Education Service", "DIVERT drug education course"): 4,
        }
    if code == "DUR":
        return {
            ("Northern Recovery Partnership", "Checkpoint four-month contract"): 8,
            ("Northern Recovery Partnership", "Assessment and treatment sessions"): 2,
        }
    if code in WELSH:
        regional = ("Addysg Cyffuriau Cymru", "Cwrs addysg cyffuriau")
    elif code in NORTHERN:
        regional = ("North West Substance Education", "Drug education course")
    elif code in EASTERN:
        regional = ("Eastern Counties Recovery", "Drug education course")
    else:
        regional = ("Southern Drug Education Trust", "Drug education course")
    return {(BIG_PROVIDER, "Drug awareness online course"): 8, regional: 2}


CLASS_B = {"cannabis": "28", "cannabis-resin": "10", "ketamine": "1", "amphetamine": "2"}
CLASS_A = {"cocaine": "1", "mdma": "1", "ecstasy-tablets": "4"}
CLASS_C = {"benzodiazepines": "10"}


def policy_for(code: str, name: str, k: int) -> dict[str, Any]:
    """Version 1 of a force's scheme: the three demo schemes, and variations for the rest.

    Every policy allows at least one unexcused absence: the sweep's plan (BENCH_SLOTS_SQL)
    gives healthy referrals one absence.
    """
    base: dict[str, Any] = {
        "scheme_name": f"{name} drug diversion",
        "disposal": ("deferred_prosecution", "community_resolution", "conditional_caution")[k % 3],
        "intervention": "A drug education course.",
        "drug_classes": (["A", "B"], ["B"], ["B", "C"])[k % 3],
        "thresholds": ({**CLASS_A, **CLASS_B}, CLASS_B, {**CLASS_B, **CLASS_C})[k % 3],
        "max_offence_age_days": (None, 90, 180)[k % 3],
        "requires_admission": k % 2 == 0,
        "requires_residence_in_area": k % 4 == 0,
        "excluded": ["violence_at_arrest", "outstanding_warrant"][: 1 + k % 2],
        "lookback_days": (730, 1095, 365)[k % 3],
        "max_previous_diversions": k % 3,
        "completion_days": (84, 120, 90)[k % 3],
        "deadlines_from": ("referral", "offence")[k % 2],
        "max_unexcused_absences": 1 + k % 2,
        "late_counts_as_attended": k % 4 != 0,
        "retention_days": 7 * 365 if k % 7 == 0 else 6 * 365,
    }
    demo = {
        "TVP": {
            "scheme_name": "Drug Diversion Scheme",
            "disposal": "community_resolution",
            "drug_classes": ["A", "B"],
            "thresholds": {**CLASS_A, **CLASS_B},
            "max_offence_age_days": None,
            "requires_admission": False,
            "lookback_days": 3 * 365,
            "max_previous_diversions": 0,
            "completion_days": 84,
            "deadlines_from": "referral",
            "max_unexcused_absences": 1,
            "late_counts_as_attended": True,
            "retention_days": 6 * 365,
        },
        "DUR": {
            "scheme_name": "Checkpoint",
            "disposal": "deferred_prosecution",
            "drug_classes": ["A", "B"],
            "thresholds": {**CLASS_A, **CLASS_B},
            "max_offence_age_days": 90,
            "requires_admission": True,
            "requires_residence_in_area": True,
            "max_previous_diversions": 0,
            "completion_days": 120,
            "deadlines_from": "referral",
            "max_unexcused_absences": 1,
            "late_counts_as_attended": True,
        },
        "WMP": {
            "scheme_name": "DIVERT",
            "disposal": "community_resolution",
            "drug_classes": ["B"],
            "thresholds": CLASS_B,
            "max_offence_age_days": None,
            "max_previous_diversions": 2,
            "completion_days": 84,
            "deadlines_from": "offence",
            "max_unexcused_absences": 1,
            "late_counts_as_attended": False,
        },
    }
    return {**base, **demo.get(code, {})}


# (username, first name, last name, role, force code, provider, is_staff and is_superuser)
DEMO_USERS = [
    ("officer", "Olivia", "Bennett", "custody_officer", "TVP", None, False),
    ("supervisor", "Marcus", "Reid", "supervisor", "TVP", None, False),
    ("provider", "Priya", "Nair", "provider_staff", None, BIG_PROVIDER, False),
    ("analyst", "Tom", "Hargreaves", "analyst", "TVP", None, False),
    ("admin", "Ada", "Lloyd", "administrator", None, None, True),
    ("durham.officer", "Gethin", "Morgan", "custody_officer", "DUR", None, False),
    ("westmidlands.officer", "Grace", "Adebayo", "custody_officer", "WMP", None, False),
]
OFFICER_OF = {"TVP": "officer", "DUR": "durham.officer", "WMP": "westmidlands.officer"}
SUPERVISOR_OF = {"TVP": "supervisor"}


def users() -> list[tuple[str, str, str, str, str | None, str | None, bool]]:
    """The demo users, an officer and a supervisor in every force, staff at every provider."""
    rows = list(DEMO_USERS)
    for _name, code in FORCES:
        if code not in OFFICER_OF:
            rows.append((f"{code.lower()}.officer", "Alex", code, "custody_officer", code, None, 0))
        if code not in SUPERVISOR_OF:
            rows.append((f"{code.lower()}.supervisor", "Sam", code, "supervisor", code, None, 0))
    for provider, _email, username in PROVIDERS:
        if username != "provider":
            rows.append((username, "Jo", "Staff", "provider_staff", None, provider, False))
    return [(u, f, last, r, c, p, bool(s)) for u, f, last, r, c, p, s in rows]


def officer_username(code: str) -> str:
    return OFFICER_OF.get(code, f"{code.lower()}.officer")


def supervisor_username(code: str) -> str:
    return SUPERVISOR_OF.get(code, f"{code.lower()}.supervisor")


def force_shares() -> dict[str, float]:
    """Each force's share of the cases, adding up to 1."""
    others = {code: OTHER_FORCE_WEIGHT.get(code, 1.0) for _n, code in FORCES}
    for code in FORCE_SHARES:
        others.pop(code)
    rest = 1 - sum(FORCE_SHARES.values())
    total = sum(others.values())
    return {code: FORCE_SHARES.get(code, rest * others.get(code, 0) / total) for _n, code in FORCES}


# --- Names --------------------------------------------------------------------------------

GIVEN_NAMES = [
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Muhammad", "Thomas",
    "Oscar", "William", "James", "Leo", "Alfie", "Henry", "Joshua", "Freddie", "Archie",
    "Ethan", "Isaac", "Alexander", "Joseph", "Edward", "Samuel", "Max", "Daniel", "Arthur",
    "Lucas", "Mohammed", "Logan", "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia",
    "Grace", "Mia", "Poppy", "Ella", "Lily", "Evie", "Isabella", "Sophie", "Ivy", "Freya",
    "Harper", "Willow", "Charlotte", "Jessica", "Siân", "Zoë", "Aoife", "Dylan", "Rhys",
    "Owain", "Gethin", "Ffion", "Chloé", "José", "Łukasz", "Kwame", "Priya", "Amira",
    "Tomasz", "Nia", "Callum", "Connor", "Kyle", "Liam", "Jordan", "Ryan", "Luke", "Jamie",
    "Ben", "Adam", "Nathan", "Lewis", "Kieran", "Declan", "Mary-Jane", "Jean-Luc",
]  # fmt: skip

# Common family names, most common first (picked with a skew towards the top).
FAMILY_NAMES = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
    "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt",
    "Hussain", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight",
    "Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon",
    "Harvey", "O'Brien", "O'Connor", "Nowak", "Kowalski", "Müller", "Lloyd-Jones",
    "Smith-Jones", "MacDonald", "McDonald", "Nguyen", "Okafor", "Adeyemi", "Mensah", "Ahmed",
    "Rahman", "Chowdhury", "Kaur", "Gill", "ap Rhys", "Ní Bhriain",
]  # fmt: skip

# Less common names: every prefix with every suffix (900 names).
NAME_PREFIXES = [
    "Ash", "Black", "Brad", "Brook", "Cole", "Dun", "Fair", "Grant", "Ham", "Hart", "Hol",
    "Kings", "Lang", "Mar", "Nor", "Oak", "Pen", "Rad", "Rox", "Sher", "Stan", "Thorn", "Wal",
    "West", "Whit", "Win", "Wood", "Ald", "Bur", "Carl",
]  # fmt: skip
NAME_SUFFIXES = [
    "ford", "ley", "ton", "worth", "wood", "field", "by", "ham", "well", "dale", "more",
    "ridge", "stone", "brook", "bury", "combe", "hurst", "land", "mere", "shaw", "thwaite",
    "wick", "cliffe", "den", "gate", "hill", "low", "marsh", "sted", "ing",
]  # fmt: skip

ETHNICITIES = ["white_british"] * 14 + [
    "white_other", "asian_pakistani", "asian_indian", "black_african", "black_caribbean",
    "mixed_white_black_caribbean", "other_any", "not_stated",
]  # fmt: skip

# --- The plan: one row per case, then the rows of every table are selected from it --------

BREACH_KINDS = (
    "first_none", "first_dna", "first_late", "first_after", "completion", "absences",
)  # fmt: skip
OPEN_KINDS = ("young_new", "young", "mid", "forgiven", *BREACH_KINDS)
CLOSED_REFERRAL_KINDS = ("completed", "withdrawn", "declined", "prosecuted", "nfa")

DRAWS_SQL = """
CREATE TEMP TABLE bench_draw AS
SELECT i,
       width_bucket(random(), %(bounds)s::float8[]) AS k,
       random() AS r_class, random() AS r_ref, random() AS r_breach, random() AS r_kind,
       random() AS r_days, random() AS r_age, random() AS r_prog, random() AS r_cross,
       random() AS r_person, random() AS r_drug
FROM generate_series(1, %(n)s) AS i
"""

# The class of each case, the referral status, and for open referrals the sweep's "kind".
PLAN_SQL = """
CREATE TEMP TABLE bench_plan AS
WITH a AS (
    SELECT d.*, f.force_id, f.code, f.policy_id, f.officer_id, f.supervisor_id,
           f.max_unexcused, f.late_counts, f.disposal,
           f.programmes[1 + floor(d.r_prog * 10)::int] AS programme_id,
           CASE WHEN d.r_class < 0.50 THEN 'referred'
                WHEN d.r_class < 0.78 THEN 'ineligible'
                WHEN d.r_class < 0.96 THEN 'declined_offer'
                WHEN d.r_class < 0.98 THEN 'logged'
                WHEN d.r_class < 0.99 THEN 'eligible'
                ELSE 'offered' END AS cls
    FROM bench_draw d JOIN bench_force f ON f.k = d.k
),
b AS (
    SELECT a.*,
           CASE WHEN cls <> 'referred' THEN NULL
                WHEN r_ref < 0.02 THEN 'new'
                WHEN r_ref < 0.09 THEN 'accepted'
                WHEN r_ref < 0.28 THEN 'in_progress'
                WHEN r_ref < 0.30 THEN 'flagged'
                WHEN r_ref < 0.90 THEN 'completed'
                WHEN r_ref < 0.95 THEN 'withdrawn'
                WHEN r_ref < 0.985 THEN 'declined'
                WHEN r_ref < 0.995 THEN 'prosecuted'
                ELSE 'nfa' END AS plan_status,
           (%(breach_kinds)s::text[])[1 + floor(r_kind * 6)::int] AS breach_kind
    FROM a
),
c AS (
    SELECT b.*,
           CASE WHEN plan_status IS NULL THEN NULL
                WHEN plan_status NOT IN ('new', 'accepted', 'in_progress') THEN plan_status
                WHEN r_breach < %(share)s AND plan_status = 'new' THEN 'first_none'
                -- Arriving late is a breach only where lateness does not count as attending.
                WHEN r_breach < %(share)s AND breach_kind = 'first_late' AND late_counts
                    THEN 'first_dna'
                WHEN r_breach < %(share)s THEN breach_kind
                WHEN plan_status = 'new' THEN 'young_new'
                WHEN plan_status = 'accepted' OR r_kind < 0.15 THEN 'young'
                WHEN r_kind < 0.20 THEN 'forgiven'
                ELSE 'mid' END AS kind
    FROM b
),
d AS (
    SELECT c.*,
           CASE WHEN kind IS NULL OR kind = ANY(%(closed_kinds)s) THEN NULL
                ELSE date_trunc('day', %(now)s::timestamptz) + interval '1 day'
                     - interval '1 second' + make_interval(days => CASE
                         WHEN kind IN ('young', 'young_new') THEN 1 + floor(r_days * 10)::int
                         WHEN kind = 'mid' THEN -1 - floor(r_days * 60)::int
                         WHEN kind = 'forgiven' THEN -40 - floor(r_days * 20)::int
                         WHEN kind LIKE 'first%%' THEN -2 - floor(r_days * 28)::int
                         WHEN kind = 'completion' THEN -60 - floor(r_days * 60)::int
                         WHEN kind = 'absences' THEN -20 - floor(r_days * 30)::int
                         ELSE -5 - floor(r_days * 60)::int  -- flagged
                     END) END AS open_first_due
    FROM c
),
e AS (
    SELECT d.*,
           CASE WHEN cls IN ('logged', 'eligible', 'offered')
                    THEN %(now)s::timestamptz - r_age * interval '3 days'
                WHEN cls IN ('ineligible', 'declined_offer')
                    THEN %(now)s::timestamptz - interval '1 day'
                         - r_age * make_interval(days => %(span)s - 1)
                WHEN open_first_due IS NULL
                    THEN %(now)s::timestamptz - interval '120 days'
                         - r_age * make_interval(days => %(span)s - 120)
                ELSE open_first_due - interval '16 days' END AS created_at
    FROM d
)
SELECT e.*,
       CASE WHEN cls = 'referred' THEN created_at + interval '2 days' END AS referred_at,
       CASE WHEN cls = 'referred'
            THEN coalesce(open_first_due, created_at + interval '16 days') END AS first_due,
       CASE WHEN cls <> 'referred' THEN NULL
            WHEN kind = 'completion'
                THEN date_trunc('day', %(now)s::timestamptz) - interval '1 second'
                     - make_interval(days => floor(r_days * 30)::int)
            WHEN kind = 'flagged' THEN open_first_due + interval '70 days'
            WHEN open_first_due IS NOT NULL
                THEN date_trunc('day', %(now)s::timestamptz) + interval '1 day'
                     - interval '1 second' + make_interval(days => 11 + floor(r_days * 70)::int)
            ELSE created_at + interval '86 days' END AS completion_due,
       CASE WHEN r_cross < 0.08 THEN 1 + floor(r_cross / 0.08 * 43)::int ELSE k END AS person_force
FROM e
"""

# People: 1 to 4 cases each (about 1.29), enough of them to cover n cases exactly.
PEOPLE_SIZES_SQL = """
CREATE TEMP TABLE bench_people AS
WITH sized AS (
    SELECT p, CASE WHEN r < 0.80 THEN 1 WHEN r < 0.93 THEN 2 WHEN r < 0.98 THEN 3 ELSE 4 END
               AS size
    FROM (SELECT p, random() AS r FROM generate_series(1, ceil(%(n)s / 1.2)::int + 10) p) s
),
placed AS (SELECT p, size, sum(size) OVER (ORDER BY p) - size AS start FROM sized)
SELECT p, start, least(size, %(n)s - start) AS size FROM placed WHERE start < %(n)s
"""

# Final ids: cases in the order they were logged, referrals likewise; each case's person is
# the group of consecutive cases (sorted by the person's force, then at random) it falls in.
CASES_SQL = """
CREATE TEMP TABLE bench_case AS
WITH ordered AS (
    SELECT p.*,
           %(case_base)s + row_number() OVER (ORDER BY created_at, i) AS cid,
           row_number() OVER (ORDER BY person_force, r_person, i) AS pos
    FROM bench_plan p
),
slots AS (
    SELECT p, start + g AS pos FROM bench_people, generate_series(1, size) AS g
)
SELECT o.*, %(person_base)s + s.p AS pid,
       CASE WHEN cls = 'referred'
            THEN %(referral_base)s + count(*) FILTER (WHERE cls = 'referred')
                                     OVER (ORDER BY cid) END AS rid,
       o.code || '-' || lpad(cid::text, greatest(6, length(cid::text)), '0') AS reference,
       CASE cls WHEN 'logged' THEN 'logged' WHEN 'eligible' THEN 'eligible'
                WHEN 'offered' THEN 'offered'
                WHEN 'referred' THEN CASE kind
                    WHEN 'flagged' THEN 'awaiting_supervisor'
                    WHEN 'young_new' THEN 'referred' WHEN 'first_none' THEN 'referred'
                    ELSE CASE WHEN plan_status = 'accepted' THEN 'referred'
                              WHEN plan_status = 'in_progress' THEN 'in_programme'
                              ELSE 'closed' END END
                ELSE 'closed' END AS status,
       CASE WHEN cls IN ('ineligible', 'declined_offer') THEN 'standard_process'
            WHEN kind = 'completed' THEN 'diverted'
            WHEN kind IN ('withdrawn', 'declined') THEN 'standard_process'
            WHEN kind = 'prosecuted' THEN 'prosecution'
            WHEN kind = 'nfa' THEN 'no_further_action'
            ELSE '' END AS outcome,
       CASE WHEN cls = 'ineligible' THEN created_at + interval '1 hour'
            WHEN cls = 'declined_offer' THEN created_at + interval '1 day'
            WHEN kind = 'completed' THEN created_at + interval '42 days'
            WHEN kind = 'withdrawn' THEN created_at + interval '32 days'
            WHEN kind = 'declined' THEN created_at + interval '5 days'
            WHEN kind IN ('prosecuted', 'nfa') THEN created_at + interval '21 days'
       END AS closed_at
FROM ordered o JOIN slots s ON s.pos = o.pos
"""

# The appointments each kind of referral gets: day offset from the first-appointment
# deadline's day (10:00 that day), status, attendance outcome (recorded only once the
# appointment has started), whether 1 in 5 are corrections of an earlier "did not attend",
# and the smallest absence limit the slot applies to. From scripts/bench_sweep.py, with the
# closed referrals' appointments added.
SLOTS_SQL = """
CREATE TEMP TABLE bench_slots (kind, slot, day, status, outcome, correctable, min_limit) AS
VALUES
    ('young', 1, 0, 'booked', 'attended', false, 0),
    ('young', 2, 14, 'booked', 'attended', false, 0),
    ('young', 3, 28, 'booked', 'attended', false, 0),
    ('mid', 1, -3, 'booked', 'attended', true, 0),
    ('mid', 2, 4, 'booked', 'excused', false, 0),
    ('mid', 3, 6, 'cancelled', 'did_not_attend', false, 0),
    ('mid', 4, 8, 'booked', 'did_not_attend', false, 0),
    ('forgiven', 1, -2, 'booked', 'attended', false, 0),
    ('forgiven', 2, 5, 'booked', 'did_not_attend', false, 0),
    ('forgiven', 3, 10, 'booked', 'did_not_attend', false, 0),
    ('first_dna', 1, -2, 'booked', 'did_not_attend', false, 0),
    ('first_late', 1, -2, 'booked', 'late', false, 0),
    ('first_after', 1, 1, 'booked', 'attended', false, 0),
    ('completion', 1, -1, 'booked', 'attended', true, 0),
    ('completion', 2, 7, 'booked', 'attended', false, 0),
    ('absences', 1, -1, 'booked', 'attended', true, 0),
    ('absences', 2, 3, 'booked', 'did_not_attend', false, 0),
    ('absences', 3, 6, 'booked', 'did_not_attend', false, 0),
    ('absences', 4, 9, 'booked', 'did_not_attend', false, 2),
    ('flagged', 1, -2, 'booked', 'did_not_attend', false, 0),
    ('completed', 1, -2, 'booked', 'attended', true, 0),
    ('completed', 2, 10, 'booked', 'attended', false, 0),
    ('completed', 3, 20, 'booked', 'attended', false, 0),
    ('withdrawn', 1, -2, 'booked', 'did_not_attend', false, 0),
    ('prosecuted', 1, -2, 'booked', 'did_not_attend', false, 0),
    ('nfa', 1, -2, 'booked', 'did_not_attend', false, 0)
"""

# (label, table it fills or None, SQL); run in order with the same parameters.
STEPS: list[tuple[str, str | None, str]] = [
    (
        "people",
        "cases_person",
        """
        INSERT INTO cases_person (
            id, given_name, family_name, date_of_birth, pnc_id, email, phone,
            contact_preference, address, postcode, preferred_language, access_needs,
            interpreter_language, ethnicity, sex, anonymised_at, created_by_id, created_at,
            updated_at)
        SELECT pid, given, family, dob,
               CASE WHEN r1 < 0.65 THEN (2000 + mod(pid, 25))::text || '/'
                    || lpad(pid::text, greatest(7, length(pid::text)), '0')
                    || chr(65 + mod(pid, 26)::int) ELSE '' END,
               CASE WHEN r2 < 0.5 THEN 'person' || pid || '@example.org' ELSE '' END,
               CASE WHEN r2 > 0.2 THEN '07700 ' || lpad(mod(pid, 1000000)::text, 6, '0')
                    ELSE '' END,
               CASE WHEN r2 < 0.5 THEN 'email' ELSE 'sms' END,
               mod(pid, 200) || ' High Street', 'AB1 ' || mod(pid, 10) || 'CD',
               CASE WHEN r1 > 0.95 THEN 'cy' ELSE 'en' END, '', '',
               (%(ethnicities)s::text[])[1 + floor(r3 * cardinality(%(ethnicities)s::text[]))::int],
               CASE WHEN r3 < 0.8 THEN 'male' WHEN r3 < 0.97 THEN 'female'
                    ELSE 'not_stated' END,
               NULL, officer_id, first_at, first_at
        FROM (
            SELECT c.pid, min(c.created_at) AS first_at,
                   (array_agg(c.officer_id ORDER BY c.created_at))[1] AS officer_id,
                   random() AS r1, random() AS r2, random() AS r3,
                   (%(given)s::text[])[1 + floor(cardinality(%(given)s::text[])
                                                 * power(random(), 1.5))::int] AS given,
                   CASE WHEN random() < 0.3
                        THEN (%(family)s::text[])[1 + floor(cardinality(%(family)s::text[])
                                                            * power(random(), 1.5))::int]
                        ELSE (%(prefixes)s::text[])[1 + floor(random() * 30)::int]
                             || (%(suffixes)s::text[])[1 + floor(random() * 30)::int] END
                       AS family,
                   (min(c.created_at) - make_interval(
                        days => 18 * 365 + 30 + floor(power(random(), 2) * 37 * 365)::int))::date
                       AS dob
            FROM bench_case c GROUP BY c.pid
        ) p
        """,
    ),
    (
        "cases",
        "cases_case",
        """
        INSERT INTO cases_case (
            id, reference, force_id, person_id, custody_record_number, crime_reference,
            offence_date, offence_type, setting, admitted_offence, resides_in_force_area,
            previous_drug_conviction_or_caution, circumstances, status, outcome,
            home_office_outcome, created_by_id, created_at, updated_at, closed_at)
        SELECT cid, reference, force_id, pid, code || '/CR/' || cid,
               CASE WHEN mod(cid, 3) = 0 THEN code || '/CRN/' || cid ELSE '' END,
               (created_at - make_interval(hours => floor(r_days * 48)::int))::date,
               CASE WHEN cls = 'ineligible' AND r_kind < 0.3 THEN 'possession_with_intent'
                    ELSE 'simple_possession' END,
               'none', cls <> 'ineligible' OR r_kind > 0.5, true,
               cls = 'ineligible' AND r_kind >= 0.3 AND r_kind < 0.6, '{}', status, outcome,
               CASE WHEN kind = 'completed' THEN CASE disposal
                    WHEN 'deferred_prosecution' THEN 22 WHEN 'community_resolution' THEN 8
                    ELSE 3 END END,
               officer_id, created_at, coalesce(closed_at, created_at), closed_at
        FROM bench_case
        """,
    ),
    (
        "drugs found",
        "cases_casedrug",
        """
        INSERT INTO cases_casedrug (case_id, drug_id, quantity)
        SELECT c.cid, d.id, round((0.5 + r_drug * 5)::numeric, 3)
        FROM bench_case c
        JOIN cases_drug d ON d.code = CASE WHEN r_drug < 0.65 THEN 'cannabis'
                                           WHEN r_drug < 0.75 THEN 'cannabis-resin'
                                           WHEN r_drug < 0.95 THEN 'cocaine'
                                           ELSE 'ketamine' END
        """,
    ),
    (
        "eligibility decisions",
        "cases_eligibilitydecision",
        """
        INSERT INTO cases_eligibilitydecision (
            case_id, policy_id, eligible, inputs, reasons, history, decided_by_id, decided_at,
            overridden_by_id, override_reason, overridden_at)
        SELECT c.cid, c.policy_id, c.cls <> 'ineligible',
               jsonb_build_object('date_of_birth', p.date_of_birth,
                                  'offence_date', c.created_at::date,
                                  'checked_on', c.created_at::date,
                                  'offence_type', 'simple_possession', 'setting', 'none'),
               '[]'::jsonb, '[]'::jsonb, c.officer_id, c.created_at + interval '20 minutes',
               NULL, '', NULL
        FROM bench_case c JOIN cases_person p ON p.id = c.pid
        WHERE c.cls <> 'logged'
        """,
    ),
    (
        "offers",
        "cases_offer",
        """
        INSERT INTO cases_offer (
            case_id, offered_at, offered_by_id, response, consent_given, responded_at, notes)
        SELECT cid, created_at + interval '1 hour', officer_id,
               CASE cls WHEN 'offered' THEN 'pending' WHEN 'declined_offer' THEN 'declined'
                        ELSE 'accepted' END,
               cls = 'referred',
               CASE WHEN cls <> 'offered' THEN created_at + interval '1 hour' END,
               CASE WHEN cls = 'declined_offer' THEN 'Wants to go to court' ELSE '' END
        FROM bench_case WHERE cls IN ('offered', 'declined_offer', 'referred')
        """,
    ),
    (
        "case history",
        "cases_casestatuschange",
        """
        INSERT INTO cases_casestatuschange (
            case_id, from_status, to_status, reason, changed_by_id, changed_at)
        SELECT cid,
               CASE status WHEN 'logged' THEN '' WHEN 'eligible' THEN 'logged'
                           WHEN 'offered' THEN 'eligible' WHEN 'referred' THEN 'accepted'
                           WHEN 'in_programme' THEN 'referred'
                           WHEN 'awaiting_supervisor' THEN 'in_programme'
                           ELSE CASE cls WHEN 'ineligible' THEN 'ineligible'
                                         WHEN 'declined_offer' THEN 'offered'
                                         ELSE 'in_programme' END END,
               status, CASE WHEN status = 'closed' THEN 'Closed' ELSE '' END,
               CASE WHEN status = 'awaiting_supervisor' THEN NULL ELSE officer_id END,
               coalesce(closed_at, created_at)
        FROM bench_case
        """,
    ),
    (
        "referrals",
        "programmes_referral",
        """
        INSERT INTO programmes_referral (
            id, reference, case_id, programme_id, policy_id, status, first_appointment_due,
            completion_due, extensions, referred_by_id, referred_at, decline_reason,
            completed_on, updated_at, provider_id, ended_at, end_reason)
        SELECT rid, 'R-' || lpad(rid::text, greatest(6, length(rid::text)), '0'), cid,
               programme_id, policy_id,
               CASE WHEN kind IN ('prosecuted', 'nfa') THEN 'withdrawn'
                    ELSE plan_status END,
               first_due, completion_due, CASE WHEN kind = 'forgiven' THEN 1 ELSE 0 END,
               officer_id, referred_at,
               CASE WHEN kind = 'declined' THEN 'No capacity in the area' ELSE '' END,
               CASE WHEN kind = 'completed' THEN closed_at::date END,
               coalesce(closed_at, referred_at),
               -- The database's trigger sets it, but triggers are off while loading.
               (SELECT g.provider_id FROM programmes_programme g WHERE g.id = programme_id),
               CASE WHEN kind IN ('prosecuted', 'nfa')
                         OR plan_status IN ('declined', 'completed', 'withdrawn')
                    THEN coalesce(closed_at, referred_at) END,
               CASE WHEN kind IN ('prosecuted', 'nfa') THEN 'the person leaves the scheme'
                    ELSE '' END
        FROM bench_case WHERE cls = 'referred'
        """,
    ),
    (
        "referral history",
        "programmes_referralstatuschange",
        """
        INSERT INTO programmes_referralstatuschange (
            referral_id, from_status, to_status, reason, changed_by_id, changed_at)
        SELECT rid, CASE WHEN plan_status = 'new' THEN '' ELSE 'new' END,
               CASE WHEN kind IN ('prosecuted', 'nfa') THEN 'withdrawn' ELSE plan_status END,
               '', CASE WHEN kind = 'flagged' THEN NULL ELSE officer_id END,
               coalesce(closed_at, referred_at)
        FROM bench_case WHERE cls = 'referred'
        """,
    ),
    (
        "escalations",
        "programmes_escalation",
        """
        INSERT INTO programmes_escalation (
            referral_id, rule, facts, flagged_at, decision, rationale, new_deadline,
            new_programme_id, decided_by_id, decided_at, force_id)
        SELECT rid, 'first_appointment_missed',
               jsonb_build_object('rules_fired', jsonb_build_array('first_appointment_missed'),
                                  'referral_status', 'in_progress',
                                  'first_appointment_due', first_due,
                                  'completion_due', completion_due),
               first_due + interval '1 day', '', '', NULL::timestamptz, NULL::bigint,
               NULL::bigint, NULL::timestamptz, force_id
        FROM bench_case WHERE kind = 'flagged'
        UNION ALL
        SELECT rid, 'too_many_absences',
               jsonb_build_object('rules_fired', jsonb_build_array('too_many_absences'),
                                  'referral_status', 'in_progress'),
               first_due + interval '15 days', 'extend', 'Absences explained; deadline extended',
               completion_due, NULL, supervisor_id, first_due + interval '20 days', force_id
        FROM bench_case WHERE kind = 'forgiven'
        UNION ALL
        SELECT rid, 'first_appointment_missed',
               jsonb_build_object('rules_fired', jsonb_build_array('first_appointment_missed'),
                                  'referral_status', 'accepted'),
               first_due + interval '1 day',
               CASE WHEN kind = 'prosecuted' THEN 'prosecute' ELSE 'no_further_action' END,
               'Did not engage with the programme', NULL, NULL, supervisor_id, closed_at,
               force_id
        FROM bench_case WHERE kind IN ('prosecuted', 'nfa')
        """,
    ),
    (
        "appointments",
        "programmes_appointment",
        """
        CREATE TEMP TABLE bench_appointment AS
        SELECT %(appointment_base)s + row_number() OVER (ORDER BY c.rid, s.slot) AS id,
               c.rid, c.officer_id, s.slot, s.status, s.outcome,
               date_trunc('day', c.first_due) + interval '10 hours'
                   + make_interval(days => s.day) AS starts_at,
               s.correctable AND mod(c.rid, 5) = 0 AS corrected,
               c.programme_id
        FROM bench_case c
        JOIN bench_slots s ON s.kind = c.kind AND c.max_unexcused >= s.min_limit;

        INSERT INTO programmes_appointment (
            id, referral_id, group_session_id, starts_at, kind, mode, location, status,
            booked_by_id, booked_at, updated_at)
        SELECT a.id, a.rid, NULL, a.starts_at,
               CASE WHEN slot = 1 THEN 'assessment' ELSE 'session' END,
               CASE WHEN mod(a.id, 3) = 0 THEN 'online' ELSE 'in_person' END,
               'Community centre', a.status, u.id, a.starts_at - interval '7 days',
               a.starts_at - interval '7 days'
        FROM bench_appointment a
        JOIN programmes_programme pr ON pr.id = a.programme_id
        JOIN bench_provider_staff u ON u.provider_id = pr.provider_id
        """,
    ),
    (
        "attendance",
        "programmes_attendance",
        """
        INSERT INTO programmes_attendance (
            appointment_id, outcome, reason, correction_reason, is_current, recorded_by_id,
            recorded_at)
        SELECT a.id, 'did_not_attend', '', '', false, u.id, a.starts_at + interval '1 hour'
        FROM bench_appointment a
        JOIN programmes_programme pr ON pr.id = a.programme_id
        JOIN bench_provider_staff u ON u.provider_id = pr.provider_id
        WHERE a.corrected AND a.outcome IS NOT NULL AND a.starts_at <= %(now)s
        UNION ALL
        SELECT a.id, a.outcome, CASE WHEN a.outcome = 'excused' THEN 'In hospital' ELSE '' END,
               CASE WHEN a.corrected THEN 'Recorded against the wrong appointment' ELSE '' END,
               true, u.id, a.starts_at + interval '2 hours'
        FROM bench_appointment a
        JOIN programmes_programme pr ON pr.id = a.programme_id
        JOIN bench_provider_staff u ON u.provider_id = pr.provider_id
        WHERE a.outcome IS NOT NULL AND a.starts_at <= %(now)s
        """,
    ),
    (
        "audit trail",
        "audit_auditevent",
        """
        INSERT INTO audit_auditevent (
            id, at, user_id, ip_address, path, action, object_type, object_id, person_id,
            changes, reason)
        SELECT %(audit_base)s + row_number() OVER (ORDER BY at, cid, n), at, user_id,
               '10.1.2.3'::inet, path, action, object_type, object_id, person_id, changes, ''
        FROM (
            SELECT cid, 1 AS n, created_at AS at, officer_id AS user_id, '/cases/new/' AS path,
                   'create' AS action, 'cases.case' AS object_type, reference AS object_id,
                   pid AS person_id,
                   '{"after": {"status": "logged"}}'::jsonb AS changes
            FROM bench_case
            UNION ALL
            SELECT cid, 2, coalesce(referred_at, created_at + interval '1 hour'), officer_id,
                   '/cases/' || reference || '/',
                   CASE WHEN cls = 'referred' THEN 'create' ELSE 'view' END,
                   CASE WHEN cls = 'referred' THEN 'programmes.referral' ELSE 'cases.case' END,
                   CASE WHEN cls = 'referred'
                        THEN 'R-' || lpad(rid::text, greatest(6, length(rid::text)), '0')
                        ELSE reference END,
                   pid, '{}'::jsonb
            FROM bench_case
            UNION ALL
            -- The find-a-person search before logging a case, for one case in 20.
            SELECT cid, 0, created_at - interval '5 minutes', officer_id, '/cases/new/',
                   'search', 'cases.person', '', NULL,
                   jsonb_build_object('searched_by',
                                      '["given_name", "family_name", "date_of_birth"]'::jsonb,
                                      'found', jsonb_build_array(pid))
            FROM bench_case WHERE mod(cid, 20) = 0
        ) events
        """,
    ),
]

# Tables the steps fill, whose indexes are rebuilt and foreign keys checked afterwards.
LOADED_TABLES = tuple(table for _label, table, _sql in STEPS if table)
