"""The shared base every app may import, and which imports no app: the Europe/London clock
and working days (`base.clock`), the domain error services raise (`base.errors`), the API's
shared permissions and error answers (`base.api`) and the GOV.UK form widgets
(`base.widgets`)."""
