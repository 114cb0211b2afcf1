from django.apps import AppConfig


class ProgrammesConfig(AppConfig):
    """The provider's work: programmes, referrals, appointments and attendance, the outbox."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "programmes"

    def ready(self) -> None:
        from audit.chain import add_broken_chain_alert
        from cases import extensions
        from programmes import audit_alert, case_parts

        extensions.add_case_section(case_parts.REFERRAL_SECTION)
        extensions.add_case_section(case_parts.MESSAGES_SECTION)
        extensions.add_case_flags(case_parts.undelivered_message_flags)
        extensions.add_case_flags(case_parts.declined_referral_flags)
        extensions.add_timeline(case_parts.referral_timeline)
        extensions.add_api_field("referrals", case_parts.CaseReferralsField)
        add_broken_chain_alert(audit_alert.alert_administrators)
