"""Forms for the second factor and API tokens."""

from __future__ import annotations

from django import forms
from django.conf import settings

from accounts.models import API_TOKEN_MAX_LIFETIME


class CodeForm(forms.Form):
    """The six-digit code from the person's authenticator app."""

    code = forms.CharField(
        label="Code from your authenticator app",
        help_text="The 6-digit code, for example 123456",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={
                "class": "govuk-input--width-5",
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
            }
        ),
        error_messages={
            "required": "Enter the code from your authenticator app",
            "min_length": "The code is 6 digits",
            "max_length": "The code is 6 digits",
        },
    )


class TokenForm(forms.Form):
    """A new API token: what it is for, how long it lives, whether it may change anything."""

    name = forms.CharField(
        label="What is the token for?",
        help_text="For example, the provider's case system",
        max_length=100,
        error_messages={"required": "Say what the token is for"},
    )
    lifetime_days = forms.IntegerField(
        label="How many days should it work for?",
        min_value=1,
        max_value=API_TOKEN_MAX_LIFETIME.days,
        required=False,  # left empty: the default lifetime
        widget=forms.TextInput(attrs={"class": "govuk-input--width-3", "inputmode": "numeric"}),
        error_messages={
            "invalid": "Enter a whole number of days, for example 90",
            "min_value": "A token works for at least 1 day",
            "max_value": f"A token works for at most {API_TOKEN_MAX_LIFETIME.days} days",
        },
    )
    read_only = forms.BooleanField(
        label="Read only: it may look things up but never change anything",
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        default = settings.API_TOKEN_LIFETIME_DAYS
        self.fields["lifetime_days"].initial = default
        self.fields["lifetime_days"].help_text = (
            f"It stops working after this; {default} days unless you choose otherwise, at most "
            f"{API_TOKEN_MAX_LIFETIME.days}. Create a new one before it expires."
        )
