from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Cases: people, the offence, eligibility under the force's policy, the offer."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "cases"

    def ready(self) -> None:
        from audit.people import PeopleDirectory, set_people_directory
        from cases.selectors import people_by_ids, person_ids_named

        set_people_directory(PeopleDirectory(ids_named=person_ids_named, by_ids=people_by_ids))
