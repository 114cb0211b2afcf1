"""Forms for the second factor and API tokens."""

from __future__ import annotations

from django import forms


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
    name = forms.CharField(
        label="What is the token for?",
        help_text="For example, the provider's case system",
        max_length=100,
        error_messages={"required": "Say what the token is for"},
    )
